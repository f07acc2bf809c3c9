import type { Example } from '../nn/train/examples.js';
import type { Optimizer } from '../nn/train/optimizer.js';
import type { Trainer } from '../nn/train/trainer.js';
import type { TrainOptions } from './train.js';

/** What an epoch's steps measured: mean loss and loss parts, steps run, wall time of the steps. */
export interface EpochSteps {
  loss: number;
  parts: Record<string, number>;
  steps: number;
  seconds: number;
}

/**
 * An epoch's training steps (stopped early by `opts.signal`), then batch-norm calibration on
 * un-augmented examples. `draw(forTraining)` reads one example (augmented, when training asks for
 * it, only for a step); whole-mask and stroke training differ only in where it comes from.
 * `prepare` may rewrite a training batch's targets before its step. Null when no step ran.
 */
export async function runEpochSteps(
  opts: TrainOptions,
  optimizer: Optimizer,
  trainer: Trainer,
  lrAt: (step: number) => number,
  epoch: number,
  label: string,
  draw: (forTraining: boolean) => Promise<Example>,
  prepare?: (batch: Example[]) => Promise<void>,
): Promise<EpochSteps | null> {
  const t0 = performance.now();
  const batch = (forTraining: boolean): Promise<Example[]> => Promise.all(Array.from({ length: opts.batch }, () => draw(forTraining)));
  opts.progress.start(opts.stepsPerEpoch * opts.batch, 'patches', label);
  let lossSum = 0;
  let steps = 0;
  const partSum: Record<string, number> = {};
  for (let s = 0; s < opts.stepsPerEpoch && !opts.signal?.aborted; s++) {
    const ex = await batch(true);
    await prepare?.(ex);
    optimizer.config.lr = lrAt(optimizer.step);
    const { loss, parts } = await trainer.step(ex);
    lossSum += loss;
    steps++;
    for (const [k, v] of Object.entries(parts)) partSum[k] = (partSum[k] ?? 0) + v;
    opts.progress.advance(opts.batch);
    opts.onStep?.({ epoch, step: optimizer.step, loss, seconds: (performance.now() - t0) / 1000 });
  }
  opts.progress.done();
  if (steps === 0) return null;
  const seconds = (performance.now() - t0) / 1000;
  if (opts.calibrationBatches > 0) {
    const calib = [];
    for (let b = 0; b < opts.calibrationBatches; b++) calib.push(await batch(false));
    await trainer.calibrateBatchNorm(calib);
  }
  return {
    loss: lossSum / steps,
    parts: Object.fromEntries(Object.entries(partSum).map(([k, v]) => [k, v / steps])),
    steps,
    seconds,
  };
}
