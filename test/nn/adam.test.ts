import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { adamState, adamStep } from '../../src/nn/ops/adam.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { adamRef } from './reference-train.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

describe(`Adam against PyTorch's update rule in float64 (seed ${seed})`, () => {
  const cases = [
    { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false },
    { lr: 3e-2, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 1e-2, decoupled: false },
    { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled: true },
  ];
  for (const [k, o] of cases.entries()) {
    it(`6 steps ${JSON.stringify(o)}, parameter split into pieces`, async () => {
      const r = rng(seed + k);
      const s: Shape5 = [5, 3, 3, 3, 3];
      const n = 405;
      const p0 = uniform(n, r);
      const param = Tensor.fromArray(gpu, s, p0, 7 * 9 * 4);
      const state = await adamState(param);
      const p = Float64Array.from(p0);
      const m = new Float64Array(n);
      const v = new Float64Array(n);
      for (let step = 1; step <= 6; step++) {
        // Gradients of mixed scale, some tiny, so bias correction and eps both matter.
        const g = uniform(n, r).map((x, i) => (i % 5 === 0 ? x * 1e-4 : x));
        const gt = Tensor.fromArray(gpu, s, g);
        await adamStep(param, gt, state, step, o);
        adamRef(p, g, m, v, step, o);
        gt.release();
      }
      const label = `${JSON.stringify(o)} seed ${seed}`;
      expectClose(await param.toArray(), p, `param ${label}`, 1e-6, 1e-5);
      expectClose(await state.m.toArray(), m, `m ${label}`, 1e-7, 1e-5);
      expectClose(await state.v.toArray(), v, `v ${label}`, 1e-9, 1e-5);
    });
  }

  it('rejects step 0', async () => {
    const t = Tensor.fromArray(gpu, [1, 1, 1, 1, 2], new Float32Array(2));
    await expect(adamStep(t, t, await adamState(t), 0, { lr: 1 })).rejects.toThrow(/step 0/);
  });
});
