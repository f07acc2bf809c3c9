import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { add, axpby, accumulate, scaleInPlace } from '../../src/nn/ops/arith.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { gradCheck } from '../helpers/gradcheck.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

describe(`residual add, axpby, accumulate, scale (seed ${seed})`, () => {
  const s: Shape5 = [2, 3, 5, 3, 7];
  const n = s.reduce((a, b) => a * b, 1);
  const plane = s[3] * s[4] * 4;
  // Whole; split alike; split differently (pieces of 2, 3 and 5 planes do not line up).
  for (const pieces of [
    [undefined, undefined, undefined],
    [2, 2, 2],
    [2, 3, 5],
  ] as const) {
    it(`pieces of ${JSON.stringify(pieces)} planes`, async () => {
      const r = rng(seed + (pieces[1] ?? 0));
      const a = uniform(n, r);
      const b = uniform(n, r);
      const at = Tensor.fromArray(gpu, s, a, pieces[0] && pieces[0] * plane);
      const bt = Tensor.fromArray(gpu, s, b, pieces[1] && pieces[1] * plane);
      const label = `pieces ${JSON.stringify(pieces)} seed ${seed}`;
      const sum = await add(at, bt);
      expectClose(
        await sum.toArray(),
        Array.from(a, (v, i) => v + b[i]!),
        `add ${label}`,
        1e-7,
        1e-7,
      );
      const comb = await axpby(0.5, at, -2.25, bt);
      expectClose(
        await comb.toArray(),
        Array.from(a, (v, i) => 0.5 * v - 2.25 * b[i]!),
        `axpby ${label}`,
        1e-6,
        1e-6,
      );

      const acc = Tensor.fromArray(gpu, s, a, pieces[2] && pieces[2] * plane);
      await accumulate(acc, bt);
      expectClose(
        await acc.toArray(),
        Array.from(a, (v, i) => v + b[i]!),
        `accumulate ${label}`,
        1e-7,
        1e-7,
      );
      await accumulate(acc, bt, -0.75);
      expectClose(
        await acc.toArray(),
        Array.from(a, (v, i) => v + 0.25 * b[i]!),
        `axpy ${label}`,
        1e-6,
        1e-6,
      );
      await scaleInPlace(acc, 3);
      expectClose(
        await acc.toArray(),
        Array.from(a, (v, i) => 3 * (v + 0.25 * b[i]!)),
        `scale ${label}`,
        1e-6,
        1e-6,
      );
      for (const t of [at, bt, sum, comb, acc]) t.release();
    });
  }

  it('rejects mismatched shapes and accumulating into itself', async () => {
    const a = Tensor.fromArray(gpu, [1, 1, 1, 2, 3], new Float32Array(6));
    const b = Tensor.fromArray(gpu, [1, 1, 1, 3, 2], new Float32Array(6));
    await expect(add(a, b)).rejects.toThrow(/shapes differ/);
    await expect(accumulate(a, a)).rejects.toThrow(/same tensor/);
  });

  it('axpby gradients match central finite differences', async () => {
    const r = rng(seed + 7);
    const small: Shape5 = [1, 2, 3, 2, 3];
    const m = 36;
    const a = uniform(m, r);
    const b = uniform(m, r);
    const up = uniform(m, r);
    const forward = async ([ai, bi]: Float32Array[]): Promise<Float32Array> =>
      (await axpby(1.5, Tensor.fromArray(gpu, small, ai!), -0.5, Tensor.fromArray(gpu, small, bi!))).toArray();
    // Backward of alpha·a + beta·b: alpha·dy and beta·dy.
    const dy = Tensor.fromArray(gpu, small, up);
    const da = Tensor.fromArray(gpu, small, new Float32Array(m));
    const db = Tensor.fromArray(gpu, small, new Float32Array(m));
    await accumulate(da, dy, 1.5);
    await accumulate(db, dy, -0.5);
    await gradCheck({
      label: `axpby seed ${seed}`,
      inputs: [a, b],
      forward,
      upstream: up,
      analytic: [await da.toArray(), await db.toArray()],
      rand: r,
    });
  });
});
