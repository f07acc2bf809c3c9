import { describe, expect, it } from 'vitest';
import { confusion, dice as trainerDice } from '../../src/nn/train/trainer.js';
import { scores as evalScores } from '../../src/pipeline/eval.js';
import { overlapScores } from '../../src/volume/overlap.js';
import { freshSeed, rng } from '../helpers/random.js';

const seed = freshSeed();

describe(`overlap scores (seed ${seed})`, () => {
  it('truth and prediction both empty: Dice, IoU, precision and recall are all 1', () => {
    expect(overlapScores({ tp: 0, fp: 0, fn: 0 })).toEqual({ dice: 1, iou: 1, precision: 1, recall: 1 });
  });

  it('only the prediction empty, or only the truth: every score is 0', () => {
    expect(overlapScores({ tp: 0, fp: 0, fn: 5 })).toEqual({ dice: 0, iou: 0, precision: 0, recall: 0 });
    expect(overlapScores({ tp: 0, fp: 7, fn: 0 })).toEqual({ dice: 0, iou: 0, precision: 0, recall: 0 });
  });

  it('matches the plain definitions on seeded counts where nothing is 0/0', () => {
    const r = rng(seed);
    for (let i = 0; i < 500; i++) {
      const c = { tp: 1 + Math.floor(r() * 1000), fp: Math.floor(r() * 1000), fn: Math.floor(r() * 1000) };
      const s = overlapScores(c);
      const label = JSON.stringify(c);
      expect(s.dice, label).toBeCloseTo((2 * c.tp) / (2 * c.tp + c.fp + c.fn), 12);
      expect(s.iou, label).toBeCloseTo(c.tp / (c.tp + c.fp + c.fn), 12);
      expect(s.precision, label).toBeCloseTo(c.tp / (c.tp + c.fp), 12);
      expect(s.recall, label).toBeCloseTo(c.tp / (c.tp + c.fn), 12);
    }
  });

  it('the trainer and eval give the same numbers for the same counts, empty sets included', () => {
    const r = rng(seed + 1);
    const cases = [
      { tp: 0, fp: 0, fn: 0 },
      { tp: 0, fp: 3, fn: 0 },
      { tp: 0, fp: 0, fn: 3 },
      ...Array.from({ length: 100 }, () => ({
        tp: Math.floor(r() * 3) * Math.floor(r() * 50),
        fp: Math.floor(r() * 2) * Math.floor(r() * 50),
        fn: Math.floor(r() * 2) * Math.floor(r() * 50),
      })),
    ];
    for (const c of cases) {
      const e = evalScores({ ...c, tn: 1000 });
      expect(e, JSON.stringify(c)).toEqual(overlapScores(c));
      expect(trainerDice(c), JSON.stringify(c)).toBe(e.dice);
    }
    // The trainer's counts of an empty patch predicted empty.
    const none = confusion(new Float32Array(27).fill(0.1), new Float32Array(27));
    expect(none).toEqual({ tp: 0, fp: 0, fn: 0 });
    expect(overlapScores(none).recall).toBe(1);
  });
});
