import type { Gpu } from '../../gpu/gpu.js';
import { Tensor, type Shape5 } from '../tensor.js';
import type { SegmentationModel } from '../models/model.js';
import { predictFused } from '../models/infer.js';
import { findBatchNorms } from '../layers/batchnorm.js';
import { headLosses, type LossWeights } from './losses.js';
import type { Optimizer } from './optimizer.js';
import { readExample, stack, type Example } from './examples.js';
import type { HardRegion, PatchVolume, Point } from './sampler.js';
import { overlapScores, type Confusion } from '../../volume/overlap.js';

export type { Confusion };

/** Probabilities are clamped this far from 0 and 1 in the held-out loss, so one sure mistake is finite. */
const BCE_EPS = 1e-6;

const cube = (n: number, side: number): Shape5 => [n, 1, side, side, side];

/** Dice of confusion counts (1 when truth and prediction are both empty; volume/overlap). */
export function dice(c: Confusion): number {
  return overlapScores(c).dice;
}

/** Confusion counts of a thresholded prediction against a (fractional) truth thresholded at 0.5. */
export function confusion(prob: Float32Array, truth: Float32Array, threshold = 0.5): Confusion {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < prob.length; i++) {
    const p = prob[i]! >= threshold;
    const t = truth[i]! >= 0.5;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  return { tp, fp, fn };
}

export class Trainer {
  constructor(
    readonly gpu: Gpu,
    readonly model: SegmentationModel,
    readonly optimizer: Optimizer,
    readonly weights: LossWeights,
  ) {}

  private upload(examples: Example[]): {
    high: Tensor;
    low: Tensor | undefined;
    t: { low: Tensor; high: Tensor; fused: Tensor; skeleton?: Tensor; mask?: { low: Tensor; high: Tensor; fused: Tensor } };
  } {
    const g = this.model.geometry;
    const n = examples.length;
    const high = Tensor.fromArray(this.gpu, cube(n, g.highInput), stack(examples.map((e) => e.high)));
    const low = examples[0]!.low ? Tensor.fromArray(this.gpu, cube(n, g.lowInput), stack(examples.map((e) => e.low!))) : undefined;
    const lowN = g.lowTarget / g.lowTargetScale;
    return {
      high,
      low,
      t: {
        low: Tensor.fromArray(this.gpu, cube(n, lowN), stack(examples.map((e) => e.tLow))),
        high: Tensor.fromArray(this.gpu, cube(n, g.highOutput), stack(examples.map((e) => e.tHigh))),
        fused: Tensor.fromArray(this.gpu, cube(n, g.output), stack(examples.map((e) => e.tFused))),
        ...(examples[0]!.wSkeleton
          ? { skeleton: Tensor.fromArray(this.gpu, cube(n, g.output), stack(examples.map((e) => e.wSkeleton!))) }
          : {}),
        ...(examples[0]!.mask ? { mask: this.uploadMask(examples, lowN) } : {}),
      },
    };
  }

  private uploadMask(examples: Example[], lowN: number): { low: Tensor; high: Tensor; fused: Tensor } {
    const g = this.model.geometry;
    const masks = examples.map((e) => {
      if (!e.mask) throw new RangeError('Trainer: a batch mixes examples with and without annotation masks');
      return e.mask;
    });
    return {
      low: Tensor.fromArray(this.gpu, cube(examples.length, lowN), stack(masks.map((m) => m.low))),
      high: Tensor.fromArray(this.gpu, cube(examples.length, g.highOutput), stack(masks.map((m) => m.high))),
      fused: Tensor.fromArray(this.gpu, cube(examples.length, g.output), stack(masks.map((m) => m.fused))),
    };
  }

  /** One optimisation step on a batch; returns the loss and its parts. */
  async step(examples: Example[]): Promise<{ loss: number; parts: Record<string, number> }> {
    const { high, low, t } = this.upload(examples);
    await this.optimizer.zeroGrads();
    const logits = await this.model.forward(low ? { high, low } : { high }, 'train');
    high.release();
    low?.release();
    const { loss, parts, grads } = await headLosses(logits, t, this.weights);
    for (const x of [logits.low, logits.high, logits.fused, t.low, t.high, t.fused, t.skeleton, t.mask?.low, t.mask?.high, t.mask?.fused])
      x?.release();
    await this.model.backward(grads);
    for (const x of [grads.low, grads.high, grads.fused]) x.release();
    await this.optimizer.update();
    await this.gpu.sync();
    if (!Number.isFinite(loss)) throw new Error(`training diverged: loss ${loss} at step ${this.optimizer.step}`);
    return { loss, parts };
  }

  /**
   * Re-estimates every batch norm's running statistics with the weights as they are ("precise
   * BN"): `batches` training-mode forward passes with a cumulative average (momentum 1/k), so
   * eval-mode statistics come from many patches instead of the last few noisy batches of 2.
   */
  async calibrateBatchNorm(batches: Example[][]): Promise<void> {
    const bns = findBatchNorms(this.model);
    const saved = bns.map((b) => b.momentum);
    try {
      for (const [k, ex] of batches.entries()) {
        for (const b of bns) b.momentum = 1 / (k + 1);
        const { high, low, t } = this.upload(ex);
        const out = await this.model.forward(low ? { high, low } : { high }, 'train');
        for (const x of [
          high,
          low,
          t.low,
          t.high,
          t.fused,
          t.skeleton,
          t.mask?.low,
          t.mask?.high,
          t.mask?.fused,
          out.low,
          out.high,
          out.fused,
        ])
          x?.release();
        this.model.clear();
      }
      await this.gpu.sync();
    } finally {
      bns.forEach((b, i) => (b.momentum = saved[i]!));
    }
  }

