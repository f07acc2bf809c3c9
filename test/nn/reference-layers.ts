/**
 * Plain float64 CPU references for pooling, upsampling, batch norm, concat and crop: slow, obvious,
 * written in the scatter/definition form (the kernels gather), and the oracle for tests.
 */
import type { S5 } from './reference.js';

export const size5 = (s: S5): number => s[0] * s[1] * s[2] * s[3] * s[4];
const at = (s: S5, n: number, c: number, d: number, h: number, w: number): number => (((n * s[1] + c) * s[2] + d) * s[3] + h) * s[4] + w;

/** Max-pool 2, stride 2, floor; argmax as (kd·2 + kh)·2 + kw, first maximum on ties. */
export function maxPoolRef(x: ArrayLike<number>, xs: S5): { y: Float64Array; arg: Uint32Array; ys: S5 } {
  const ys: S5 = [xs[0], xs[1], Math.floor(xs[2] / 2), Math.floor(xs[3] / 2), Math.floor(xs[4] / 2)];
  const y = new Float64Array(size5(ys));
  const arg = new Uint32Array(y.length);
  for (let n = 0; n < ys[0]; n++)
    for (let c = 0; c < ys[1]; c++)
      for (let d = 0; d < ys[2]; d++)
        for (let h = 0; h < ys[3]; h++)
          for (let w = 0; w < ys[4]; w++) {
            let best = -Infinity;
            let k = 0;
            for (let kd = 0; kd < 2; kd++)
              for (let kh = 0; kh < 2; kh++)
                for (let kw = 0; kw < 2; kw++) {
                  const v = x[at(xs, n, c, 2 * d + kd, 2 * h + kh, 2 * w + kw)]!;
                  if (v > best) {
                    best = v;
                    k = (kd * 2 + kh) * 2 + kw;
                  }
                }
            const o = at(ys, n, c, d, h, w);
            y[o] = best;
            arg[o] = k;
          }
  return { y, arg, ys };
}

/** Scatter form: each output's gradient goes to the input its maximum came from. */
export function maxPoolBackwardRef(dy: ArrayLike<number>, arg: ArrayLike<number>, xs: S5): Float64Array {
  const ys: S5 = [xs[0], xs[1], Math.floor(xs[2] / 2), Math.floor(xs[3] / 2), Math.floor(xs[4] / 2)];
  const dx = new Float64Array(size5(xs));
  for (let n = 0; n < ys[0]; n++)
    for (let c = 0; c < ys[1]; c++)
      for (let d = 0; d < ys[2]; d++)
        for (let h = 0; h < ys[3]; h++)
          for (let w = 0; w < ys[4]; w++) {
            const o = at(ys, n, c, d, h, w);
            const k = arg[o]!;
            dx[at(xs, n, c, 2 * d + (k >> 2), 2 * h + ((k >> 1) & 1), 2 * w + (k & 1))]! += dy[o]!;
          }
  return dx;
}

/** PyTorch's align_corners=False source taps for output o of an axis of n inputs upsampled by f. */
export function linearTaps(o: number, n: number, f: number): { i0: number; i1: number; l0: number; l1: number } {
  const src = Math.max(0, (o + 0.5) / f - 0.5);
  const i0 = Math.floor(src);
  const i1 = i0 < n - 1 ? i0 + 1 : i0;
  const l1 = src - i0;
  return { i0, i1, l0: 1 - l1, l1 };
}

const upShape = (xs: S5, f: number): S5 => [xs[0], xs[1], xs[2] * f, xs[3] * f, xs[4] * f];

export function upsampleNearestRef(x: ArrayLike<number>, xs: S5, f: number): { y: Float64Array; ys: S5 } {
  const ys = upShape(xs, f);
  const y = new Float64Array(size5(ys));
  for (let n = 0; n < ys[0]; n++)
    for (let c = 0; c < ys[1]; c++)
      for (let d = 0; d < ys[2]; d++)
        for (let h = 0; h < ys[3]; h++)
          for (let w = 0; w < ys[4]; w++)
            y[at(ys, n, c, d, h, w)] = x[at(xs, n, c, Math.floor(d / f), Math.floor(h / f), Math.floor(w / f))]!;
  return { y, ys };
}

export function upsampleNearestBackwardRef(dy: ArrayLike<number>, xs: S5, f: number): Float64Array {
  const ys = upShape(xs, f);
  const dx = new Float64Array(size5(xs));
  for (let n = 0; n < ys[0]; n++)
    for (let c = 0; c < ys[1]; c++)
      for (let d = 0; d < ys[2]; d++)
        for (let h = 0; h < ys[3]; h++)
          for (let w = 0; w < ys[4]; w++)
            dx[at(xs, n, c, Math.floor(d / f), Math.floor(h / f), Math.floor(w / f))]! += dy[at(ys, n, c, d, h, w)]!;
  return dx;
}

/** Visits the 8 (input index, weight) taps of every trilinear output. */
function trilinearTaps(xs: S5, f: number, visit: (out: number, inp: number, weight: number) => void): S5 {
  const ys = upShape(xs, f);
  for (let n = 0; n < ys[0]; n++)
    for (let c = 0; c < ys[1]; c++)
      for (let d = 0; d < ys[2]; d++) {
        const td = linearTaps(d, xs[2], f);
        for (let h = 0; h < ys[3]; h++) {
          const th = linearTaps(h, xs[3], f);
          for (let w = 0; w < ys[4]; w++) {
            const tw = linearTaps(w, xs[4], f);
            const o = at(ys, n, c, d, h, w);
            for (const [id, ld] of [
              [td.i0, td.l0],
              [td.i1, td.l1],
            ] as const)
              for (const [ih, lh] of [
                [th.i0, th.l0],
                [th.i1, th.l1],
              ] as const)
                for (const [iw, lw] of [
                  [tw.i0, tw.l0],
                  [tw.i1, tw.l1],
                ] as const)
                  visit(o, at(xs, n, c, id, ih, iw), ld * lh * lw);
          }
        }
      }
  return ys;
}

