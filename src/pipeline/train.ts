import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { acquireGpu } from '../gpu/acquire.js';
import type { Gpu } from '../gpu/gpu.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import {
  buildModel,
  DEFAULT_NORMALISATION,
  loadModel,
  modelPaths,
  PRESETS,
  saveModel,
  seededRandom,
  type ModelCard,
  type ModelConfig,
  type Normalisation,
} from '../nn/models/registry.js';
import type { SegmentationModel } from '../nn/models/model.js';
import { readSafetensors, writeSafetensors, type NamedArray } from '../nn/safetensors.js';
import { randomAugmentation, type IntensityRange } from '../nn/train/augment.js';
import { type CentrelineWeights, readExample } from '../nn/train/examples.js';
import { PAPER_LOSS, type LossWeights } from '../nn/train/losses.js';
import { Optimizer, type OptimizerKind } from '../nn/train/optimizer.js';
import { type HardRegion, PatchSampler, PAPER_SAMPLING, type Point } from '../nn/train/sampler.js';
import { Trainer } from '../nn/train/trainer.js';
import { VolumePatches } from './patch-source.js';
import type { Progress } from './progress.js';
import { skeletonWeights } from './skeleton-weights.js';
import { runEpochSteps } from './train-epoch.js';
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
  /** Wide intensity augmentation (gain, bias, gamma ranges); absent: the narrow ±0.1 jitter. */
  intensity?: IntensityRange;
  /** Also draw the order of the axes per patch, so roots are seen running in every direction. */
  permuteAxes?: boolean;
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
  /**
   * With annotations and `from`: weight of the base model's confident answers in unpainted voxels
   * against the painted ones (nn/train/keep-base.ts; 0 = strokes alone).
   */
  keepBase?: number;
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
  /** `loss`: with annotations, the mean cross-entropy on held-out strokes (breaks ties in Dice). */
  val: { dice: number; precision: number; recall: number; loss?: number };
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
  if (opts.patience !== undefined && !(Number.isInteger(opts.patience) && opts.patience >= 0))
    bad(`--patience must be a whole number ≥ 0, got ${opts.patience}`);
  if (opts.keepBase !== undefined && !(opts.keepBase >= 0)) bad(`--keep-base must be ≥ 0, got ${opts.keepBase}`);
  if ((opts.keepBase ?? 0) > 0 && !opts.from) bad('--keep-base keeps the answers of the model trained from; it needs --from');
}

