import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { acquireGpu } from '../gpu/acquire.js';
import type { Gpu } from '../gpu/gpu.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { buildModel, DEFAULT_NORMALISATION, loadModel, modelPaths, PRESETS, saveModel, seededRandom, type ModelCard, type ModelConfig, type Normalisation } from '../nn/models/registry.js';
import type { SegmentationModel } from '../nn/models/model.js';
import { readSafetensors, writeSafetensors, type NamedArray } from '../nn/safetensors.js';
import { randomAugmentation } from '../nn/train/augment.js';
import { readExample } from '../nn/train/examples.js';
import { PAPER_LOSS, type LossWeights } from '../nn/train/losses.js';
import { Optimizer, type OptimizerKind } from '../nn/train/optimizer.js';
import { PatchSampler, PAPER_SAMPLING } from '../nn/train/sampler.js';
import { Trainer } from '../nn/train/trainer.js';
import { VolumePatches } from './patch-source.js';
import type { Progress } from './progress.js';
import { skeletonWeights } from './skeleton-weights.js';
import { trainOnStrokes, type StrokeUse } from './train-strokes.js';

export interface TrainOptions {
  data: string[];
  val: string[];
  out: string;
  arch?: string;
  config?: Partial<ModelConfig>;
  from?: string;
  freezeEncoder?: boolean;
  optimizer: OptimizerKind;
  lr: number;
  batch: number;
  stepsPerEpoch: number;
  epochs: number;
  /** Hard-negative mining rounds: after each round but the last, mine and re-weight sampling. */
  rounds: number;
  valPatches: number;
  diceWeight: number;
  /** Weight of the centreline term (LossWeights.skeleton); 0 = off. */
  skeletonWeight?: number;
  /** Learning rate at the last step: cosine decay from `lr` (default: constant `lr`). */
  lrFinal?: number;
  /** Batches for re-estimating batch-norm statistics after each epoch (0 = keep the running averages). */
  calibrationBatches: number;
  augment: boolean;
  seed: number;
  resume: boolean;
  log?: string;
  command?: string;
  progress: Progress;
  /** After every epoch; with annotations a returned promise is awaited before the next epoch re-reads the strokes. */
  onEpoch?: (e: EpochRecord) => void | Promise<void>;
  /** After every training step (live progress for a page). */
  onStep?: (s: StepRecord) => void;
  /**
   * Targets from each store's `labels/annotations` (1 root, 2 not root, 0 ignored) instead of
   * `labels/roots`: the loss counts annotated voxels only, patches are drawn around strokes, a
   * share of them is held out for validation, the best model by validation is the one saved.
   */
  annotations?: boolean;
  /** With annotations: the share of annotated 16³ cells held out for validation (default 0.2). */
  holdout?: number;
  /** With annotations: stop after this many epochs without a better validation Dice (default 3; 0 = never). */
  patience?: number;
  /** Stops training after the step under way; the model (with annotations: the best so far) is saved. */
  signal?: AbortSignal;
}

export interface StepRecord {
  epoch: number;
  /** Optimiser steps taken in this run so far (counting a resumed run's earlier steps). */
  step: number;
  loss: number;
  /** Seconds since the epoch started. */
  seconds: number;
}

export interface EpochRecord {
  round: number;
  epoch: number;
  step: number;
  loss: number;
  parts: Record<string, number>;
  patchesPerSecond: number;
  val: { dice: number; precision: number; recall: number };
  hardRegions: number;
  seconds: number;
  /** With annotations: the strokes this epoch trained and validated on, per store. */
  annotations?: StrokeUse[];
  /** With annotations: held-out annotated voxels validated on. */
  validationVoxels?: number;
  /** With annotations: whether this epoch's model became the saved one. */
  best?: boolean;
}

