/**
 * Central finite-difference check of analytic gradients. With upstream gradient g, the scalar
 * L(inputs) = Σ forward(inputs) · g has dL/dinput = the backward pass's result, which is compared
 * at `samples` random elements of each input. Run on small shapes in float32 with eps ~1e-2; keep
 * inputs away from kinks (ReLU at 0, max-pool ties).
 */
export async function gradCheck(opts: {
  label: string;
  inputs: Float32Array[];
  forward: (inputs: Float32Array[]) => Promise<ArrayLike<number>>;
  upstream: ArrayLike<number>;
  analytic: ArrayLike<number>[];
  rand: () => number;
  samples?: number;
  eps?: number;
  atol?: number;
  rtol?: number;
}): Promise<void> {
  const { label, inputs, forward, upstream, analytic, rand } = opts;
  const samples = opts.samples ?? 8;
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 2e-3;
  const rtol = opts.rtol ?? 2e-2;
  const loss = async (xs: Float32Array[]): Promise<number> => {
    const y = await forward(xs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * upstream[i]!;
    return s;
  };
  for (let k = 0; k < inputs.length; k++) {
    const x = inputs[k]!;
    for (let s = 0; s < Math.min(samples, x.length); s++) {
      const idx = Math.floor(rand() * x.length);
      const plus = inputs.map((a) => a.slice());
      const minus = inputs.map((a) => a.slice());
      plus[k]![idx]! += eps;
      minus[k]![idx]! -= eps;
      const numeric = ((await loss(plus)) - (await loss(minus))) / (2 * eps);
      const a = analytic[k]![idx]!;
      if (!(Math.abs(numeric - a) <= atol + rtol * Math.abs(numeric))) {
        throw new Error(`${label}: d/d input${k}[${idx}] analytic ${a} vs finite difference ${numeric}`);
      }
    }
  }
}