/** Trains (or fine-tunes) a model on annotated OME-Zarr volumes; see `rhizoct train --help`. */
export async function train(opts: TrainOptions, gpuIn?: Gpu): Promise<{ card: ModelCard; history: EpochRecord[] }> {
  const gpu = gpuIn ?? (await acquireGpu());
  const rand = seededRandom(opts.seed);
  const outPaths = modelPaths(opts.out);
  await mkdir(dirname(outPaths.weights), { recursive: true });
  const trainVols: VolumePatches[] = [];
  const valVols: VolumePatches[] = [];
  try {
    const start = await openModel(gpu, opts);
    const { model, base } = start;
    let norm = start.norm;
    if (opts.annotations) checkAnnotationOptions(opts);
    // The offset beyond the faces, as before edge padding: see VolumePatches.open.
    for (const p of opts.data) trainVols.push(await VolumePatches.open(p, norm, opts.annotations ? null : 'roots', 0, 'offset'));
    for (const p of opts.val) valVols.push(await VolumePatches.open(p, norm, 'roots', 0, 'offset'));
    if (opts.freezeEncoder) for (const { item } of model.encoderParameters()) item.frozen = true;
    const run = setUpRun(gpu, opts, model, base);
    if (opts.annotations) {
      const lrAtStrokes = cosineRate(opts, opts.epochs * opts.stepsPerEpoch);
      const { history } = await trainOnStrokes({
        opts,
        gpu,
        model,
        optimizer: run.optimizer,
        trainer: run.trainer,
        images: trainVols,
        norm,
        lrAt: lrAtStrokes,
        trainingCard: run.trainingCard,
        writeLog: run.writeLog,
        ...((opts.keepBase ?? 0) > 0 ? { keepBase: { model: (await loadModel(gpu, opts.from!)).model, weight: opts.keepBase! } } : {}),
      });
      return { card: JSON.parse(await readFile(outPaths.card, 'utf8')) as ModelCard, history };
    }
    const sampler = await patchSampler(trainVols, PAPER_SAMPLING, rand);
    const valSampler =
      valVols.length > 0 ? await patchSampler(valVols, { ...PAPER_SAMPLING, rootFraction: 0.5 }, seededRandom(opts.seed + 7)) : null;
    const valCentres = valSampler ? Array.from({ length: opts.valPatches }, () => valSampler.next()) : [];
    const epochRun: EpochRun = { opts, model, run, sampler, rand, trainVols, valVols, valCentres };

    let history: EpochRecord[] = [];
    let from = { round: 0, epoch: 0 };
    const ckpt = checkpointPath(opts.out);
    if (opts.resume && existsSync(ckpt)) ({ history, norm, from } = await resumeCheckpoint(gpu, ckpt, epochRun));

    for (let round = from.round; round < opts.rounds && !opts.signal?.aborted; round++) {
      for (let epoch = round === from.round ? from.epoch : 0; epoch < opts.epochs && !opts.signal?.aborted; epoch++) {
        const rec = await runEpoch(epochRun, round, epoch);
        if (!rec) break;
        history.push(rec);
        await opts.onEpoch?.(rec);
        await endEpoch(epochRun, ckpt, round, epoch, history, norm);
        await run.writeLog(history);
      }
    }
    const last = history[history.length - 1];
    const card: Omit<ModelCard, 'format' | 'version' | 'config'> = {
      normalisation: norm,
      training: run.trainingCard(history),
      validation: last ? { patches: opts.valPatches, ...last.val } : {},
    };
    await saveModel(model, opts.out, card);
    return { card: JSON.parse(await readFile(outPaths.card, 'utf8')) as ModelCard, history };
  } finally {
    for (const v of [...trainVols, ...valVols]) await v.close();
    if (!gpuIn) gpu.destroy();
  }
}

/** The model to train: loaded with its card and normalisation (`--from`), or built from a preset. */
async function openModel(gpu: Gpu, opts: TrainOptions): Promise<{ model: SegmentationModel; norm: Normalisation; base: ModelCard | null }> {
  if (opts.from) {
    const loaded = await loadModel(gpu, opts.from);
    return { model: loaded.model, norm: loaded.card.normalisation, base: loaded.card };
  }
  const preset = PRESETS[opts.arch ?? 'dual'];
  if (!preset) throw new Error(`unknown --arch ${opts.arch} (known: ${Object.keys(PRESETS).join(', ')})`);
  return { model: buildModel(gpu, { ...preset, ...opts.config } as ModelConfig, opts.seed), norm: DEFAULT_NORMALISATION, base: null };
}

/** What every epoch uses: the optimiser and trainer, the loss, the rate schedule, and the card's and log's writers. */
interface RunSetup {
  optimizer: Optimizer;
  trainer: Trainer;
  centrelines: { centrelines?: CentrelineWeights };
  lrAt: (step: number) => number;
  trainingCard: (history: EpochRecord[], extra?: Record<string, unknown>) => Record<string, unknown>;
  writeLog: (history: EpochRecord[]) => Promise<void>;
}

