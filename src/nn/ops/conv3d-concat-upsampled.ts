import { GpuError } from '../../gpu/errors.js';
import type { Gpu } from '../../gpu/gpu.js';
import { defineParams } from '../../gpu/uniforms.js';
import { Tensor, shapeStr, type Shape5 } from '../tensor.js';
import {
  blocking,
  checkGeometry,
  checkWeight,
  convOutSize,
  packedMinBytes,
  packWeights,
  padBias,
  paddedChannels,
  pickVariant,
  weightBinding,
  weightCandidates,
  type ConvGeometry,
  type ForwardVariant,
} from './conv3d.js';
import { groups, WG } from './grid.js';
import { checkWindow } from './crop.js';
import type { UpsampleMode } from './upsample.js';

/**
 * The parameters of conv3d_cat_up.wgsl, declared once: packed by name, and the Gpu refuses the
 * kernel unless its `struct Params` lists exactly these fields in this order. a's channels are
 * `cinA` at the full-resolution input extents `in…`; b's are `cinB`, of extents `b…`, read from the
 * window at `off…` of extents `low…` = in… / F.
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
  bD: 'u32',
  bH: 'u32',
  bW: 'u32',
  offD: 'u32',
  offH: 'u32',
  offW: 'u32',
});

/** conv3d_pack.wgsl's entry `poly` (checked against its `struct PolyParams`): b's summed weights for `forward_poly`. */
export const POLY_PACK_PARAMS = defineParams('PolyParams', { cout: 'u32', cin: 'u32', cinA: 'u32', outerPad: 'u32', total: 'u32' });

const PACK_WG = 256;

/** b's weights summed per output parity and tap of b (conv3d_pack.wgsl's `poly`): a pooled buffer of cinB·8·8·padTo values. */
async function packPoly(gpu: Gpu, weight: Tensor, cout: number, cin: number, cinA: number, padTo: number): Promise<GPUBuffer> {
  const total = (cin - cinA) * 64 * padTo;
  const dst = gpu.createBuffer(total * 4);
  await gpu.run(
    { shader: 'conv3d_pack', entry: 'poly', constants: { WG: PACK_WG }, params: POLY_PACK_PARAMS },
    [weight.buffer, dst, POLY_PACK_PARAMS.pack({ cout, cin, cinA, outerPad: padTo, total })],
    Math.ceil(total / PACK_WG),
  );
  return dst;
}

type Vec3 = readonly [number, number, number];

/**
 * How b becomes a's extents: upsampled by `mode` (default nearest) from its window at `offset` of
 * `size` voxels (default the whole of b); the window's edges clamp trilinear taps, as upsampling a
 * cropped window does.
 */
export interface UpsampledPart {
  mode?: UpsampleMode;
  window?: { offset: Vec3; size: Vec3 };
}

/** The integer factor by which b's window is upsampled to a's extents. */
function upsamplingFactor(a: Tensor, b: Tensor, size: Vec3): number {
  const f = a.d / size[0];
  if (a.n !== b.n || !Number.isInteger(f) || f < 1 || a.h !== size[1] * f || a.w !== size[2] * f) {
    throw new RangeError(
      `conv3d of [a, upsampled b]: b ${shapeStr(b.shape)}'s window of [${size.join(', ')}] upsampled by an integer factor does not match a ${shapeStr(a.shape)} outside the channel axis`,
    );
  }
  return f;
}

/**
 * conv3d over the channel concatenation [a, b (or its window) upsampled to a's extents], the input
 * of a U-Net decoder (nearest) or of the dual model's fusion head (b's centre, trilinear), without
 * materialising the upsampled b or the concatenation:
 * `conv3d(concat([a, upsample(crop(b), F, mode)]), weight, bias, g)` in one pass (inference only;
 * it has no backward). weight is [Cout, Ca + Cb, K, K, K]; optional fused ReLU. Whole tensors only:
 * a, b or the output split over several bindings is refused (GpuError 'too-large'), as the
 * materialised concatenation refuses them.
 */
