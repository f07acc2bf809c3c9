import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { rmspropState, rmspropStep } from '../../src/nn/ops/rmsprop.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { rmspropRef } from './reference-train.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

describe(`RMSprop against PyTorch's update rule in float64 (seed ${seed})`, () => {
  const cases = [
    // The DESIGN's mlmr preset.
    { lr: 2.5e-4, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false },
    { lr: 1e-2, alpha: 0.9, eps: 1e-6, weightDecay: 1e-2, momentum: 0.9, centered: false },
    { lr: 1e-2, alpha: 0.95, eps: 1e-8, weightDecay: 0, momentum: 0, centered: true },
    { lr: 5e-3, alpha: 0.99, eps: 1e-8, weightDecay: 5e-3, momentum: 0.5, centered: true },
  ];
  for (const [k, o] of cases.entries()) {
    it(`6 steps ${JSON.stringify(o)}, parameter split into pieces`, async () => {
      const r = rng(seed + k);
      const s: Shape5 = [3, 5, 3, 3, 3];
      const n = 405;
      const p0 = uniform(n, r);
      const param = Tensor.fromArray(gpu, s, p0, 11 * 9 * 4);
      const state = await rmspropState(param, o);
      expect(state.momentum === null).toBe(o.momentum === 0);
      expect(state.gradAvg === null).toBe(!o.centered);
      const p = Float64Array.from(p0);
      const sq = new Float64Array(n);
      const buf = new Float64Array(n);
      const gavg = new Float64Array(n);
      for (let step = 1; step <= 6; step++) {
        const g = uniform(n, r).map((x, i) => (i % 7 === 0 ? x * 1e-3 : x));
        const gt = Tensor.fromArray(gpu, s, g);
        await rmspropStep(param, gt, state, o);
        rmspropRef(p, g, sq, buf, gavg, o);
        gt.release();
      }
      const label = `${JSON.stringify(o)} seed ${seed}`;
      expectClose(await param.toArray(), p, `param ${label}`, 1e-6, 1e-5);
      expectClose(await state.square.toArray(), sq, `square avg ${label}`, 1e-9, 1e-5);
      if (state.momentum) expectClose(await state.momentum.toArray(), buf, `momentum ${label}`, 1e-5, 1e-4);
      if (state.gradAvg) expectClose(await state.gradAvg.toArray(), gavg, `grad avg ${label}`, 1e-7, 1e-5);
    });
  }

  it('rejects momentum without a momentum buffer', async () => {
    const t = Tensor.fromArray(gpu, [1, 1, 1, 1, 2], new Float32Array(2));
    await expect(rmspropStep(t, t, await rmspropState(t), { lr: 1, momentum: 0.9 })).rejects.toThrow(/momentum/);
  });
});
