import { bceWithLogits } from '../ops/bce.js';
import { diceLoss } from '../ops/dice.js';
import { sigmoid, sigmoidBackward } from '../ops/activation.js';
import { add } from '../ops/arith.js';
import type { Tensor } from '../tensor.js';
import type { HeadLogits } from '../models/model.js';

/**
 * Weights of the three heads' BCE terms (the paper: 0.5 low, 1 high, 1 fused), of an optional
 * soft Dice on the fused head, and of an optional centreline term: the fused head's BCE averaged
 * over the voxels on the roots' centrelines only (Targets.skeleton), so a fine lateral counts per
 * unit length as much as a tap root.
 */
export interface LossWeights {
  low: number;
  high: number;
  fused: number;
  dice: number;
  skeleton: number;
}

export const PAPER_LOSS: LossWeights = { low: 0.5, high: 1, fused: 1, dice: 0, skeleton: 0 };

export interface Targets {
  low: Tensor;
  high: Tensor;
  fused: Tensor;
  /** Centreline weights of the fused head's shape; needed when LossWeights.skeleton > 0. */
  skeleton?: Tensor;
  /**
   * Per-voxel weights of each head, from annotation strokes (annotated fraction; 0 = unlabelled).
   * With a mask each head's BCE is the weighted mean over its annotated voxels, so unlabelled
   * voxels add nothing to the loss or its gradient; the Dice and centreline terms, which need a
   * complete mask, are refused.
   */
  mask?: { low: Tensor; high: Tensor; fused: Tensor };
}

/** The weighted loss and its gradients with respect to each head's logits (caller owns them). */
export async function headLosses(
  logits: HeadLogits,
  targets: Targets,
  w: LossWeights,
): Promise<{ loss: number; parts: Record<string, number>; grads: HeadLogits }> {
  const m = targets.mask;
  if (m && (w.dice > 0 || w.skeleton > 0))
    throw new RangeError(
      'headLosses: the Dice and centreline terms need complete root labels; with annotation masks use BCE only (dice 0, skeleton 0)',
    );
  const masked = (t: Tensor | undefined): { weight?: Tensor; normalize?: 'weight' } => (t ? { weight: t, normalize: 'weight' } : {});
  const low = await bceWithLogits(logits.low, targets.low, { scale: w.low, ...masked(m?.low) });
  const high = await bceWithLogits(logits.high, targets.high, { scale: w.high, ...masked(m?.high) });
  const fused = await bceWithLogits(logits.fused, targets.fused, { scale: w.fused, ...masked(m?.fused) });
  const parts: Record<string, number> = { low: low.loss, high: high.loss, fused: fused.loss };
  let fusedGrad = fused.grad;
  if (w.dice > 0) {
    const p = await sigmoid(logits.fused);
    const dice = await diceLoss(p, targets.fused, { scale: w.dice });
    const dz = await sigmoidBackward(p, dice.grad);
    p.release();
    dice.grad.release();
    fusedGrad = await add(fused.grad, dz);
    fused.grad.release();
    dz.release();
    parts.dice = dice.loss;
  }
  if (w.skeleton > 0) {
    if (!targets.skeleton) throw new RangeError('headLosses: a centreline loss weight needs Targets.skeleton');
    const sk = await bceWithLogits(logits.fused, targets.fused, { scale: w.skeleton, weight: targets.skeleton, normalize: 'weight' });
    const sum = await add(fusedGrad, sk.grad);
    fusedGrad.release();
    sk.grad.release();
    fusedGrad = sum;
    parts.skeleton = sk.loss;
  }
  const loss = Object.values(parts).reduce((a, b) => a + b, 0);
  return { loss, parts, grads: { low: low.grad, high: high.grad, fused: fusedGrad } };
}