  /** Fused-head probabilities for a batch, in eval mode. */
  async predict(examples: Example[]): Promise<Float32Array> {
    return predictFused(
      this.gpu,
      this.model,
      examples.map((e) => e.high),
      examples.map((e) => e.low),
    );
  }

  /** Dice, precision and recall of the fused head over fixed validation patches. */
  async validate(
    volumes: PatchVolume[],
    centres: { volume: number; centre: Point }[],
    batch: number,
    threshold = 0.5,
  ): Promise<Confusion & { dice: number; precision: number; recall: number }> {
    const total: Confusion = { tp: 0, fp: 0, fn: 0 };
    for (let i = 0; i < centres.length; i += batch) {
      const part = centres.slice(i, i + batch);
      const ex = await Promise.all(part.map((c) => readExample(volumes[c.volume]!, c.centre, this.model.geometry, null)));
      const prob = await this.predict(ex);
      const c = confusion(prob, stack(ex.map((e) => e.tFused)), threshold);
      total.tp += c.tp;
      total.fp += c.fp;
      total.fn += c.fn;
    }
    const { dice, precision, recall } = overlapScores(total);
    return { ...total, dice, precision, recall };
  }

  /**
   * Dice, precision and recall of the fused head over the annotated voxels of the given output
   * tiles only (the examples' fused mask > 0): validation on held-out strokes. `loss` is the mean
   * binary cross-entropy over those voxels, which keeps ranking models once Dice is saturated
   * (a few hundred painted voxels are soon all right).
   */
  async validateAnnotated(
    volumes: PatchVolume[],
    tiles: { volume: number; centre: Point }[],
    batch: number,
    threshold = 0.5,
  ): Promise<Confusion & { dice: number; precision: number; recall: number; loss: number; voxels: number }> {
    const total: Confusion = { tp: 0, fp: 0, fn: 0 };
    let voxels = 0;
    let bce = 0;
    for (let i = 0; i < tiles.length; i += batch) {
      const part = tiles.slice(i, i + batch);
      const ex = await Promise.all(part.map((c) => readExample(volumes[c.volume]!, c.centre, this.model.geometry, null)));
      const prob = await this.predict(ex);
      const truth = stack(ex.map((e) => e.tFused));
      const mask = stack(
        ex.map((e) => {
          if (!e.mask) throw new RangeError(`${volumes[0]!.name}: validateAnnotated needs annotation volumes`);
          return e.mask.fused;
        }),
      );
      for (let k = 0; k < prob.length; k++) {
        if (!(mask[k]! > 0)) continue;
        voxels++;
        const p = prob[k]! >= threshold;
        const t = truth[k]! >= 0.5;
        bce -= Math.log(Math.min(1 - BCE_EPS, Math.max(BCE_EPS, t ? prob[k]! : 1 - prob[k]!)));
        if (p && t) total.tp++;
        else if (p) total.fp++;
        else if (t) total.fn++;
      }
    }
    const { dice, precision, recall } = overlapScores(total);
    return { ...total, dice, precision, recall, loss: voxels > 0 ? bce / voxels : NaN, voxels };
  }

  /**
   * Hard-negative mining (the paper's incremental learning): runs the model over a grid of
   * output regions of each training volume and returns the regions holding false positives or
   * false negatives, weighted by how many.
   */
  async mine(volumes: PatchVolume[], batch: number, maxRegions = 256): Promise<HardRegion[]> {
    const g = this.model.geometry;
    const found: HardRegion[] = [];
    for (const [vi, vol] of volumes.entries()) {
      const centres: Point[] = [];
      const step = g.output;
      for (let z = Math.floor(step / 2); z < vol.shape[0]; z += step)
        for (let y = Math.floor(step / 2); y < vol.shape[1]; y += step)
          for (let x = Math.floor(step / 2); x < vol.shape[2]; x += step) centres.push([z, y, x]);
      for (let i = 0; i < centres.length; i += batch) {
        const part = centres.slice(i, i + batch);
        const ex = await Promise.all(part.map((c) => readExample(vol, c, g, null)));
        const prob = await this.predict(ex);
        const n = g.output ** 3;
        part.forEach((centre, k) => {
          const c = confusion(prob.subarray(k * n, (k + 1) * n), ex[k]!.tFused);
          if (c.fp > 0) found.push({ volume: vi, centre, weight: c.fp, kind: 'false-positive' });
          if (c.fn > 0) found.push({ volume: vi, centre, weight: c.fn, kind: 'false-negative' });
        });
      }
    }
    found.sort((a, b) => b.weight - a.weight);
    return found.slice(0, maxRegions);
  }
}
