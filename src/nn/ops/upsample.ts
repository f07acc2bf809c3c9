import { defineParams } from '../../gpu/uniforms.js';
import { Tensor, shapeStr, type Shape5 } from '../tensor.js';
import { groups, WG } from './grid.js';

export type UpsampleMode = 'nearest' | 'trilinear';

/** upsample_nearest.wgsl's and upsample_trilinear.wgsl's parameters: N·C planes of the smaller tensor, its extents, invocations. */
const UPSAMPLE_PARAMS = defineParams('Params', { planes: 'u32', inD: 'u32', inH: 'u32', inW: 'u32', total: 'u32' });
/** upsample_trilinear.wgsl's backward_axis: `outer` rows of `n` values (the shorter axis) of `inner` elements each. */
const AXIS_PARAMS = defineParams('AxisParams', { outer: 'u32', n: 'u32', inner: 'u32', total: 'u32' });

function checkFactor(factor: number): void {
  if (!Number.isInteger(factor) || factor < 1 || factor > 64) throw new RangeError(`upsample: factor ${factor} is not an integer in 1..64`);
}

export function upsampleOutShape(s: Shape5, factor: number): Shape5 {
  return [s[0], s[1], s[2] * factor, s[3] * factor, s[4] * factor];
}

const shader = (mode: UpsampleMode): string => (mode === 'nearest' ? 'upsample_nearest' : 'upsample_trilinear');

/**
 * Upsamples D, H and W by an integer `factor` (2 and 8 in the network): `nearest` copies, and
 * `trilinear` interpolates with PyTorch's align_corners=False. Split tensors are rejected.
 */
export async function upsample3d(x: Tensor, factor: number, mode: UpsampleMode): Promise<Tensor> {
  checkFactor(factor);
  const gpu = x.gpu;
  const y = Tensor.empty(gpu, upsampleOutShape(x.shape, factor));
  const u = UPSAMPLE_PARAMS.pack({ planes: x.n * x.c, inD: x.d, inH: x.h, inW: x.w, total: y.size });
  await gpu.run(
    { shader: shader(mode), entry: 'forward', constants: { F: factor, WG }, params: UPSAMPLE_PARAMS },
    [x.buffer, y.buffer, u],
    groups(y.size, WG),
    `upsample ${mode}`,
  );
  return y;
}

/** The input gradient of `upsample3d` for an input of shape `xShape`. */
export async function upsample3dBackward(dy: Tensor, xShape: Shape5, factor: number, mode: UpsampleMode): Promise<Tensor> {
  checkFactor(factor);
  const want = upsampleOutShape(xShape, factor);
  if (dy.shape.some((v, i) => v !== want[i]))
    throw new RangeError(`upsample backward: dy ${shapeStr(dy.shape)} is not ${shapeStr(want)}, ${shapeStr(xShape)} upsampled ×${factor}`);
  const gpu = dy.gpu;
  if (mode === 'nearest') {
    const dx = Tensor.empty(gpu, xShape);
    const u = UPSAMPLE_PARAMS.pack({ planes: dx.n * dx.c, inD: dx.d, inH: dx.h, inW: dx.w, total: dx.size });
    await gpu.run(
      { shader: 'upsample_nearest', entry: 'backward', constants: { F: factor, WG }, params: UPSAMPLE_PARAMS },
      [dy.buffer, dx.buffer, u],
      groups(dx.size, WG),
      'upsample nearest backward',
    );
    return dx;
  }
  // Separable: transpose the 1D interpolation along W, then H, then D, each pass shrinking one axis.
  const [n, c, d, h, w] = xShape;
  const f = factor;
  const steps: { shape: Shape5; outer: number; len: number; inner: number }[] = [
    { shape: [n, c, d * f, h * f, w], outer: n * c * d * f * h * f, len: w, inner: 1 },
    { shape: [n, c, d * f, h, w], outer: n * c * d * f, len: h, inner: w },
    { shape: [n, c, d, h, w], outer: n * c, len: d, inner: h * w },
  ];
  let cur = dy;
  for (const s of steps) {
    const next = Tensor.empty(gpu, s.shape);
    const u = AXIS_PARAMS.pack({ outer: s.outer, n: s.len, inner: s.inner, total: next.size });
    await gpu.run(
      { shader: 'upsample_trilinear', entry: 'backward_axis', constants: { F: factor, WG }, params: AXIS_PARAMS },
      [cur.buffer, next.buffer, u],
      groups(next.size, WG),
      'upsample trilinear backward',
    );
    if (cur !== dy) cur.release();
    cur = next;
  }
  return cur;
}
