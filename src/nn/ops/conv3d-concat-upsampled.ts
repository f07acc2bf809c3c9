import { GpuError } from '../../gpu/errors.js';
import { defineParams } from '../../gpu/uniforms.js';
import { Tensor, shapeStr, type Shape5 } from '../tensor.js';
import { blocking, checkGeometry, checkWeight, convOutSize, packForward, padBias, type ConvGeometry } from './conv3d.js';
import { groups, WG } from './grid.js';

/**
 * The parameters of conv3d_cat_up.wgsl, declared once: packed by name, and the Gpu refuses the
 * kernel unless its `struct Params` lists exactly these fields in this order. a's channels are
 * `cinA` at the full-resolution input extents `in…`, b's are `cinB` at `low…` = in… / F.
 */
export const CONV_CAT_UP_PARAMS = defineParams('Params', {
  n: 'u32',
  cinA: 'u32',
  cinB: 'u32',
  cout: 'u32',
  coGroups: 'u32',
  inD: 'u32',
  inH: 'u32',
  inW: 'u32',
  lowD: 'u32',
  lowH: 'u32',
  lowW: 'u32',
  outD: 'u32',
  outH: 'u32',
  outW: 'u32',
  tilesX: 'u32',
  total: 'u32',
  relu: 'u32',
  coVec: 'u32',
});

/** The integer factor by which b's extents are a's (the nearest upsampling that makes them equal). */
function upsamplingFactor(a: Tensor, b: Tensor): number {
  const f = a.d / b.d;
  if (a.n !== b.n || !Number.isInteger(f) || f < 1 || a.h !== b.h * f || a.w !== b.w * f) {
    throw new RangeError(
      `conv3d of [a, upsampled b]: b ${shapeStr(b.shape)} upsampled by an integer factor does not match a ${shapeStr(a.shape)} outside the channel axis`,
    );
  }
  return f;
}

/**
 * conv3d over the channel concatenation [a, b upsampled to a's extents by nearest neighbour], the
 * input of a U-Net decoder, without materialising the upsampled b or the concatenation:
 * `conv3d(concat([a, upsample(b, F, 'nearest')]), weight, bias, g)` in one pass (inference only;
 * it has no backward). weight is [Cout, Ca + Cb, K, K, K]; optional fused ReLU. Whole tensors only:
 * a, b or the output split over several bindings is refused (GpuError 'too-large'), as the
 * materialised concatenation refuses them.
 */
export async function conv3dConcatUpsampled(
  a: Tensor,
  b: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry & { relu?: boolean },
): Promise<Tensor> {
  checkGeometry(g);
  const gpu = a.gpu;
  const factor = upsamplingFactor(a, b);
  const [n, cinA, d, h, w] = a.shape;
  const cinB = b.c;
  const cin = cinA + cinB;
  const cout = weight.shape[0];
  checkWeight(weight, cout, cin, g.kernel, 'conv3d of [a, upsampled b]');
  if (bias && bias.size !== cout) throw new RangeError(`conv3d of [a, upsampled b]: bias has ${bias.size} values, expected ${cout}`);
  const outShape: Shape5 = [n, cout, convOutSize(d, g), convOutSize(h, g), convOutSize(w, g)];
  if (outShape.some((s) => s <= 0))
    throw new RangeError(`conv3d of [a, upsampled b]: input ${shapeStr(a.shape)} is smaller than the kernel`);
  // Whole tensors only, as the materialised path's upsampling and concatenation (region copies).
  const y = Tensor.empty(gpu, outShape);
  if (a.isSplit || b.isSplit || y.isSplit) {
    y.release();
    throw new GpuError(
      'too-large',
      `conv3d of [a, upsampled b]: a ${shapeStr(a.shape)}, b ${shapeStr(b.shape)} or the output ${shapeStr(outShape)} exceeds one ${gpu.maxBinding}-byte binding; run fewer samples at once`,
    );
  }
  const { TX, CB } = blocking(cout, outShape[4]);
  const padTo = Math.ceil(cout / (4 * CB)) * 4 * CB;
  const packed = await packForward(gpu, weight, cout, cin, g.kernel ** 3, padTo);
  const biasBuf = await padBias(gpu, bias, cout, padTo);
  const coVec = padTo / 4;
  const coGroups = coVec / CB;
  const [, , outD, outH, outW] = outShape;
  const tilesX = Math.ceil(outW / TX);
  const total = tilesX * outH * outD * n * coGroups;
  const u = CONV_CAT_UP_PARAMS.pack({
    n,
    cinA,
    cinB,
    cout,
    coGroups,
    inD: d,
    inH: h,
    inW: w,
    lowD: b.d,
    lowH: b.h,
    lowW: b.w,
    outD,
    outH,
    outW,
    tilesX,
    total,
    relu: g.relu ? 1 : 0,
    coVec,
  });
  await gpu.run(
    {
      shader: 'conv3d_cat_up',
      entry: 'forward',
      constants: { K: g.kernel, S: g.stride, P: g.padding, F: factor, TX, CB, WG, HAS_BIAS: bias !== null },
      params: CONV_CAT_UP_PARAMS,
    },
    [a.buffer, b.buffer, packed, biasBuf, y.buffer, u],
    groups(total, WG),
    `conv3d [a, up b] k${g.kernel} ${cinA}+${cinB}→${cout} @${outH}`,
  );
  gpu.release(packed);
  gpu.release(biasBuf);
  return y;
}
