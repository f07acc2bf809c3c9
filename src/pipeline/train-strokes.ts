import type { Gpu } from '../gpu/gpu.js';
import type { SegmentationModel } from '../nn/models/model.js';
import { saveModel, seededRandom, type ModelCard, type Normalisation } from '../nn/models/registry.js';
import { AnnotatedVolume, CELL, cellHash, heldOutCells, type ClassCounts } from '../nn/train/annotations.js';
import { randomAugmentation } from '../nn/train/augment.js';
import { readExample, type Example } from '../nn/train/examples.js';
import { keepBaseAnswers } from '../nn/train/keep-base.js';
import type { Optimizer } from '../nn/train/optimizer.js';
import type { Point } from '../nn/train/sampler.js';
import { StrokeSampler, STROKE_SAMPLING } from '../nn/train/stroke-sampler.js';
import type { Trainer } from '../nn/train/trainer.js';
import type { VolumePatches } from './patch-source.js';
import { readStrokeLabels } from './stroke-labels.js';
import { runEpochSteps } from './train-epoch.js';
import type { EpochRecord, TrainOptions } from './train.js';

/** What the card records of the strokes a model was trained with, per store. */
export interface StrokeUse {
  path: string;
  train: ClassCounts;
  heldOut: ClassCounts;
}

interface Snapshot {
  train: AnnotatedVolume[];
  val: AnnotatedVolume[];
  use: StrokeUse[];
}

export const DEFAULT_HOLDOUT = 0.2;
export const DEFAULT_PATIENCE = 3;

/**
 * Reads every store's strokes afresh (strokes painted since the last epoch join this one) and
 * splits them by held-out cells. `trained` remembers, per store, the cells trained on so far, so a
 * cell never moves from training to validation.
 */
async function snapshot(opts: TrainOptions, images: VolumePatches[], trained: Set<number>[]): Promise<Snapshot> {
  const s: Snapshot = { train: [], val: [], use: [] };
  for (const [i, img] of images.entries()) {
    const labels = await readStrokeLabels(img.path, img.shape);
    const held = heldOutCells(labels, opts.seed, i, opts.holdout ?? DEFAULT_HOLDOUT, trained[i]!);
    const train = new AnnotatedVolume(img, labels, held, 'train');
    const val = new AnnotatedVolume(img, labels, held, 'val');
    s.train.push(train);
    s.val.push(val);
    s.use.push({ path: img.path, train: train.counts(), heldOut: val.counts() });
  }
  const total = s.use.reduce((a, u) => a + u.train.root + u.train.notRoot + u.heldOut.root + u.heldOut.notRoot, 0);
  if (total === 0)
    throw new Error(
      `${images.map((v) => v.path).join(', ')}: labels/annotations holds no annotated voxels (1 root, 2 not root); paint some strokes first`,
    );
  if (s.use.every((u) => u.train.root + u.train.notRoot === 0)) {
    throw new Error(
      `${images.map((v) => v.path).join(', ')}: all ${total} annotated voxels fall in held-out regions; paint strokes elsewhere too, or lower the held-out share (--holdout)`,
    );
  }
  return s;
}

/** Output tiles holding held-out voxels, in an order fixed by the seed, at most `max`. */
function validationTiles(val: AnnotatedVolume[], out: number, seed: number, max: number): { volume: number; centre: Point }[] {
  const all = val.flatMap((v, volume) => v.tiles(out).map((centre) => ({ volume, centre })));
  const key = (t: { volume: number; centre: Point }): number =>
    cellHash(seed, t.volume, (t.centre[0] * 65536 + t.centre[1]) * 65536 + t.centre[2]);
  return all.sort((a, b) => key(a) - key(b)).slice(0, max);
}

const sameUse = (a: StrokeUse[], b: StrokeUse[]): boolean =>
  JSON.stringify(a.map((u) => u.heldOut)) === JSON.stringify(b.map((u) => u.heldOut));

export interface StrokeRun {
  opts: TrainOptions;
  gpu: Gpu;
  model: SegmentationModel;
  optimizer: Optimizer;
  trainer: Trainer;
  images: VolumePatches[];
  norm: Normalisation;
  lrAt: (step: number) => number;
  /** The card's training record, for the steps and history so far. */
  trainingCard: (history: EpochRecord[], extra: Record<string, unknown>) => Record<string, unknown>;
  writeLog: (history: EpochRecord[]) => Promise<void>;
  /** The base model, frozen, whose confident answers in unpainted voxels weigh `weight` against the strokes. */
  keepBase?: { model: SegmentationModel; weight: number };
}

/**
 * Held-out Dice decides; at equal Dice (held-out strokes are soon all right, Dice 1), the lower
 * held-out loss, so training that makes the model surer of them still counts as progress.
 */
