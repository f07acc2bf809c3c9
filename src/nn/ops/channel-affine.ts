import { defineParams, type PackedParams } from '../../gpu/uniforms.js';
import type { Tensor } from '../tensor.js';
import { groups, WG } from './grid.js';

/** How elements map to channels: channel of element i is (i / spatial) % c. */
export interface ChannelLayout {
  c: number;
  spatial: number;
}

/** NCDHW: C channels of D·H·W elements each. */
export function ncdhw(t: Tensor): ChannelLayout {
  return { c: t.c, spatial: t.d * t.h * t.w };
}

/** channel_affine.wgsl's parameters, shared by its entries. */
const CHANNEL_AFFINE_PARAMS = defineParams('Params', { c: 'u32', spatial: 'u32', total: 'u32', _pad: 'u32' });

function params(t: Tensor, l: ChannelLayout): PackedParams {
  return CHANNEL_AFFINE_PARAMS.pack({ c: l.c, spatial: l.spatial, total: t.size });
}

/**
 * out = x · coef[c].x + coef[c].y per channel (`shift` false: x · coef[c].x), where `coef` holds a
 * vec2 per channel of x. `out` is a tensor of x's shape (not x itself; see channelAffineInPlace).
 * `layout` says which elements form a channel (NCDHW by default; a conv weight [Co, Ci, k, k, k]
 * scaled per output channel is { c: Co, spatial: Ci·k³ }).
 */
export async function channelAffine(x: Tensor, coef: GPUBuffer, out: Tensor, shift = true, layout = ncdhw(x)): Promise<void> {
  await x.gpu.run(
    { shader: 'channel_affine', entry: 'apply', constants: { WG, SHIFT: shift }, params: CHANNEL_AFFINE_PARAMS },
    [x.buffer, coef, out.buffer, params(x, layout)],
    groups(x.size, WG),
    'channel affine',
  );
}

/** y = y · coef[c].x + coef[c].y in place. */
export async function channelAffineInPlace(y: Tensor, coef: GPUBuffer): Promise<void> {
  await y.gpu.run(
    { shader: 'channel_affine', entry: 'apply_inplace', constants: { WG }, params: CHANNEL_AFFINE_PARAMS },
    [y.buffer, coef, params(y, ncdhw(y))],
    groups(y.size, WG),
    'channel affine',
  );
}

/** out = coef[c].x · other + coef[c].y · out + coef[c].z in place, with a vec4 per channel. */
export async function channelMixInPlace(out: Tensor, other: Tensor, coef4: GPUBuffer): Promise<void> {
  await out.gpu.run(
    { shader: 'channel_affine', entry: 'mix_inplace', constants: { WG }, params: CHANNEL_AFFINE_PARAMS },
    [other.buffer, coef4, out.buffer, params(out, ncdhw(out))],
    groups(out.size, WG),
    'channel mix',
  );
}
