import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../../src/nn/tensor.js';
import { headLosses, PAPER_LOSS } from '../../../src/nn/train/losses.js';
import { testGpu } from '../../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../../helpers/random.js';
import { expectClose } from '../../helpers/compare.js';
import { bceRef } from '../reference-train.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

describe(`head losses with the centreline term against float64 (seed ${seed})`, () => {
  it("adds the fused head's BCE averaged over centreline voxels to the loss and its gradient", async () => {
    const r = rng(seed);
    const s: Shape5 = [2, 1, 6, 7, 5];
    const n = s.reduce((a, b) => a * b);
    const small: Shape5 = [2, 1, 3, 3, 3];
    const m = small.reduce((a, b) => a * b);
    const zf = uniform(n, r, -4, 4);
    const tf = Float32Array.from({ length: n }, () => (r() < 0.4 ? 1 : 0));
    const wk = Float32Array.from(tf, (t) => (t === 1 && r() < 0.5 ? 1 : 0));
    const zl = uniform(m, r, -4, 4);
    const tl = Float32Array.from({ length: m }, () => (r() < 0.4 ? 1 : 0));
    const weights = { ...PAPER_LOSS, skeleton: 0.75 };
    const t = (shape: Shape5, a: Float32Array): Tensor => Tensor.fromArray(gpu, shape, a);
    const { loss, parts, grads } = await headLosses(
      { low: t(small, zl), high: t(s, zf), fused: t(s, zf) },
      { low: t(small, tl), high: t(s, tf), fused: t(s, tf), skeleton: t(s, wk) },
      weights,
    );
    const low = bceRef(zl, tl, null, false, weights.low);
    const high = bceRef(zf, tf, null, false, weights.high);
    const fused = bceRef(zf, tf, null, false, weights.fused);
    const centre = bceRef(zf, tf, wk, true, weights.skeleton);
    expect(Math.abs(parts.skeleton! - centre.loss), `centreline loss ${parts.skeleton} vs ${centre.loss}`).toBeLessThan(
      1e-5 * (1 + centre.loss),
    );
    expect(Math.abs(loss - (low.loss + high.loss + fused.loss + centre.loss))).toBeLessThan(1e-5 * (1 + loss));
    expectClose(
      await grads.fused.toArray(),
      fused.grad.map((g, i) => g + centre.grad[i]!),
      `fused gradient seed ${seed}`,
      1e-6,
      1e-5,
    );
    expectClose(await grads.high.toArray(), high.grad, `high gradient seed ${seed}`, 1e-6, 1e-5);
  });

  it('refuses a centreline weight without centreline targets', async () => {
    const s: Shape5 = [1, 1, 2, 2, 2];
    const z = Tensor.fromArray(gpu, s, new Float32Array(8));
    await expect(headLosses({ low: z, high: z, fused: z }, { low: z, high: z, fused: z }, { ...PAPER_LOSS, skeleton: 1 })).rejects.toThrow(
      /Targets.skeleton/,
    );
  });
});