function setUpRun(gpu: Gpu, opts: TrainOptions, model: SegmentationModel, base: ModelCard | null): RunSetup {
  const optimizer = new Optimizer(model.parameters(), { kind: opts.optimizer, lr: opts.lr });
  const weights: LossWeights = { ...PAPER_LOSS, dice: opts.diceWeight, skeleton: opts.skeletonWeight ?? 0 };
  const centrelines = weights.skeleton > 0 ? { centrelines: skeletonWeights } : {};
  const lrAt = cosineRate(opts, opts.rounds * opts.epochs * opts.stepsPerEpoch);
  const trainer = new Trainer(gpu, model, optimizer, weights);
  const trainingCard = (history: EpochRecord[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    command: opts.command,
    data: opts.data,
    val: opts.val,
    seed: opts.seed,
    optimizer: opts.optimizer,
    lr: opts.lr,
    batch: opts.batch,
    stepsPerEpoch: opts.stepsPerEpoch,
    epochs: opts.epochs,
    rounds: opts.annotations ? 1 : opts.rounds,
    augment: opts.augment,
    intensity: opts.augment ? (opts.intensity ?? 'gain and bias ±0.1') : null,
    permuteAxes: opts.augment && (opts.permuteAxes ?? false),
    diceWeight: opts.diceWeight,
    skeletonWeight: weights.skeleton,
    lrFinal: opts.lrFinal ?? opts.lr,
    calibrationBatches: opts.calibrationBatches,
    from: opts.from ?? null,
    baseModel: base?.training ?? null,
    freezeEncoder: opts.freezeEncoder ?? false,
    device: `${gpu.adapter.description || gpu.adapter.device} (${gpu.adapter.backend})`,
    steps: optimizer.step,
    seconds: history.reduce((a, h) => a + h.seconds, 0),
    ...extra,
  });
  const writeLog = async (history: EpochRecord[]): Promise<void> => {
    if (opts.log) await writeJsonAtomic(opts.log, { command: opts.command, history });
  };
  return { optimizer, trainer, centrelines, lrAt, trainingCard, writeLog };
}

/** The learning rate at a step: `lr` throughout, or cosine decay from `lr` to `lrFinal` over `totalSteps`. */
function cosineRate(opts: TrainOptions, totalSteps: number): (step: number) => number {
  return (step) =>
    opts.lrFinal === undefined
      ? opts.lr
      : opts.lrFinal + (opts.lr - opts.lrFinal) * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, totalSteps)) / totalSteps));
}

/** Patch centres drawn from the volumes' root points and uniformly, as `sampling` says. */
async function patchSampler(vols: readonly VolumePatches[], sampling: typeof PAPER_SAMPLING, rand: () => number): Promise<PatchSampler> {
  return new PatchSampler(await Promise.all(vols.map(async (v) => ({ shape: v.shape, roots: await v.rootPoints() }))), sampling, rand);
}

/** What the epochs of a run (without annotations) share. */
interface EpochRun {
  readonly opts: TrainOptions;
  readonly model: SegmentationModel;
  readonly run: RunSetup;
  readonly sampler: PatchSampler;
  readonly rand: () => number;
  readonly trainVols: VolumePatches[];
  readonly valVols: VolumePatches[];
  readonly valCentres: { volume: number; centre: Point }[];
}

/** What a checkpoint's metadata holds besides the tensors. */
interface CheckpointState {
  round: number;
  epoch: number;
  step: number;
  history: EpochRecord[];
  norm: Normalisation;
  hard: HardRegion[];
}

/**
 * Resumes from a checkpoint: weights, batch-norm state and optimiser moments, the history, the
 * normalisation and the hard regions; the sampler's random stream is advanced past the steps done.
 */
