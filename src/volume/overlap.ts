/**
 * How well a predicted mask overlaps a true one, from voxel counts: pure arithmetic, used by
 * both the trainer's validation (nn/train) and `rhizoct eval` (pipeline/eval), so the two
 * report the same numbers for the same counts.
 */

/** Confusion counts of a prediction against the truth (true negatives play no part here). */
export interface Confusion {
  tp: number;
  fp: number;
  fn: number;
}

export interface OverlapScores {
  dice: number;
  iou: number;
  precision: number;
  recall: number;
}

/**
 * Dice, IoU, precision and recall. Each is a ratio that is 0/0 when both of the sets it
 * compares are empty; the convention here:
 * - truth and prediction both empty: every score is 1. Nothing was there and nothing was
 *   claimed, which is a perfect answer (a root-free patch or depth band predicted root-free
 *   must not count as a failure, nor drag an average of patches down).
 * - only one empty: 0. Precision with no prediction but roots in the truth, or recall with roots
 *   predicted where the truth has none, would otherwise be 0/0; the answer is wholly wrong, so 0,
 *   as Dice and IoU already are (their numerators are 0 and denominators are not).
 */
export function overlapScores(c: Confusion): OverlapScores {
  if (c.tp + c.fp + c.fn === 0) return { dice: 1, iou: 1, precision: 1, recall: 1 };
  const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);
  return {
    dice: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
    iou: ratio(c.tp, c.tp + c.fp + c.fn),
    precision: ratio(c.tp, c.tp + c.fp),
    recall: ratio(c.tp, c.tp + c.fn),
  };
}
