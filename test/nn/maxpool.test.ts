import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { maxPool3d, maxPool3dBackward } from '../../src/nn/ops/maxpool.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { maxPoolRef, maxPoolBackwardRef, size5 } from './reference-layers.js';
import type { S5 } from './reference.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

/** Distinct values at least 1/(2n) apart in a random order, so no window has a near-tie. */
function distinct(n: number, r: () => number): Float32Array {
  const a = Float32Array.from({ length: n }, (_, i) => (i / n) * 2 - 1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe(`max-pool 2× against float64 (seed ${seed})`, () => {
  const shapes: S5[] = [
    [1, 3, 5, 7, 9],
    [2, 5, 4, 3, 6],
    [1, 2, 2, 2, 2],
    [1, 1, 3, 9, 2],
  ];
  for (const [k, xs] of shapes.entries()) {
    it(`forward, argmax and backward ${JSON.stringify(xs)}`, async () => {
      const r = rng(seed + k);
      const x = uniform(size5(xs), r);
      // Exact ties in some windows: the first maximum wins, as in PyTorch.
      for (let i = 0; i < x.length; i += 11) x[i] = 2;
      const label = `${JSON.stringify(xs)} seed ${seed}`;
      const xt = Tensor.fromArray(gpu, xs, x);
      const { y, argmax } = await maxPool3d(xt);
      const ref = maxPoolRef(x, xs);
      expect(y.shape).toEqual(ref.ys);
      expectClose(await y.toArray(), ref.y, `forward ${label}`, 0, 0);
      const arg = new Uint32Array(await gpu.readback(argmax, y.size * 4));
      expectClose(arg, ref.arg, `argmax ${label}`, 0, 0);
      const dy = uniform(y.size, r);
      const dx = await maxPool3dBackward(Tensor.fromArray(gpu, ref.ys, dy), argmax, xs);
      // Dropped border voxels of odd extents must be written as 0, not left poisoned.
      expectClose(await dx.toArray(), maxPoolBackwardRef(dy, ref.arg, xs), `backward ${label}`, 0, 0);
      gpu.release(argmax);
      for (const t of [xt, y, dx]) t.release();
    });
  }

  it('gradient matches central finite differences (no near-ties)', async () => {
    const r = rng(seed + 50);
    const xs: Shape5 = [1, 3, 5, 4, 5];
    const x = distinct(size5([...xs] as S5), r);
    const forward = async ([xi]: Float32Array[]): Promise<Float32Array> => {
      const { y, argmax } = await maxPool3d(Tensor.fromArray(gpu, xs, xi!));
      gpu.release(argmax);
      return y.toArray();
    };
    const { y, argmax } = await maxPool3d(Tensor.fromArray(gpu, xs, x));
    const up = uniform(y.size, r);
    const dx = await maxPool3dBackward(Tensor.fromArray(gpu, y.shape, up), argmax, xs);
    await gradCheck({
      label: `maxpool seed ${seed}`,
      inputs: [x],
      forward,
      upstream: up,
      analytic: [await dx.toArray()],
      rand: r,
      samples: 24,
      eps: 1e-3,
    });
  });

  it('rejects a tensor split over several bindings with a clear error', async () => {
    const split = Tensor.fromArray(gpu, [1, 2, 4, 4, 4], new Float32Array(128), 2 * 16 * 4);
    await expect(maxPool3d(split)).rejects.toThrow(/split over 4 bindings/);
  });

  it('rejects extents below 2', async () => {
    await expect(maxPool3d(Tensor.fromArray(gpu, [1, 1, 1, 4, 4], new Float32Array(16)))).rejects.toThrow(/below 2/);
  });
});
