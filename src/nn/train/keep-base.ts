import type { Gpu } from '../../gpu/gpu.js';
import { sigmoid } from '../ops/activation.js';
import { Tensor } from '../tensor.js';
import type { SegmentationModel } from '../models/model.js';
import { stack, type Example } from './examples.js';

/** The base model's answer counts where it is at least this sure (p ≤ CONFIDENT or p ≥ 1 − CONFIDENT). */
export const CONFIDENT = 0.1;

/**
 * Fine-tuning on strokes, kept from forgetting what the base model knew: in every unpainted voxel
 * where the base model is confident, its probability becomes the target, weighted so that, per
 * head and batch, those voxels together weigh `weight` times the painted ones. Strokes still
 * decide wherever they are; a voxel the base model was unsure of stays out of the loss. Without
 * this, a few dozen steps on strokes that are mostly "not root" in one place and "root" in another
 * move the whole scan's answer (precision collapsed in the simulated loop, bench/RESULTS.md).
 * Replaces each example's targets and masks (never written in place: heads may share arrays).
 */
export async function keepBaseAnswers(gpu: Gpu, base: SegmentationModel, batch: Example[], weight: number): Promise<void> {
  if (!(weight > 0) || batch.length === 0) return;
  if (batch.some((e) => !e.mask)) throw new RangeError('keepBaseAnswers: examples need annotation masks');
  const g = base.geometry;
  const n = batch.length;
  const high = Tensor.fromArray(gpu, [n, 1, g.highInput, g.highInput, g.highInput], stack(batch.map((e) => e.high)));
  const low =
    g.lowScale === 1 ? undefined : Tensor.fromArray(gpu, [n, 1, g.lowInput, g.lowInput, g.lowInput], stack(batch.map((e) => e.low!)));
  const logits = await base.forward(low ? { high, low } : { high }, 'eval');
  high.release();
  low?.release();
  const probabilities = async (t: Tensor): Promise<Float32Array> => {
    const p = await sigmoid(t);
    const a = await p.toArray();
    p.release();
    t.release();
    return a;
  };
  const p = { low: await probabilities(logits.low), high: await probabilities(logits.high), fused: await probabilities(logits.fused) };
  const heads = [
    {
      head: 'low',
      target: (e: Example) => e.tLow,
      set: (e: Example, t: Float32Array, m: Float32Array) => ((e.tLow = t), (e.mask!.low = m)),
    },
    {
      head: 'high',
      target: (e: Example) => e.tHigh,
      set: (e: Example, t: Float32Array, m: Float32Array) => ((e.tHigh = t), (e.mask!.high = m)),
    },
    {
      head: 'fused',
      target: (e: Example) => e.tFused,
      set: (e: Example, t: Float32Array, m: Float32Array) => ((e.tFused = t), (e.mask!.fused = m)),
    },
  ] as const;
  for (const { head, target, set } of heads) {
    const probs = p[head];
    const size = target(batch[0]!).length;
    if (probs.length !== size * n)
      throw new RangeError(`keepBaseAnswers: the ${head} head gives ${probs.length / n} voxels, its target ${size}`);
    let painted = 0;
    let confident = 0;
    batch.forEach((e, b) => {
      const m = e.mask![head];
      for (let v = 0; v < size; v++) {
        if (m[v]! > 0) painted += m[v]!;
        else if (isConfident(probs[b * size + v]!)) confident++;
      }
    });
    if (painted === 0 || confident === 0) continue;
    const w = (weight * painted) / confident;
    batch.forEach((e, b) => {
      const t = Float32Array.from(target(e));
      const m = Float32Array.from(e.mask![head]);
      for (let v = 0; v < size; v++) {
        const q = probs[b * size + v]!;
        if (m[v] === 0 && isConfident(q)) {
          t[v] = q;
          m[v] = w;
        }
      }
      set(e, t, m);
    });
  }
}

function isConfident(p: number): boolean {
  return p <= CONFIDENT || p >= 1 - CONFIDENT;
}
