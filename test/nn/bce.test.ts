import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { bceWithLogits } from '../../src/nn/ops/bce.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { bceRef } from './reference-train.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();
const size = (s: Shape5): number => s.reduce((a, b) => a * b, 1);

describe(`BCE with logits against float64 (seed ${seed})`, () => {
  const cases: { s: Shape5; weight: 'none' | 'weight' | 'mask'; normalize: 'count' | 'weight'; scale: number; piece?: number }[] = [
    { s: [2, 1, 9, 11, 13], weight: 'none', normalize: 'count', scale: 1 },
    { s: [1, 3, 5, 7, 9], weight: 'weight', normalize: 'count', scale: 0.5 },
    { s: [1, 1, 7, 5, 3], weight: 'mask', normalize: 'weight', scale: 1 },
    // Split over pieces of 3 planes (logits) and 4 planes (targets, weights, gradient): runs that do not line up.
    { s: [2, 1, 9, 11, 13], weight: 'mask', normalize: 'weight', scale: 2, piece: 3 },
  ];
  for (const [k, c] of cases.entries()) {
    it(`${JSON.stringify(c)}: loss and gradient in one go`, async () => {
      const r = rng(seed + k);
      const n = size(c.s);
      // Logits up to ±60 (must stay finite: the loss is max(z,0) − z·t + log1p(e^−|z|)), soft and hard targets.
      const z = uniform(n, r, -6, 6).map((v, i) => (i % 17 === 0 ? v * 10 : v));
      const t = uniform(n, r, 0, 1).map((v, i) => (i % 3 === 0 ? Math.round(v) : v));
      const w = c.weight === 'none' ? null : uniform(n, r, 0, 2).map((v) => (c.weight === 'mask' ? (v > 0.8 ? 1 : 0) : v));
      const plane = c.s[3] * c.s[4] * 4;
      const zt = Tensor.fromArray(gpu, c.s, z, c.piece && c.piece * plane);
      const tt = Tensor.fromArray(gpu, c.s, t, c.piece && (c.piece + 1) * plane);
      const wt = w ? Tensor.fromArray(gpu, c.s, w, c.piece && (c.piece + 1) * plane) : undefined;
      if (c.piece && zt.pieces.length < 3) throw new Error('test setup: expected split tensors');
      const opts = { normalize: c.normalize, scale: c.scale, ...(wt ? { weight: wt } : {}) };
      const { loss, grad } = await bceWithLogits(zt, tt, opts);
      const ref = bceRef(z, t, w, c.normalize === 'weight', c.scale);
      const label = `${JSON.stringify(c)} seed ${seed}`;
      expectClose([loss], [ref.loss], `loss ${label}`, 1e-6, 1e-5);
      expectClose(await grad.toArray(), ref.grad, `grad ${label}`, 1e-9, 1e-5);
      for (const x of [zt, tt, wt, grad]) x?.release();
    });
  }

  it('an all-zero mask gives loss 0 and gradient 0 (not NaN)', async () => {
    const s: Shape5 = [1, 1, 2, 3, 4];
    const z = Tensor.fromArray(gpu, s, uniform(24, rng(seed)));
    const t = Tensor.fromArray(gpu, s, new Float32Array(24));
    const { loss, grad } = await bceWithLogits(z, t, { weight: t, normalize: 'weight' });
    expect(loss).toBe(0);
    expectClose(await grad.toArray(), new Float64Array(24), 'zero mask', 0, 0);
  });

  it('gradient matches central finite differences of the GPU loss', async () => {
    const r = rng(seed + 30);
    const s: Shape5 = [1, 2, 3, 2, 3];
    const z = uniform(36, r, -3, 3);
    const t = uniform(36, r, 0, 1);
    const w = uniform(36, r, 0, 2);
    const tt = Tensor.fromArray(gpu, s, t);
    const wt = Tensor.fromArray(gpu, s, w);
    const forward = async ([zi]: Float32Array[]): Promise<number[]> => [
      (await bceWithLogits(Tensor.fromArray(gpu, s, zi!), tt, { weight: wt, normalize: 'weight', scale: 3 })).loss,
    ];
    const { grad } = await bceWithLogits(Tensor.fromArray(gpu, s, z), tt, { weight: wt, normalize: 'weight', scale: 3 });
    await gradCheck({
      label: `bce seed ${seed}`,
      inputs: [z],
      forward,
      upstream: [1],
      analytic: [await grad.toArray()],
      rand: r,
      samples: 12,
      eps: 1e-2,
      atol: 2e-4,
    });
  });
});
