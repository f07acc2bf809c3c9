import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../../src/nn/tensor.js';
import type { HeadLogits, ModelGeometry, ModelInputs, SegmentationModel } from '../../../src/nn/models/model.js';
import type { Example } from '../../../src/nn/train/examples.js';
import { CONFIDENT, keepBaseAnswers } from '../../../src/nn/train/keep-base.js';
import { testGpu } from '../../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../../helpers/random.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();
const g: ModelGeometry = { highInput: 6, lowInput: 4, lowScale: 2, output: 6, highOutput: 6, lowTarget: 8, lowTargetScale: 2 };
const sizes = { low: 4 ** 3, high: 6 ** 3, fused: 6 ** 3 };

/** A stand-in base model whose heads' logits are fixed arrays; it checks that it gets the batch's inputs. */
function fixedModel(
  logits: Record<'low' | 'high' | 'fused', Float32Array>,
  inputs: { high: Float32Array; low: Float32Array },
): SegmentationModel {
  const shape = (n: number, side: number): Shape5 => [n, 1, side, side, side];
  return {
    arch: 'fixed',
    config: {},
    geometry: g,
    async forward(x: ModelInputs, mode: string): Promise<HeadLogits> {
      expect(mode).toBe('eval');
      expect(Array.from(await x.high.toArray())).toEqual(Array.from(inputs.high));
      expect(Array.from(await x.low!.toArray())).toEqual(Array.from(inputs.low));
      const n = x.high.shape[0];
      return {
        low: Tensor.fromArray(gpu, shape(n, 4), logits.low),
        high: Tensor.fromArray(gpu, shape(n, 6), logits.high),
        fused: Tensor.fromArray(gpu, shape(n, 6), logits.fused),
      };
    },
  } as unknown as SegmentationModel;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

describe(`keeping the base model's confident answers in unpainted voxels (seed ${seed})`, () => {
  it('sets confident unpainted voxels to the base probability, weighted W × painted / confident per head; leaves the rest', async () => {
    const r = rng(seed);
    const batch: Example[] = [0, 1].map(() => {
      const paint = (n: number): { t: Float32Array; w: Float32Array } => {
        const w = Float32Array.from({ length: n }, () => (r() < 0.1 ? (r() < 0.5 ? 1 : 0.5) : 0));
        return { t: Float32Array.from(w, (x) => (x > 0 && r() < 0.5 ? 1 : 0)), w };
      };
      const lo = paint(sizes.low);
      const hi = paint(sizes.high);
      // As the dual model's examples: the fused and high heads share their target and mask arrays.
      return {
        high: uniform(6 ** 3, r, -1, 1),
        low: uniform(4 ** 3, r, -1, 1),
        tLow: lo.t,
        tHigh: hi.t,
        tFused: hi.t,
        wSkeleton: null,
        mask: { low: lo.w, high: hi.w, fused: hi.w },
      };
    });
    const before = batch.map((e) => ({
      tLow: e.tLow.slice(),
      tHigh: e.tHigh.slice(),
      wLow: e.mask!.low.slice(),
      wHigh: e.mask!.high.slice(),
    }));
    // Logits spread over sure and unsure probabilities, some exactly at the confidence bounds' sides.
    const logits = {
      low: uniform(2 * sizes.low, r, -6, 6),
      high: uniform(2 * sizes.high, r, -6, 6),
      fused: uniform(2 * sizes.fused, r, -6, 6),
    };
    const inputs = {
      high: new Float32Array([...batch[0]!.high, ...batch[1]!.high]),
      low: new Float32Array([...batch[0]!.low!, ...batch[1]!.low!]),
    };
    const weight = 0.7;
    await keepBaseAnswers(gpu, fixedModel(logits, inputs), batch, weight);

    for (const head of ['low', 'high', 'fused'] as const) {
      const size = sizes[head];
      const oldT = (b: number): Float32Array => (head === 'low' ? before[b]!.tLow : before[b]!.tHigh);
      const oldW = (b: number): Float32Array => (head === 'low' ? before[b]!.wLow : before[b]!.wHigh);
      let painted = 0;
      let confident = 0;
      for (let b = 0; b < 2; b++)
        for (let v = 0; v < size; v++) {
          const p = sigmoid(logits[head][b * size + v]!);
          if (oldW(b)[v]! > 0) painted += oldW(b)[v]!;
          else if (p <= CONFIDENT || p >= 1 - CONFIDENT) confident++;
        }
      expect(painted).toBeGreaterThan(0);
      expect(confident).toBeGreaterThan(0);
      const w = (weight * painted) / confident;
      for (let b = 0; b < 2; b++) {
        const e = batch[b]!;
        const t = head === 'low' ? e.tLow : head === 'high' ? e.tHigh : e.tFused;
        const m = e.mask![head];
        for (let v = 0; v < size; v++) {
          const p = sigmoid(logits[head][b * size + v]!);
          const where = `${head} example ${b} voxel ${v} (p ${p.toFixed(3)}, seed ${seed})`;
          if (oldW(b)[v]! > 0) {
            expect(t[v], where).toBe(oldT(b)[v]);
            expect(m[v], where).toBe(oldW(b)[v]);
          } else if (p <= CONFIDENT || p >= 1 - CONFIDENT) {
            expect(Math.abs(t[v]! - p), where).toBeLessThan(1e-6);
            expect(Math.abs(m[v]! - w), where).toBeLessThan(1e-6 * w);
          } else {
            expect(m[v], where).toBe(0);
          }
        }
      }
    }
    // The high and fused heads were given different base answers, so they no longer share arrays.
    expect(batch[0]!.tFused).not.toBe(batch[0]!.tHigh);
  });

  it('changes nothing at weight 0, nor in a head with no painted voxel', async () => {
    const e: Example = {
      high: new Float32Array(6 ** 3),
      low: new Float32Array(4 ** 3),
      tLow: new Float32Array(sizes.low),
      tHigh: new Float32Array(sizes.high),
      tFused: new Float32Array(sizes.high),
      wSkeleton: null,
      mask: { low: new Float32Array(sizes.low), high: new Float32Array(sizes.high), fused: new Float32Array(sizes.high) },
    };
    e.mask!.high[3] = 1;
    e.mask!.fused = e.mask!.high;
    const sure = {
      low: new Float32Array(sizes.low).fill(-8),
      high: new Float32Array(sizes.high).fill(8),
      fused: new Float32Array(sizes.high).fill(8),
    };
    const model = fixedModel(sure, { high: e.high, low: e.low! });
    const lowMask = e.mask!.low;
    await keepBaseAnswers(gpu, model, [e], 0);
    expect(e.mask!.high.reduce((a, b) => a + b, 0)).toBe(1);
    await keepBaseAnswers(gpu, model, [e], 1);
    expect(e.mask!.low).toBe(lowMask);
    expect(e.mask!.low.every((x) => x === 0)).toBe(true);
    expect(e.tHigh[0]).toBeCloseTo(sigmoid(8), 6);
    expect(e.mask!.high[0]).toBeCloseTo(1 / (sizes.high - 1), 9);
    expect(e.mask!.high[3]).toBe(1);
  });

  it('refuses examples without annotation masks', async () => {
    const e = {
      high: new Float32Array(6 ** 3),
      low: new Float32Array(4 ** 3),
      tLow: new Float32Array(64),
      tHigh: new Float32Array(216),
      tFused: new Float32Array(216),
      wSkeleton: null,
    };
    await expect(keepBaseAnswers(gpu, {} as SegmentationModel, [e], 1)).rejects.toThrow(/annotation masks/);
  });
});
