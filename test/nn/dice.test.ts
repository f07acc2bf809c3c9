import { describe, it, beforeAll } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { diceLoss } from '../../src/nn/ops/dice.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { diceRef } from './reference-train.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();
const size = (s: Shape5): number => s.reduce((a, b) => a * b, 1);

describe(`soft Dice loss against float64 (seed ${seed})`, () => {
  const cases: { s: Shape5; eps: number; scale: number; piece?: number }[] = [
    { s: [2, 1, 9, 11, 13], eps: 1, scale: 1 },
    { s: [1, 3, 5, 3, 7], eps: 1e-3, scale: 0.5 },
    { s: [2, 1, 9, 11, 13], eps: 1, scale: 1, piece: 4 },
  ];
  for (const [k, c] of cases.entries()) {
    it(`${JSON.stringify(c)}: loss and gradient`, async () => {
      const r = rng(seed + k);
      const n = size(c.s);
      const p = uniform(n, r, 0, 1);
      const t = uniform(n, r, 0, 1).map((v) => (v > 0.7 ? 1 : 0));
      const plane = c.s[3] * c.s[4] * 4;
      const pt = Tensor.fromArray(gpu, c.s, p, c.piece && c.piece * plane);
      const tt = Tensor.fromArray(gpu, c.s, t, c.piece && (c.piece + 3) * plane);
      const { loss, grad } = await diceLoss(pt, tt, { eps: c.eps, scale: c.scale });
      const ref = diceRef(p, t, c.eps, c.scale);
      const label = `${JSON.stringify(c)} seed ${seed}`;
      expectClose([loss], [ref.loss], `loss ${label}`, 1e-6, 1e-5);
      expectClose(await grad.toArray(), ref.grad, `grad ${label}`, 1e-9, 1e-5);
      for (const x of [pt, tt, grad]) x.release();
    });
  }

  it('gradient matches central finite differences of the GPU loss', async () => {
    const r = rng(seed + 30);
    const s: Shape5 = [1, 2, 3, 2, 3];
    const p = uniform(36, r, 0, 1);
    const tt = Tensor.fromArray(
      gpu,
      s,
      uniform(36, r, 0, 1).map((v) => (v > 0.5 ? 1 : 0)),
    );
    const forward = async ([pi]: Float32Array[]): Promise<number[]> => [(await diceLoss(Tensor.fromArray(gpu, s, pi!), tt)).loss];
    const { grad } = await diceLoss(Tensor.fromArray(gpu, s, p), tt);
    await gradCheck({
      label: `dice seed ${seed}`,
      inputs: [p],
      forward,
      upstream: [1],
      analytic: [await grad.toArray()],
      rand: r,
      samples: 12,
      atol: 2e-4,
    });
  });
});