function checkpointPath(out: string): string {
  return `${modelPaths(out).weights.replace(/\.safetensors$/, '')}.checkpoint.safetensors`;
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** What annotation training cannot combine with, refused before any file is opened. */
function checkAnnotationOptions(opts: TrainOptions): void {
  const bad = (what: string): never => {
    throw new Error(`train --annotations: ${what}`);
  };
  if (opts.val.length > 0) bad('validation uses held-out strokes; --val (scans with labels/roots) does not apply');
  if (opts.diceWeight > 0) bad(`the Dice term needs complete root labels; use --dice 0 (got ${opts.diceWeight})`);
  if ((opts.skeletonWeight ?? 0) > 0) bad(`the centreline term needs complete root labels; use --skeleton 0 (got ${opts.skeletonWeight})`);
  if (opts.resume) bad('--resume is not supported; start again from the saved best model with --from');
  if (opts.holdout !== undefined && !(opts.holdout >= 0 && opts.holdout < 1)) bad(`--holdout must be in [0, 1), got ${opts.holdout}`);
  if (opts.patience !== undefined && !(Number.isInteger(opts.patience) && opts.patience >= 0)) bad(`--patience must be a whole number ≥ 0, got ${opts.patience}`);
}

/** Trains (or fine-tunes) a model on annotated OME-Zarr volumes; see `rhizoct train --help`. */
export async function train(opts: TrainOptions, gpuIn?: Gpu): Promise<{ card: ModelCard; history: EpochRecord[] }> {
  const gpu = gpuIn ?? (await acquireGpu());
  const rand = seededRandom(opts.seed);
  const outPaths = modelPaths(opts.out);
  await mkdir(dirname(outPaths.weights), { recursive: true });
  let model: SegmentationModel;
  let norm: Normalisation;
  let base: ModelCard | null = null;
  const trainVols: VolumePatches[] = [];
  const valVols: VolumePatches[] = [];
  try {
    if (opts.from) {
      const loaded = await loadModel(gpu, opts.from);
      model = loaded.model;
      base = loaded.card;
      norm = loaded.card.normalisation;
    } else {
      const preset = PRESETS[opts.arch ?? 'dual'];
      if (!preset) throw new Error(`unknown --arch ${opts.arch} (known: ${Object.keys(PRESETS).join(', ')})`);
      model = buildModel(gpu, { ...preset, ...opts.config } as ModelConfig, opts.seed);
      norm = DEFAULT_NORMALISATION;
    }
    if (opts.annotations) checkAnnotationOptions(opts);
    for (const p of opts.data) trainVols.push(await VolumePatches.open(p, norm, opts.annotations ? null : 'roots'));
    for (const p of opts.val) valVols.push(await VolumePatches.open(p, norm));
    if (opts.freezeEncoder) for (const { item } of model.encoderParameters()) item.frozen = true;
    const optimizer = new Optimizer(model.parameters(), { kind: opts.optimizer, lr: opts.lr });
    const weights: LossWeights = { ...PAPER_LOSS, dice: opts.diceWeight, skeleton: opts.skeletonWeight ?? 0 };
    const centrelines = weights.skeleton > 0 ? { centrelines: skeletonWeights } : {};
    const totalSteps = opts.rounds * opts.epochs * opts.stepsPerEpoch;
    const lrAt = (step: number): number => (opts.lrFinal === undefined ? opts.lr : opts.lrFinal + (opts.lr - opts.lrFinal) * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, totalSteps)) / totalSteps)));
    const trainer = new Trainer(gpu, model, optimizer, weights);
    const trainingCard = (history: EpochRecord[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      command: opts.command, data: opts.data, val: opts.val, seed: opts.seed, optimizer: opts.optimizer, lr: opts.lr, batch: opts.batch,
      stepsPerEpoch: opts.stepsPerEpoch, epochs: opts.epochs, rounds: opts.annotations ? 1 : opts.rounds, augment: opts.augment, diceWeight: opts.diceWeight, skeletonWeight: weights.skeleton, lrFinal: opts.lrFinal ?? opts.lr, calibrationBatches: opts.calibrationBatches,
      from: opts.from ?? null, baseModel: base?.training ?? null, freezeEncoder: opts.freezeEncoder ?? false,
      device: `${gpu.adapter.description || gpu.adapter.device} (${gpu.adapter.backend})`, steps: optimizer.step,
      seconds: history.reduce((a, h) => a + h.seconds, 0),
      ...extra,
    });
    const writeLog = async (history: EpochRecord[]): Promise<void> => {
      if (opts.log) await writeJsonAtomic(opts.log, { command: opts.command, history });
    };
    if (opts.annotations) {
      const lrAtStrokes = (step: number): number => (opts.lrFinal === undefined ? opts.lr : opts.lrFinal + (opts.lr - opts.lrFinal) * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, opts.epochs * opts.stepsPerEpoch)) / (opts.epochs * opts.stepsPerEpoch))));
      const { history } = await trainOnStrokes({ opts, gpu, model, optimizer, trainer, images: trainVols, norm, lrAt: lrAtStrokes, trainingCard, writeLog });
      return { card: JSON.parse(await readFile(outPaths.card, 'utf8')) as ModelCard, history };
    }
    const sampler = new PatchSampler(await Promise.all(trainVols.map(async (v) => ({ shape: v.shape, roots: await v.rootPoints() }))), PAPER_SAMPLING, rand);
    const valRand = seededRandom(opts.seed + 7);
    const valSampler = valVols.length > 0 ? new PatchSampler(await Promise.all(valVols.map(async (v) => ({ shape: v.shape, roots: await v.rootPoints() }))), { ...PAPER_SAMPLING, rootFraction: 0.5 }, valRand) : null;
    const valCentres = valSampler ? Array.from({ length: opts.valPatches }, () => valSampler.next()) : [];

    let history: EpochRecord[] = [];
    let start = { round: 0, epoch: 0 };
    const ckpt = checkpointPath(opts.out);
    if (opts.resume && existsSync(ckpt)) {
      const { tensors, metadata } = await readSafetensors(ckpt);
      const meta = JSON.parse(metadata.state ?? '{}') as { round: number; epoch: number; step: number; history: EpochRecord[]; norm: Normalisation; hard: ReturnType<Trainer['mine']> extends Promise<infer H> ? H : never };
      for (const { name, item } of [...model.parameters().map((p) => ({ name: p.name, item: p.item.value })), ...model.state()]) {
        const t = tensors.get(name);
        if (!t) throw new Error(`${ckpt}: checkpoint lacks ${name}; it was written for another architecture`);
        gpu.upload(t.data, item.buffer);
      }
      const opt = new Map<string, Float32Array>();
      for (const [k, v] of tensors) if (/\.(adam_[mv]|rms_square)$/.test(k)) opt.set(k, v.data);
      await optimizer.restore(meta.step, opt);
      history = meta.history;
      norm = meta.norm;
      sampler.setHardRegions(meta.hard ?? []);
      start = { round: meta.round, epoch: meta.epoch };
      // The sampler's stream restarts from the seed advanced by the steps done, so a resumed run draws new patches.
      for (let i = 0; i < meta.step * opts.batch * 3; i++) rand();
    }

    for (let round = start.round; round < opts.rounds && !opts.signal?.aborted; round++) {
      for (let epoch = round === start.round ? start.epoch : 0; epoch < opts.epochs && !opts.signal?.aborted; epoch++) {
        const t0 = performance.now();
        opts.progress.start(opts.stepsPerEpoch * opts.batch, 'patches', `round ${round + 1}/${opts.rounds} epoch ${epoch + 1}/${opts.epochs}`);
        let lossSum = 0;
        let steps = 0;
        const partSum: Record<string, number> = {};
        for (let s = 0; s < opts.stepsPerEpoch && !opts.signal?.aborted; s++) {
          const ex = await Promise.all(
            Array.from({ length: opts.batch }, () => {
              const pick = sampler.next();
              return readExample(trainVols[pick.volume]!, pick.centre, model.geometry, opts.augment ? randomAugmentation(rand) : null, centrelines);
            }),
          );
          optimizer.config.lr = lrAt(optimizer.step);
          const { loss, parts } = await trainer.step(ex);
          lossSum += loss;
          steps++;
          for (const [k, v] of Object.entries(parts)) partSum[k] = (partSum[k] ?? 0) + v;
          opts.progress.advance(opts.batch);
          opts.onStep?.({ epoch, step: optimizer.step, loss, seconds: (performance.now() - t0) / 1000 });
        }
        opts.progress.done();
        if (steps === 0) break;
        const seconds = (performance.now() - t0) / 1000;
        if (opts.calibrationBatches > 0) {
          const calib = [];
          for (let b = 0; b < opts.calibrationBatches; b++) {
            calib.push(await Promise.all(Array.from({ length: opts.batch }, () => {
              const pick = sampler.next();
              return readExample(trainVols[pick.volume]!, pick.centre, model.geometry, null);
            })));
          }
          await trainer.calibrateBatchNorm(calib);
        }
        const val = valVols.length > 0 ? await trainer.validate(valVols, valCentres, opts.batch) : { dice: NaN, precision: NaN, recall: NaN };
        const rec: EpochRecord = {
          round, epoch, step: optimizer.step, loss: lossSum / steps,
          parts: Object.fromEntries(Object.entries(partSum).map(([k, v]) => [k, v / steps])),
          patchesPerSecond: (steps * opts.batch) / seconds,
          val: { dice: val.dice, precision: val.precision, recall: val.recall },
          hardRegions: sampler.hardRegionCount, seconds,
        };
        history.push(rec);
        await opts.onEpoch?.(rec);
        const tensors = new Map<string, NamedArray>();
        for (const { name, item } of model.parameters()) tensors.set(name, { shape: [item.value.size], data: await item.value.toArray() });
        for (const { name, item } of model.state()) tensors.set(name, { shape: [item.size], data: await item.toArray() });
        for (const { name, item } of optimizer.stateTensors()) tensors.set(name, { shape: [item.size], data: await item.toArray() });
        const next = epoch + 1 < opts.epochs ? { round, epoch: epoch + 1 } : { round: round + 1, epoch: 0 };
        const hardNow = round + 1 < opts.rounds && epoch + 1 === opts.epochs ? await trainer.mine(trainVols, opts.batch) : null;
        if (hardNow) sampler.setHardRegions(hardNow);
        await writeSafetensors(ckpt, tensors, { state: JSON.stringify({ ...next, step: optimizer.step, history, norm, hard: hardNow ?? [] }) });
        await writeLog(history);
      }
    }
    const last = history[history.length - 1];
    const card: Omit<ModelCard, 'format' | 'version' | 'config'> = {
      normalisation: norm,
      training: trainingCard(history),
      validation: last ? { patches: opts.valPatches, ...last.val } : {},
    };
    await saveModel(model, opts.out, card);
    return { card: JSON.parse(await readFile(outPaths.card, 'utf8')) as ModelCard, history };
  } finally {
    for (const v of [...trainVols, ...valVols]) await v.close();
    if (!gpuIn) gpu.destroy();
  }
}
