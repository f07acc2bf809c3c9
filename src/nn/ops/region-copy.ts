import { defineParams } from '../../gpu/uniforms.js';
import type { Tensor } from '../tensor.js';
import { groups, WG } from './grid.js';

/** region_copy.wgsl's parameters: channels copied, destination and source channel starts, both shapes, the shift. */
const REGION_COPY_PARAMS = defineParams('Params', {
  n: 'u32',
  channels: 'u32',
  dstC0: 'u32',
  srcC0: 'u32',
  dstC: 'u32',
  dstD: 'u32',
  dstH: 'u32',
  dstW: 'u32',
  srcC: 'u32',
  srcD: 'u32',
  srcH: 'u32',
  srcW: 'u32',
  shiftD: 'i32',
  shiftH: 'i32',
  shiftW: 'i32',
  total: 'u32',
});

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
  const [sd, sh, sw] = r.shift;
  const spatial = dst.d * dst.h * dst.w;
  if (sd === 0 && sh === 0 && sw === 0 && src.d === dst.d && src.h === dst.h && src.w === dst.w) {
    // Channels of one batch element are contiguous in both: a buffer copy per element, which the
    // driver does as a memcpy, several times faster on lavapipe than the gather kernel.
    for (let n = 0; n < dst.n; n++) {
      src.gpu.copy(
        src.buffer,
        (n * src.c + r.srcC0) * spatial * 4,
        dst.buffer,
        (n * dst.c + r.dstC0) * spatial * 4,
        r.channels * spatial * 4,
      );
    }
    return;
  }
  const total = dst.n * r.channels * spatial;
  const u = REGION_COPY_PARAMS.pack({
    n: dst.n,
    channels: r.channels,
    dstC0: r.dstC0,
    srcC0: r.srcC0,
    dstC: dst.c,
    dstD: dst.d,
    dstH: dst.h,
    dstW: dst.w,
    srcC: src.c,
    srcD: src.d,
    srcH: src.h,
    srcW: src.w,
    shiftD: sd,
    shiftH: sh,
    shiftW: sw,
    total,
  });
  await src.gpu.run(
    { shader: 'region_copy', constants: { WG }, params: REGION_COPY_PARAMS },
    [src.buffer, dst.buffer, u],
    groups(total, WG),
    'region copy',
  );
}
