import { defineParams } from '../../gpu/uniforms.js';
import { Tensor } from '../tensor.js';
import { finishLoss, partLayout } from './loss-reduce.js';
import { alignedRuns } from './runs.js';
import { groups, WG } from './grid.js';

/** bce_logits.wgsl's parameters: offsets of logits, targets, weights and gradient; where this run's partial sums start. */
const BCE_PARAMS = defineParams('Params', {
  count: 'u32',
  offZ: 'u32',
  offT: 'u32',
  offW: 'u32',
  offG: 'u32',
  partBase: 'u32',
  chunks: 'u32',
  _p0: 'u32',
  gradScale: 'f32',
  _p1: 'f32',
  _p2: 'f32',
  _p3: 'f32',
});

export interface BceOptions {
  /** Per-voxel weights of the logits' shape (a 0/1 mask selects voxels). */
  weight?: Tensor;
  /**
   * The mean's denominator: 'count' (every element, PyTorch's BCEWithLogitsLoss(weight=w)) or
   * 'weight' (Σ w, the mean over a mask's voxels). Default 'count'.
   */
  normalize?: 'count' | 'weight';
  /** Multiplies the loss and its gradient (e.g. 0.5 for the low-res head). Default 1. */
  scale?: number;
}

/**
 * Binary cross-entropy with logits, mean-reduced, in one go: the loss value (summed on the GPU in
 * two deterministic passes, read back as one float) and the gradient with respect to the logits.
 * Sigmoid + BCE is how the network's heads are trained; feed the logits, not probabilities.
 * Split tensors are handled piece by piece.
 */
export async function bceWithLogits(logits: Tensor, target: Tensor, opts: BceOptions = {}): Promise<{ loss: number; grad: Tensor }> {
  const gpu = logits.gpu;
  const scale = opts.scale ?? 1;
  const byWeight = opts.normalize === 'weight';
  if (byWeight && !opts.weight) throw new RangeError("bceWithLogits: normalize 'weight' needs a weight tensor");
  const grad = Tensor.empty(gpu, logits.shape);
  const operands = opts.weight ? [logits, target, grad, opts.weight] : [logits, target, grad];
  const runs = alignedRuns('bceWithLogits', ...operands);
  const layout = partLayout(runs);
  const part = gpu.createBuffer(layout.total * 8);
  const res = gpu.createBuffer(16);
  const gradScale = byWeight ? scale : scale / logits.size;
  const constants = { WG, HAS_WEIGHT: opts.weight !== undefined };
  for (const [k, r] of runs.entries()) {
    const [z, t, g, w] = r.buffers;
    const [oz, ot, og, ow] = r.offsets;
    const u = BCE_PARAMS.pack({
      count: r.count,
      offZ: oz!,
      offT: ot!,
      offW: ow ?? 0,
      offG: og!,
      partBase: layout.bases[k]!,
      chunks: layout.chunks[k]!,
      gradScale,
    });
    await gpu.run(
      { shader: 'bce_logits', entry: 'partial', constants, params: BCE_PARAMS },
      [z!, t!, w ?? z!, g!, part, u],
      groups(layout.chunks[k]!, WG),
      'bce',
    );
  }
  await finishLoss(gpu, part, layout.total, res, { loss: 0, normByWeight: byWeight, count: logits.size, scale });
  if (byWeight) {
    for (const r of runs) {
      const u = BCE_PARAMS.pack({ count: r.count, offZ: 0, offT: 0, offW: 0, offG: r.offsets[2]!, partBase: 0, chunks: 0, gradScale: 0 });
      await gpu.run(
        { shader: 'bce_logits', entry: 'normalize', constants, params: BCE_PARAMS },
        [res, r.buffers[2]!, u],
        groups(r.count, WG),
        'bce normalize',
      );
    }
  }
  const loss = (await gpu.readF32(res, 1, 2))[0]!;
  gpu.release(part);
  gpu.release(res);
  return { loss, grad };
}