async function resumeCheckpoint(
  gpu: Gpu,
  ckpt: string,
  r: EpochRun,
): Promise<{ history: EpochRecord[]; norm: Normalisation; from: { round: number; epoch: number } }> {
  const { model, run, opts } = r;
  const { tensors, metadata } = await readSafetensors(ckpt);
  const meta = JSON.parse(metadata.state ?? '{}') as CheckpointState;
  for (const { name, item } of [...model.parameters().map((p) => ({ name: p.name, item: p.item.value })), ...model.state()]) {
    const t = tensors.get(name);
    if (!t) throw new Error(`${ckpt}: checkpoint lacks ${name}; it was written for another architecture`);
    gpu.upload(t.data, item.buffer);
  }
  const opt = new Map<string, Float32Array>();
  for (const [k, v] of tensors) if (/\.(adam_[mv]|rms_square)$/.test(k)) opt.set(k, v.data);
  await run.optimizer.restore(meta.step, opt);
  r.sampler.setHardRegions(meta.hard ?? []);
  // The sampler's stream restarts from the seed advanced by the steps done, so a resumed run draws new patches.
  for (let i = 0; i < meta.step * opts.batch * 3; i++) r.rand();
  return { history: meta.history, norm: meta.norm, from: { round: meta.round, epoch: meta.epoch } };
}

/**
 * One epoch: its training steps, batch-norm calibration, validation; its record, or null when no
 * step ran (stopped by the signal before the first).
 */
async function runEpoch(r: EpochRun, round: number, epoch: number): Promise<EpochRecord | null> {
  const { opts, model, sampler, trainVols } = r;
  const { optimizer, trainer } = r.run;
  const label = `round ${round + 1}/${opts.rounds} epoch ${epoch + 1}/${opts.epochs}`;
  const ran = await runEpochSteps(opts, optimizer, trainer, r.run.lrAt, epoch, label, (forTraining) => {
    const pick = sampler.next();
    const vol = trainVols[pick.volume]!;
    if (!forTraining) return readExample(vol, pick.centre, model.geometry, null);
    return readExample(
      vol,
      pick.centre,
      model.geometry,
      opts.augment ? randomAugmentation(r.rand, opts.intensity, opts.permuteAxes) : null,
      r.run.centrelines,
    );
  });
  if (!ran) return null;
  const val =
    r.valVols.length > 0 ? await trainer.validate(r.valVols, r.valCentres, opts.batch) : { dice: NaN, precision: NaN, recall: NaN };
  return {
    round,
    epoch,
    step: optimizer.step,
    loss: ran.loss,
    parts: ran.parts,
    patchesPerSecond: (ran.steps * opts.batch) / ran.seconds,
    val: { dice: val.dice, precision: val.precision, recall: val.recall },
    hardRegions: sampler.hardRegionCount,
    seconds: ran.seconds,
  };
}

/**
 * After an epoch: the weights, batch-norm state and optimiser moments as they are; at the end of a
 * round but the last, hard-negative mining re-weights sampling; then the checkpoint (whose state
 * says where to resume) is written.
 */
async function endEpoch(
  r: EpochRun,
  ckpt: string,
  round: number,
  epoch: number,
  history: EpochRecord[],
  norm: Normalisation,
): Promise<void> {
  const { opts, model } = r;
  const { optimizer, trainer } = r.run;
  const tensors = new Map<string, NamedArray>();
  for (const { name, item } of model.parameters()) tensors.set(name, { shape: [item.value.size], data: await item.value.toArray() });
  for (const { name, item } of model.state()) tensors.set(name, { shape: [item.size], data: await item.toArray() });
  for (const { name, item } of optimizer.stateTensors()) tensors.set(name, { shape: [item.size], data: await item.toArray() });
  const next = epoch + 1 < opts.epochs ? { round, epoch: epoch + 1 } : { round: round + 1, epoch: 0 };
  const hardNow = round + 1 < opts.rounds && epoch + 1 === opts.epochs ? await trainer.mine(r.trainVols, opts.batch) : null;
  if (hardNow) r.sampler.setHardRegions(hardNow);
  const state: CheckpointState = { ...next, step: optimizer.step, history, norm, hard: hardNow ?? [] };
  await writeSafetensors(ckpt, tensors, { state: JSON.stringify(state) });
}
