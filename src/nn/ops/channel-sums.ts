import type { Gpu } from '../../gpu/gpu.js';
import { defineParams } from '../../gpu/uniforms.js';
import type { Tensor } from '../tensor.js';
import { groups, WG } from './grid.js';
import { sampleOf } from './per-sample.js';

const CHUNK = 4096;

/** channel_reduce.wgsl's parameters (entries partial, finish and take_first, the last used by conv3d's bias gradient). */
export const CHANNEL_REDUCE_PARAMS = defineParams('Params', {
  n: 'u32',
  c: 'u32',
  spatial: 'u32',
  chunks: 'u32',
  chunkLen: 'u32',
  accumulate: 'u32',
  _p0: 'u32',
  _p1: 'u32',
});

/**
 * Per-channel (Σa, Σa·b) over N and space for NCDHW tensors `a` and `b` of one shape, written as
 * vec2 per channel into `out` (a buffer of 2·C floats), or added to it with `accumulate`. Summed
 * pairwise (channel_reduce.wgsl), so a batch norm's statistics over 10⁵–10⁷ values keep to a few
 * float32 ulps.
 */
export async function channelSums(a: Tensor, b: Tensor, out: GPUBuffer, accumulate = false): Promise<void> {
  const gpu: Gpu = a.gpu;
  if (a.n > 1 && (a.isSplit || b.isSplit)) {
    for (let n = 0; n < a.n; n++) {
      const an = sampleOf(a, n);
      const bn = b === a ? an : sampleOf(b, n);
      await channelSums(an, bn, out, accumulate || n > 0);
      gpu.flush();
      an.release();
      if (bn !== an) bn.release();
    }
    return;
  }
  const [n, c, d, h, w] = a.shape;
  const spatial = d * h * w;
  const chunks = Math.max(1, Math.ceil(spatial / CHUNK));
  const chunkLen = Math.ceil(spatial / chunks);
  const u = CHANNEL_REDUCE_PARAMS.pack({ n, c, spatial, chunks, chunkLen, accumulate: accumulate ? 1 : 0 });
  const part = gpu.createBuffer(c * chunks * 8);
  await gpu.run(
    { shader: 'channel_reduce', entry: 'partial', constants: { WG }, params: CHANNEL_REDUCE_PARAMS },
    [a.buffer, b.buffer, part, u],
    groups(c * chunks, WG),
  );
  await gpu.run(
    { shader: 'channel_reduce', entry: 'finish', constants: { WG }, params: CHANNEL_REDUCE_PARAMS },
    [part, out, u],
    groups(c, WG),
  );
  gpu.release(part);
}
