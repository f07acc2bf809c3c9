import { defineParams } from '../../gpu/uniforms.js';
import { Tensor } from '../tensor.js';
import { alignedRuns } from './runs.js';
import { groups } from './grid.js';

const EW_WG = 256;

/** axpby.wgsl's parameters (entries combine, accumulate, scale). */
const AXPBY_PARAMS = defineParams('Params', { count: 'u32', off0: 'u32', off1: 'u32', off2: 'u32', alpha: 'f32', beta: 'f32' });

/** alpha·a + beta·b, elementwise, into a new tensor. */
export async function axpby(alpha: number, a: Tensor, beta: number, b: Tensor): Promise<Tensor> {
  const out = Tensor.empty(a.gpu, a.shape);
  for (const r of alignedRuns('axpby', a, b, out)) {
    await a.gpu.run(
      { shader: 'axpby', entry: 'combine', constants: { WG: EW_WG }, params: AXPBY_PARAMS },
      [
        r.buffers[0]!,
        r.buffers[1]!,
        r.buffers[2]!,
        AXPBY_PARAMS.pack({ count: r.count, off0: r.offsets[0]!, off1: r.offsets[1]!, off2: r.offsets[2]!, alpha, beta }),
      ],
      groups(r.count, EW_WG),
      'axpby',
    );
  }
  return out;
}

/** a + b (a residual connection's forward; its backward passes dy to both inputs unchanged). */
export function add(a: Tensor, b: Tensor): Promise<Tensor> {
  return axpby(1, a, 1, b);
}

/**
 * acc += alpha·b in place: sums the gradients of a tensor that feeds two consumers, or an
 * axpy update. `acc` and `b` must be different tensors.
 */
export async function accumulate(acc: Tensor, b: Tensor, alpha = 1): Promise<void> {
  if (acc === b) throw new RangeError('accumulate: acc and b are the same tensor (use scaleInPlace(acc, 2))');
  for (const r of alignedRuns('accumulate', acc, b)) {
    await acc.gpu.run(
      { shader: 'axpby', entry: 'accumulate', constants: { WG: EW_WG }, params: AXPBY_PARAMS },
      [
        r.buffers[0]!,
        r.buffers[1]!,
        AXPBY_PARAMS.pack({ count: r.count, off0: r.offsets[0]!, off1: r.offsets[1]!, off2: 0, alpha, beta: 0 }),
      ],
      groups(r.count, EW_WG),
      'accumulate',
    );
  }
}

/** t *= alpha in place. */
export async function scaleInPlace(t: Tensor, alpha: number): Promise<void> {
  for (const r of alignedRuns('scale', t)) {
    await t.gpu.run(
      { shader: 'axpby', entry: 'scale', constants: { WG: EW_WG }, params: AXPBY_PARAMS },
      [r.buffers[0]!, AXPBY_PARAMS.pack({ count: r.count, off0: r.offsets[0]!, off1: 0, off2: 0, alpha, beta: 0 })],
      groups(r.count, EW_WG),
      'scale',
    );
  }
}