export function upsampleTrilinearRef(x: ArrayLike<number>, xs: S5, f: number): { y: Float64Array; ys: S5 } {
  const y = new Float64Array(size5(upShape(xs, f)));
  const ys = trilinearTaps(xs, f, (o, i, wt) => {
    y[o]! += wt * x[i]!;
  });
  return { y, ys };
}

/** The adjoint by scattering every output gradient to its 8 taps. */
export function upsampleTrilinearBackwardRef(dy: ArrayLike<number>, xs: S5, f: number): Float64Array {
  const dx = new Float64Array(size5(xs));
  trilinearTaps(xs, f, (o, i, wt) => {
    dx[i]! += wt * dy[o]!;
  });
  return dx;
}

export interface BnRef {
  y: Float64Array;
  mean: Float64Array;
  invstd: Float64Array;
  runningMean: Float64Array;
  runningVar: Float64Array;
}

/** BatchNorm3d in train mode, as PyTorch documents it (two-pass statistics in float64). */
export function batchNormTrainRef(
  x: ArrayLike<number>,
  xs: S5,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  rm: ArrayLike<number>,
  rv: ArrayLike<number>,
  eps: number,
  momentum: number,
): BnRef {
  const [N, C] = xs;
  const sp = xs[2] * xs[3] * xs[4];
  const cnt = N * sp;
  const y = new Float64Array(size5(xs));
  const mean = new Float64Array(C);
  const invstd = new Float64Array(C);
  const runningMean = new Float64Array(C);
  const runningVar = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let j = 0; j < sp; j++) s += x[(n * C + c) * sp + j]!;
    const m = s / cnt;
    let v = 0;
    for (let n = 0; n < N; n++) for (let j = 0; j < sp; j++) v += (x[(n * C + c) * sp + j]! - m) ** 2;
    v /= cnt;
    mean[c] = m;
    invstd[c] = 1 / Math.sqrt(v + eps);
    runningMean[c] = (1 - momentum) * rm[c]! + momentum * m;
    runningVar[c] = (1 - momentum) * rv[c]! + (momentum * v * cnt) / (cnt - 1);
    for (let n = 0; n < N; n++)
      for (let j = 0; j < sp; j++) {
        const i = (n * C + c) * sp + j;
        y[i] = (x[i]! - m) * invstd[c]! * gamma[c]! + beta[c]!;
      }
  }
  return { y, mean, invstd, runningMean, runningVar };
}

/** dx = γ·invstd/N·(N·dy − Σdy − x̂·Σ(dy·x̂)), dγ = Σ dy·x̂, dβ = Σ dy. */
export function batchNormBackwardRef(
  dy: ArrayLike<number>,
  x: ArrayLike<number>,
  xs: S5,
  gamma: ArrayLike<number>,
  mean: ArrayLike<number>,
  invstd: ArrayLike<number>,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const [N, C] = xs;
  const sp = xs[2] * xs[3] * xs[4];
  const cnt = N * sp;
  const dx = new Float64Array(size5(xs));
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const idx: number[] = [];
    for (let n = 0; n < N; n++) for (let j = 0; j < sp; j++) idx.push((n * C + c) * sp + j);
    const xhat = (i: number): number => (x[i]! - mean[c]!) * invstd[c]!;
    let sdy = 0;
    let sdyx = 0;
    for (const i of idx) {
      sdy += dy[i]!;
      sdyx += dy[i]! * xhat(i);
    }
    dgamma[c] = sdyx;
    dbeta[c] = sdy;
    for (const i of idx) dx[i] = ((gamma[c]! * invstd[c]!) / cnt) * (cnt * dy[i]! - sdy - xhat(i) * sdyx);
  }
  return { dx, dgamma, dbeta };
}

export function batchNormInferenceRef(
  x: ArrayLike<number>,
  xs: S5,
  gamma: ArrayLike<number>,
  beta: ArrayLike<number>,
  rm: ArrayLike<number>,
  rv: ArrayLike<number>,
  eps: number,
): Float64Array {
  const C = xs[1];
  const sp = xs[2] * xs[3] * xs[4];
  const y = new Float64Array(size5(xs));
  for (let i = 0; i < y.length; i++) {
    const c = Math.floor(i / sp) % C;
    y[i] = ((x[i]! - rm[c]!) / Math.sqrt(rv[c]! + eps)) * gamma[c]! + beta[c]!;
  }
  return y;
}

/** Any channel-range/offset copy by definition: dst[n, dc0 + c, p] = src[n, sc0 + c, p + shift] or 0. */
export function regionCopyRef(
  src: ArrayLike<number>,
  ss: S5,
  dst: Float64Array,
  ds: S5,
  channels: number,
  sc0: number,
  dc0: number,
  shift: [number, number, number],
): void {
  for (let n = 0; n < ds[0]; n++)
    for (let c = 0; c < channels; c++)
      for (let d = 0; d < ds[2]; d++)
        for (let h = 0; h < ds[3]; h++)
          for (let w = 0; w < ds[4]; w++) {
            const [sd, sh, sw] = [d + shift[0], h + shift[1], w + shift[2]];
            const inside = sd >= 0 && sd < ss[2] && sh >= 0 && sh < ss[3] && sw >= 0 && sw < ss[4];
            dst[at(ds, n, dc0 + c, d, h, w)] = inside ? src[at(ss, n, sc0 + c, sd, sh, sw)]! : 0;
          }
}