export async function conv3dConcatUpsampled(
  a: Tensor,
  b: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry & { relu?: boolean; variant?: string },
  part: UpsampledPart = {},
): Promise<Tensor> {
  checkGeometry(g);
  const gpu = a.gpu;
  const mode = part.mode ?? 'nearest';
  const { offset, size } = part.window ?? { offset: [0, 0, 0] as const, size: [b.d, b.h, b.w] as const };
  checkWindow('conv3d of [a, upsampled b]', b.shape, offset, size, 'b');
  const factor = upsamplingFactor(a, b, size);
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
  const padTo = paddedChannels(cout, CB);
  // The decoders' case: b's channels through 2³ summed taps per output parity instead of 3³.
  const poly = mode === 'nearest' && factor === 2 && g.kernel === 3 && g.stride === 1 && g.padding === 1;
  // What the kernel reads of the packed weights: every channel's, or for forward_poly a's only (b's come from wpoly).
  const offered = weightCandidates(TX, CB, (poly ? cinA : cin) * g.kernel ** 3 * padTo * 4);
  const packed = await packWeights(gpu, 'forward', weight, cout, cin, g.kernel ** 3, padTo, packedMinBytes(offered));
  const polyW = poly ? await packPoly(gpu, weight, cout, cin, cinA, padTo) : null;
  const biasBuf = await padBias(gpu, bias, cout, padTo);
  const coVec = padTo / 4;
  const coGroups = coVec / CB;
  const [, , outD, outH, outW] = outShape;
  const tilesX = Math.ceil(outW / TX);
  const perGroup = tilesX * outH * outD * n;
  const total = perGroup * coGroups;
  const u = CONV_CAT_UP_PARAMS.pack({
    n,
    cinA,
    cinB,
    cout,
    coGroups,
    inD: d,
    inH: h,
    inW: w,
    lowD: size[0],
    lowH: size[1],
    lowW: size[2],
    outD,
    outH,
    outW,
    tilesX,
    total,
    relu: g.relu ? 1 : 0,
    coVec,
    bD: b.d,
    bH: b.h,
    bW: b.w,
    offD: offset[0],
    offH: offset[1],
    offW: offset[2],
  });
  const label = `conv3d [a, ${mode} b] k${g.kernel} ${cinA}+${cinB}→${cout} @${outH}`;
  // Each channel group gets whole workgroups (conv_group_block.wgsl), so a's weight addresses are uniform in each.
  const run = (v: ForwardVariant): Promise<void> =>
    gpu.run(
      {
        shader: v.kernel === 'uniform' ? 'conv3d_cat_up_uniform' : 'conv3d_cat_up',
        entry: poly ? 'forward_poly' : 'forward',
        constants: {
          K: g.kernel,
          S: g.stride,
          P: g.padding,
          F: factor,
          TRILINEAR: mode === 'trilinear',
          TX,
          CB,
          WG,
          HAS_BIAS: bias !== null,
        },
        params: CONV_CAT_UP_PARAMS,
      },
      [a.buffer, b.buffer, weightBinding(v.kernel, packed), biasBuf, y.buffer, u, ...(polyW ? [polyW] : [])],
      groups(perGroup, WG) * coGroups,
      label,
    );
  const key = `conv3d [a, ${mode} b] k${g.kernel} ${cinA}+${cinB}→${cout} ${shapeStr(a.shape)} from ${size.join('×')} of ${shapeStr(b.shape)}`;
  const variant = await pickVariant(gpu, {
    what: 'conv3d of [a, upsampled b]',
    asked: g.variant,
    key,
    candidates: offered,
    fallback: { kernel: 'register', TX, CB },
    run,
  });
  await run(variant);
  gpu.release(packed);
  gpu.release(biasBuf);
  if (polyW) gpu.release(polyW);
  return y;
}
