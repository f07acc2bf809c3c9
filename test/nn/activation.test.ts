import { describe, it, beforeAll } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { relu, reluBackward, sigmoid, sigmoidBackward } from '../../src/nn/ops/activation.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { sigmoidRef } from './reference-train.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();
const size = (s: Shape5): number => s.reduce((a, b) => a * b, 1);

describe(`ReLU and sigmoid against float64 (seed ${seed})`, () => {
  const shapes: Shape5[] = [
    [2, 3, 5, 7, 9],
    [1, 5, 3, 1, 13],
    // Whole vec4s, pieces included: the four-at-a-time entries.
    [2, 3, 5, 4, 6],
  ];
  for (const [k, s] of shapes.entries()) {
    for (const split of [false, true]) {
      it(`forward and backward ${JSON.stringify(s)}${split ? ', split into pieces of 2 planes' : ''}`, async () => {
        const r = rng(seed + k);
        // Large logits too: sigmoid must stay finite and exact at ±30.
        const x = uniform(size(s), r, -30, 30);
        for (let i = 0; i < x.length; i += 3) x[i] = x[i]! / 30;
        const dy = uniform(size(s), r);
        const piece = split ? 2 * s[3] * s[4] * 4 : undefined;
        const xt = Tensor.fromArray(gpu, s, x, piece);
        const dyt = Tensor.fromArray(gpu, s, dy, piece);
        if (split && xt.pieces.length < 3) throw new Error('test setup: expected split tensors');
        const label = `${JSON.stringify(s)} split ${split} seed ${seed}`;

        const yr = await relu(xt);
        expectClose(
          await yr.toArray(),
          Array.from(x, (v) => Math.max(v, 0)),
          `relu ${label}`,
          0,
          0,
        );
        const dxr = await reluBackward(yr, dyt);
        expectClose(
          await dxr.toArray(),
          Array.from(x, (v, i) => (v > 0 ? dy[i]! : 0)),
          `relu backward ${label}`,
          0,
          0,
        );

        const ys = await sigmoid(xt);
        const want = Array.from(x, sigmoidRef);
        expectClose(await ys.toArray(), want, `sigmoid ${label}`, 1e-7, 1e-6);
        const dxs = await sigmoidBackward(ys, dyt);
        // From the saved f32 output, as the kernel computes it.
        expectClose(
          await dxs.toArray(),
          Array.from(want, (v, i) => dy[i]! * v * (1 - v)),
          `sigmoid backward ${label}`,
          1e-7,
          1e-5,
        );
        for (const t of [xt, dyt, yr, dxr, ys, dxs]) t.release();
      });
    }
  }

  it('gradients match central finite differences', async () => {
    const r = rng(seed + 99);
    const s: Shape5 = [1, 3, 3, 4, 5];
    // Keep ReLU inputs away from its kink.
    const x = uniform(size(s), r).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
    const up = uniform(size(s), r);
    for (const [name, fwd, bwd] of [
      ['relu', relu, reluBackward],
      ['sigmoid', sigmoid, sigmoidBackward],
    ] as const) {
      const forward = async ([xi]: Float32Array[]): Promise<Float32Array> => {
        const t = Tensor.fromArray(gpu, s, xi!);
        const y = await fwd(t);
        const out = await y.toArray();
        t.release();
        y.release();
        return out;
      };
      const y = await fwd(Tensor.fromArray(gpu, s, x));
      const dx = await bwd(y, Tensor.fromArray(gpu, s, up));
      await gradCheck({ label: `${name} seed ${seed}`, inputs: [x], forward, upstream: up, analytic: [await dx.toArray()], rand: r });
    }
  });
});