export function betterOnHeldOut(val: { dice: number; loss: number }, best: { dice: number; loss: number }): boolean {
  return val.dice > best.dice || (val.dice === best.dice && val.loss < best.loss);
}

/**
 * Fine-tuning on annotation strokes: each epoch re-reads the strokes, trains on patches around the
 * training strokes (root and not-root balanced), scores the fused head on the held-out strokes,
 * and saves the model when that score is the best so far (betterOnHeldOut). Stops after `patience` epochs without
 * improvement, after `epochs`, or when `signal` aborts (after the step under way, validating and
 * saving as at an epoch's end). When new strokes change the held-out set, the best score so far
 * was measured on other voxels, so the next epoch's model is taken as the new best to compare with.
 */
export async function trainOnStrokes(
  r: StrokeRun,
): Promise<{ card: Omit<ModelCard, 'format' | 'version' | 'config'>; history: EpochRecord[] }> {
  const { opts, model, optimizer, trainer, keepBase: keep } = r;
  const rand = seededRandom(opts.seed);
  const patience = opts.patience ?? DEFAULT_PATIENCE;
  const trained = r.images.map(() => new Set<number>());
  const history: EpochRecord[] = [];
  let best: { dice: number; loss: number; use: StrokeUse[]; card: Omit<ModelCard, 'format' | 'version' | 'config'> } | null = null;
  let sinceBest = 0;
  for (let epoch = 0; epoch < opts.epochs && !opts.signal?.aborted; epoch++) {
    const snap = await snapshot(opts, r.images, trained);
    snap.train.forEach((v, i) => {
      for (const k of v.labels.annotatedCells()) if (!v.heldOut.has(k)) trained[i]!.add(k);
    });
    const sampler = new StrokeSampler(
      snap.train.map((v) => ({ shape: v.shape, ...v.strokePoints() })),
      STROKE_SAMPLING,
      rand,
    );
    const draw = (forTraining: boolean): Promise<Example> => {
      const pick = sampler.next();
      return readExample(
        snap.train[pick.volume]!,
        pick.centre,
        model.geometry,
        forTraining && opts.augment ? randomAugmentation(rand, opts.intensity, opts.permuteAxes) : null,
      );
    };
    const prepare = keep ? (batch: Example[]): Promise<void> => keepBaseAnswers(r.gpu, keep.model, batch, keep.weight) : undefined;
    const ran = await runEpochSteps(opts, optimizer, trainer, r.lrAt, epoch, `epoch ${epoch + 1}/${opts.epochs}`, draw, prepare);
    if (!ran) break;
    const tiles = validationTiles(snap.val, model.geometry.output, opts.seed, Math.max(1, opts.valPatches));
    const v = tiles.length > 0 ? await trainer.validateAnnotated(snap.val, tiles, opts.batch) : null;
    const val =
      v && v.voxels > 0
        ? { dice: v.dice, precision: v.precision, recall: v.recall, loss: v.loss }
        : { dice: NaN, precision: NaN, recall: NaN, loss: NaN };
    // No held-out voxels: nothing to select by, so the latest model is kept.
    const newValSet = best !== null && !sameUse(best.use, snap.use);
    const improved = best === null || Number.isNaN(val.dice) || newValSet || betterOnHeldOut(val, best);
    const rec: EpochRecord = {
      round: 0,
      epoch,
      step: optimizer.step,
      loss: ran.loss,
      parts: ran.parts,
      patchesPerSecond: (ran.steps * opts.batch) / ran.seconds,
      val,
      hardRegions: 0,
      seconds: ran.seconds,
      annotations: snap.use,
      validationVoxels: v?.voxels ?? 0,
      best: improved,
    };
    history.push(rec);
    if (improved) {
      const card = {
        normalisation: r.norm,
        training: r.trainingCard(history, {
          annotations: {
            stores: snap.use,
            holdout: opts.holdout ?? DEFAULT_HOLDOUT,
            cell: CELL,
            epoch,
            patience,
            keepBase: keep?.weight ?? 0,
          },
        }),
        validation: { heldOutVoxels: v?.voxels ?? 0, tiles: tiles.length, ...val },
      };
      await saveModel(model, opts.out, card);
      best = {
        dice: Number.isNaN(val.dice) ? -Infinity : val.dice,
        loss: Number.isNaN(val.loss) ? Infinity : val.loss,
        use: snap.use,
        card,
      };
      sinceBest = 0;
    } else sinceBest++;
    await opts.onEpoch?.(rec);
    await r.writeLog(history);
    if (patience > 0 && sinceBest >= patience) break;
  }
  if (!best) throw new Error(`training on ${r.images.map((v) => v.path).join(', ')} stopped before its first step; no model saved`);
  return { card: best.card, history };
}
