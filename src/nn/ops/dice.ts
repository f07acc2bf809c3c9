import { defineParams, type PackedParams } from '../../gpu/uniforms.js';
import { Tensor } from '../tensor.js';
import { finishLoss, partLayout } from './loss-reduce.js';
import { alignedRuns } from './runs.js';
import { groups, WG } from './grid.js';

/** dice.wgsl's parameters (entries partial and grad): offsets of probabilities, targets and gradient; where this run's partials start. */
const DICE_PARAMS = defineParams('Params', {
  count: 'u32',
  offP: 'u32',
  offT: 'u32',
  offG: 'u32',
  partBase: 'u32',
  chunks: 'u32',
  _p0: 'u32',
  _p1: 'u32',
  eps: 'f32',
  scale: 'f32',
  _p2: 'f32',
  _p3: 'f32',
});

export interface DiceOptions {
  /** Smoothing ε in 1 − (2Σpt + ε)/(Σp + Σt + ε). Default 1. */
  eps?: number;
  /** Multiplies the loss and its gradient. Default 1. */
  scale?: number;
}

/**
 * Soft Dice loss on probabilities over all elements, 1 − (2Σpt + ε)/(Σp + Σt + ε), and its
 * gradient with respect to the probabilities (chain through sigmoidBackward for logits). The loss
 * is reduced on the GPU and read back as one float. Split tensors are handled piece by piece.
 */
export async function diceLoss(prob: Tensor, target: Tensor, opts: DiceOptions = {}): Promise<{ loss: number; grad: Tensor }> {
  const gpu = prob.gpu;
  const eps = opts.eps ?? 1;
  const scale = opts.scale ?? 1;
  const grad = Tensor.empty(gpu, prob.shape);
  const runs = alignedRuns('diceLoss', prob, target, grad);
  const layout = partLayout(runs);
  const part = gpu.createBuffer(layout.total * 8);
  const res = gpu.createBuffer(16);
  const params = (k: number): PackedParams => {
    const r = runs[k]!;
    return DICE_PARAMS.pack({
      count: r.count,
      offP: r.offsets[0]!,
      offT: r.offsets[1]!,
      offG: r.offsets[2]!,
      partBase: layout.bases[k]!,
      chunks: layout.chunks[k]!,
      eps,
      scale,
    });
  };
  for (const [k, r] of runs.entries()) {
    await gpu.run(
      { shader: 'dice', entry: 'partial', constants: { WG }, params: DICE_PARAMS },
      [r.buffers[0]!, r.buffers[1]!, part, params(k)],
      groups(layout.chunks[k]!, WG),
      'dice',
    );
  }
  await finishLoss(gpu, part, layout.total, res, { loss: 1, count: prob.size, eps, scale });
  for (const [k, r] of runs.entries()) {
    await gpu.run(
      { shader: 'dice', entry: 'grad', constants: { WG }, params: DICE_PARAMS },
      [res, r.buffers[1]!, r.buffers[2]!, params(k)],
      groups(r.count, WG),
      'dice grad',
    );
  }
  const loss = (await gpu.readF32(res, 1, 2))[0]!;
  gpu.release(part);
  gpu.release(res);
  return { loss, grad };
}
