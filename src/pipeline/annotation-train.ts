/**
 * Fine-tuning on a scan's annotations for `rhizoct view`'s Train button: the adapter between the
 * page's job and `train()` (pipeline/train.ts) with its annotation options.
 */

export interface TrainUpdate {
  epoch: number;
  step: number;
  loss: number;
  /** Dice on the held-out strokes. */
  valDice: number;
  seconds: number;
}

export interface AnnotationTrainOptions {
  scan: string;
  from: string;
  out: string;
  /** Wall-clock budget. */
  minutes: number;
  /** Step budget, when given (tests). */
  steps?: number;
  onStep: (step: number, total: number) => void;
  onEpoch: (u: TrainUpdate) => void;
}

export async function trainOnAnnotations(o: AnnotationTrainOptions): Promise<void> {
  throw new Error(`training on annotations is not available in this build (train --annotations); ${o.out} not written`);
}
