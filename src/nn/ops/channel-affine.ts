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

/**
 * The entry and its parameters: the vec4 form where every channel's run of elements is whole
 * vec4s (counts then in vec4s), else one element per invocation.
 */
function plan(entry: string, t: Tensor, l: ChannelLayout): { entry: string; params: PackedParams; groups: ReturnType<typeof groups> } {
  const v = l.spatial % 4 === 0 ? 4 : 1;
  return {
    entry: v === 4 ? `${entry}_vec4` : entry,
    params: CHANNEL_AFFINE_PARAMS.pack({ c: l.c, spatial: l.spatial / v, total: t.size / v }),
    groups: groups(t.size / v, WG),
  };
}

/**
 * out = x · coef[c].x + coef[c].y per channel (`shift` false: x · coef[c].x), where `coef` holds a
 * vec2 per channel of x. `out` is a tensor of x's shape (not x itself; see channelAffineInPlace).
 * `layout` says which elements form a channel (NCDHW by default; a conv weight [Co, Ci, k, k, k]
 * scaled per output channel is { c: Co, spatial: Ci·k³ }).
 */
export async function channelAffine(x: Tensor, coef: GPUBuffer, out: Tensor, shift = true, layout = ncdhw(x)): Promise<void> {
  const k = plan('apply', x, layout);
  await x.gpu.run(
    { shader: 'channel_affine', entry: k.entry, constants: { WG, SHIFT: shift }, params: CHANNEL_AFFINE_PARAMS },
    [x.buffer, coef, out.buffer, k.params],
    k.groups,
    'channel affine',
  );
}

/** y = y · coef[c].x + coef[c].y in place. */
export async function channelAffineInPlace(y: Tensor, coef: GPUBuffer): Promise<void> {
  const k = plan('apply_inplace', y, ncdhw(y));
  await y.gpu.run(
    { shader: 'channel_affine', entry: k.entry, constants: { WG }, params: CHANNEL_AFFINE_PARAMS },
    [y.buffer, coef, k.params],
    k.groups,
    'channel affine',
  );
}

/** out = coef[c].x · other + coef[c].y · out + coef[c].z in place, with a vec4 per channel. */
export async function channelMixInPlace(out: Tensor, other: Tensor, coef4: GPUBuffer): Promise<void> {
  const k = plan('mix_inplace', out, ncdhw(out));
  await out.gpu.run(
    { shader: 'channel_affine', entry: k.entry, constants: { WG }, params: CHANNEL_AFFINE_PARAMS },
    [other.buffer, coef4, out.buffer, k.params],
    k.groups,
    'channel mix',
  );
}
