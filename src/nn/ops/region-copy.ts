import { uniforms } from '../../gpu/uniforms.js';
import type { Tensor } from '../tensor.js';
import { groups, WG } from './grid.js';

/** Which channels go where, and the spatial shift (source position = destination position + shift). */
export interface RegionCopy {
  channels: number;
  srcC0: number;
  dstC0: number;
  shift: readonly [number, number, number];
}

/**
 * Writes channels [dstC0, dstC0 + channels) of `dst` (all its spatial positions) from `src`
 * channels [srcC0, …) at position + shift, 0 outside `src`. The primitive behind concat and crop
 * and their backward passes. Split tensors are rejected.
 */
export async function regionCopy(src: Tensor, dst: Tensor, r: RegionCopy): Promise<void> {
  if (src.n !== dst.n) throw new RangeError(`region copy: batch ${src.n} vs ${dst.n}`);
  if (r.srcC0 + r.channels > src.c || r.dstC0 + r.channels > dst.c) {
    throw new RangeError(`region copy: ${r.channels} channels from ${r.srcC0} of ${src.c} to ${r.dstC0} of ${dst.c}`);
  }
  const total = dst.n * r.channels * dst.d * dst.h * dst.w;
  const [sd, sh, sw] = r.shift;
  const u = uniforms(dst.n, r.channels, r.dstC0, r.srcC0, dst.c, dst.d, dst.h, dst.w, src.c, src.d, src.h, src.w, { i32: sd }, { i32: sh }, { i32: sw }, total);
  await src.gpu.run({ shader: 'region_copy', constants: { WG } }, [src.buffer, dst.buffer, u], groups(total, WG), 'region copy');
}
