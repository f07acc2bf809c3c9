/** Plain float64 CPU references for the layer kernels: slow, obvious, and the oracle for tests. */
export type S5 = [number, number, number, number, number];

const at = (s: S5, n: number, c: number, d: number, h: number, w: number): number => (((n * s[1] + c) * s[2] + d) * s[3] + h) * s[4] + w;

export function outSize(n: number, k: number, s: number, p: number): number {
  return Math.floor((n + 2 * p - k) / s) + 1;
}

export function conv3dRef(
  x: ArrayLike<number>,
  xs: S5,
  w: ArrayLike<number>,
  cout: number,
  k: number,
  s: number,
  p: number,
  bias?: ArrayLike<number>,
  relu = false,
): { y: Float64Array; ys: S5 } {
  const ys: S5 = [xs[0], cout, outSize(xs[2], k, s, p), outSize(xs[3], k, s, p), outSize(xs[4], k, s, p)];
  const y = new Float64Array(ys.reduce((a, b) => a * b));
  const ws: S5 = [cout, xs[1], k, k, k];
  for (let n = 0; n < ys[0]; n++)
    for (let co = 0; co < cout; co++)
      for (let od = 0; od < ys[2]; od++)
        for (let oh = 0; oh < ys[3]; oh++)
          for (let ow = 0; ow < ys[4]; ow++) {
            let acc = bias ? bias[co]! : 0;
            for (let ci = 0; ci < xs[1]; ci++)
              for (let kd = 0; kd < k; kd++) {
                const id = od * s - p + kd;
                if (id < 0 || id >= xs[2]) continue;
                for (let kh = 0; kh < k; kh++) {
                  const ih = oh * s - p + kh;
                  if (ih < 0 || ih >= xs[3]) continue;
                  for (let kw = 0; kw < k; kw++) {
                    const iw = ow * s - p + kw;
                    if (iw < 0 || iw >= xs[4]) continue;
                    acc += x[at(xs, n, ci, id, ih, iw)]! * w[at(ws, co, ci, kd, kh, kw)]!;
                  }
                }
              }
            y[at(ys, n, co, od, oh, ow)] = relu ? Math.max(0, acc) : acc;
          }
  return { y, ys };
}

/** Transposed conv (scatter form, the plain definition): x [N,R,...], w [R,Q,k,k,k]. */
export function convTranspose3dRef(
  x: ArrayLike<number>,
  xs: S5,
  w: ArrayLike<number>,
  q: number,
  k: number,
  s: number,
  p: number,
  outSpatial: [number, number, number],
  bias?: ArrayLike<number>,
): { y: Float64Array; ys: S5 } {
  const ys: S5 = [xs[0], q, outSpatial[0], outSpatial[1], outSpatial[2]];
  const y = new Float64Array(ys.reduce((a, b) => a * b));
  if (bias)
    for (let n = 0; n < ys[0]; n++)
      for (let c = 0; c < q; c++) for (let i = 0; i < ys[2] * ys[3] * ys[4]; i++) y[(n * q + c) * ys[2] * ys[3] * ys[4] + i] = bias[c]!;
  const ws: S5 = [xs[1], q, k, k, k];
  for (let n = 0; n < xs[0]; n++)
    for (let r = 0; r < xs[1]; r++)
      for (let d = 0; d < xs[2]; d++)
        for (let h = 0; h < xs[3]; h++)
          for (let ww = 0; ww < xs[4]; ww++) {
            const v = x[at(xs, n, r, d, h, ww)]!;
            for (let c = 0; c < q; c++)
              for (let kd = 0; kd < k; kd++) {
                const od = d * s - p + kd;
                if (od < 0 || od >= ys[2]) continue;
                for (let kh = 0; kh < k; kh++) {
                  const oh = h * s - p + kh;
                  if (oh < 0 || oh >= ys[3]) continue;
                  for (let kw = 0; kw < k; kw++) {
                    const ow = ww * s - p + kw;
                    if (ow < 0 || ow >= ys[4]) continue;
                    y[at(ys, n, c, od, oh, ow)]! += v * w[at(ws, r, c, kd, kh, kw)]!;
                  }
                }
              }
          }
  return { y, ys };
}

/** dW of conv3d. */
export function conv3dWgradRef(x: ArrayLike<number>, xs: S5, dy: ArrayLike<number>, ys: S5, k: number, s: number, p: number): Float64Array {
  const cout = ys[1];
  const cin = xs[1];
  const ws: S5 = [cout, cin, k, k, k];
  const dw = new Float64Array(cout * cin * k * k * k);
  for (let n = 0; n < ys[0]; n++)
    for (let co = 0; co < cout; co++)
      for (let od = 0; od < ys[2]; od++)
        for (let oh = 0; oh < ys[3]; oh++)
          for (let ow = 0; ow < ys[4]; ow++) {
            const g = dy[at(ys, n, co, od, oh, ow)]!;
            for (let ci = 0; ci < cin; ci++)
              for (let kd = 0; kd < k; kd++) {
                const id = od * s - p + kd;
                if (id < 0 || id >= xs[2]) continue;
                for (let kh = 0; kh < k; kh++) {
                  const ih = oh * s - p + kh;
                  if (ih < 0 || ih >= xs[3]) continue;
                  for (let kw = 0; kw < k; kw++) {
                    const iw = ow * s - p + kw;
                    if (iw < 0 || iw >= xs[4]) continue;
                    dw[at(ws, co, ci, kd, kh, kw)]! += g * x[at(xs, n, ci, id, ih, iw)]!;
                  }
                }
              }
          }
  return dw;
}
