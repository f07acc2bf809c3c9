import { type EpochRecord, train } from './train.js';
import { SilentProgress } from './progress.js';

/**
 * Fine-tuning on a scan's annotations for `rhizoct view`'s Train button: `train()` with
 * `annotations: true` (the loss on painted voxels only, strokes held out for validation, the best
 * model by held-out Dice saved, early stop), from the base model, stopped by a wall-clock budget.
 * Settings are those of `rhizoct train --annotations` by default, except shorter epochs so the
 * page sees progress and new strokes join sooner.
 */

export interface TrainUpdate {
  epoch: number;
  step: number;
  loss: number;
  /** Dice on the held-out strokes. */
  valDice: number;
  /** Whether this epoch's model became the saved one. */
  best: boolean;
  validationVoxels: number;
  seconds: number;
}

export interface AnnotationTrainOptions {
  scan: string;
  from: string;
  out: string;
  /** Wall-clock budget. */
  minutes: number;
  /** Total step budget, when given (tests): epochs of `stepsPerEpoch` up to it. */
  steps?: number;
  onStep: (step: number, total: number) => void;
  onEpoch: (u: TrainUpdate) => void;
}

const STEPS_PER_EPOCH = 20;
const MAX_EPOCHS = 1000;

export async function trainOnAnnotations(o: AnnotationTrainOptions): Promise<void> {
  const perEpoch = o.steps !== undefined ? Math.min(STEPS_PER_EPOCH, o.steps) : STEPS_PER_EPOCH;
  const epochs = o.steps !== undefined ? Math.max(1, Math.ceil(o.steps / perEpoch)) : MAX_EPOCHS;
  const total = perEpoch * epochs;
  const t0 = Date.now();
  await train({
    data: [o.scan],
    val: [],
    out: o.out,
    from: o.from,
    optimizer: 'adam',
    lr: 1e-3,
    batch: 2,
    stepsPerEpoch: perEpoch,
    epochs,
    rounds: 1,
    valPatches: 16,
    diceWeight: 0,
    skeletonWeight: 0,
    calibrationBatches: 0,
    augment: true,
    seed: 1,
    resume: false,
    annotations: true,
    signal: AbortSignal.timeout(o.minutes * 60_000),
    command: `rhizoct view (Train): train --annotations --from ${o.from} --data ${o.scan} --out ${o.out}`,
    progress: new SilentProgress(),
    onStep: (s) => o.onStep(s.step, total),
    onEpoch: (e: EpochRecord) =>
      o.onEpoch({
        epoch: e.epoch,
        step: e.step,
        loss: e.loss,
        valDice: e.val.dice,
        best: e.best ?? false,
        validationVoxels: e.validationVoxels ?? 0,
        seconds: (Date.now() - t0) / 1000,
      }),
  });
}
