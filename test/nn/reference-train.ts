/** Plain float64 references for the losses and PyTorch's optimiser update rules. */

export function sigmoidRef(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** BCE with logits, PyTorch's formula, weighted, mean over count or Σw; gradient of scale·loss. */
export function bceRef(
  z: ArrayLike<number>,
  t: ArrayLike<number>,
  w: ArrayLike<number> | null,
  byWeight: boolean,
  scale: number,
): { loss: number; grad: Float64Array } {
  let sl = 0;
  let sw = 0;
  const grad = new Float64Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const wi = w ? w[i]! : 1;
    const zi = z[i]!;
    const l = Math.max(zi, 0) - zi * t[i]! + Math.log1p(Math.exp(-Math.abs(zi)));
    sl += wi * l;
    sw += wi;
    grad[i] = wi * (sigmoidRef(zi) - t[i]!);
  }
  const denom = byWeight ? sw : z.length;
  for (let i = 0; i < grad.length; i++) grad[i] = denom === 0 ? 0 : (grad[i]! * scale) / denom;
  return { loss: denom === 0 ? 0 : (scale * sl) / denom, grad };
}

export function diceRef(p: ArrayLike<number>, t: ArrayLike<number>, eps: number, scale: number): { loss: number; grad: Float64Array } {
  let inter = 0;
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    inter += p[i]! * t[i]!;
    s += p[i]! + t[i]!;
  }
  const loss = scale * (1 - (2 * inter + eps) / (s + eps));
  const grad = new Float64Array(p.length);
  // d/dp_i of −(2I + eps)/(S + eps), by the quotient rule.
  for (let i = 0; i < p.length; i++) grad[i] = -scale * ((2 * t[i]!) / (s + eps) - (2 * inter + eps) / (s + eps) ** 2);
  return { loss, grad };
}

/** torch.optim.Adam's single-tensor step (amsgrad off), or AdamW's with decoupled decay. */
export function adamRef(
  p: Float64Array,
  g: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  step: number,
  o: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; decoupled: boolean },
): void {
  const bc1 = 1 - o.beta1 ** step;
  const bc2 = 1 - o.beta2 ** step;
  for (let i = 0; i < p.length; i++) {
    let gi = g[i]!;
    if (o.decoupled) p[i] = p[i]! * (1 - o.lr * o.weightDecay);
    else gi += o.weightDecay * p[i]!;
    m[i] = o.beta1 * m[i]! + (1 - o.beta1) * gi;
    v[i] = o.beta2 * v[i]! + (1 - o.beta2) * gi * gi;
    const denom = Math.sqrt(v[i]!) / Math.sqrt(bc2) + o.eps;
    p[i] = p[i]! - (o.lr / bc1) * (m[i]! / denom);
  }
}

/** torch.optim.RMSprop's single-tensor step. */
export function rmspropRef(
  p: Float64Array,
  g: ArrayLike<number>,
  sq: Float64Array,
  buf: Float64Array,
  gavg: Float64Array,
  o: { lr: number; alpha: number; eps: number; weightDecay: number; momentum: number; centered: boolean },
): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! + o.weightDecay * p[i]!;
    sq[i] = o.alpha * sq[i]! + (1 - o.alpha) * gi * gi;
    let avg: number;
    if (o.centered) {
      gavg[i] = o.alpha * gavg[i]! + (1 - o.alpha) * gi;
      avg = Math.sqrt(sq[i]! - gavg[i]! ** 2) + o.eps;
    } else avg = Math.sqrt(sq[i]!) + o.eps;
    if (o.momentum > 0) {
      buf[i] = o.momentum * buf[i]! + gi / avg;
      p[i] = p[i]! - o.lr * buf[i]!;
    } else p[i] = p[i]! - (o.lr * gi) / avg;
  }
}
