import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor } from '../../src/nn/tensor.js';
import { crop3d, crop3dBackward, centreCrop3d, centreCrop3dBackward, centreOffset } from '../../src/nn/ops/crop.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { regionCopyRef, size5 } from './reference-layers.js';
import type { S5 } from './reference.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

describe(`crop against float64 (seed ${seed})`, () => {
  const cases: { xs: S5; offset: [number, number, number]; size: [number, number, number] }[] = [
    { xs: [2, 3, 9, 7, 8], offset: [2, 1, 3], size: [5, 4, 4] },
    { xs: [1, 5, 5, 6, 11], offset: [0, 0, 0], size: [5, 6, 11] },
    { xs: [1, 2, 6, 5, 7], offset: [5, 0, 6], size: [1, 5, 1] },
  ];
  for (const [k, { xs, offset, size }] of cases.entries()) {
    it(`window ${JSON.stringify(offset)}+${JSON.stringify(size)} of ${JSON.stringify(xs)}: forward and backward`, async () => {
      const r = rng(seed + k);
      const x = uniform(size5(xs), r);
      const ys: S5 = [xs[0], xs[1], ...size];
      const label = `${JSON.stringify({ xs, offset, size })} seed ${seed}`;
      const y = await crop3d(Tensor.fromArray(gpu, xs, x), offset, size);
      const want = new Float64Array(size5(ys));
      regionCopyRef(x, xs, want, ys, xs[1], 0, 0, offset);
      expectClose(await y.toArray(), want, `crop ${label}`, 0, 0);
      const dy = uniform(y.size, r);
      const dx = await crop3dBackward(Tensor.fromArray(gpu, ys, dy), xs, offset);
      const dxWant = new Float64Array(size5(xs));
      regionCopyRef(dy, ys, dxWant, xs, xs[1], 0, 0, [-offset[0], -offset[1], -offset[2]]);
      expectClose(await dx.toArray(), dxWant, `crop backward ${label}`, 0, 0);
    });
  }

  it('centre crop uses floor((extent − size)/2) and its backward zero-pads', async () => {
    expect(centreOffset([128, 17, 9], [16, 16, 4])).toEqual([56, 0, 2]);
    const r = rng(seed + 5);
    const xs: S5 = [1, 3, 7, 6, 9];
    const x = uniform(size5(xs), r);
    const y = await centreCrop3d(Tensor.fromArray(gpu, xs, x), [3, 3, 4]);
    const want = new Float64Array(size5([1, 3, 3, 3, 4]));
    regionCopyRef(x, xs, want, [1, 3, 3, 3, 4], 3, 0, 0, [2, 1, 2]);
    expectClose(await y.toArray(), want, `centre crop seed ${seed}`, 0, 0);
    const dx = await centreCrop3dBackward(y, xs);
    const back = new Float64Array(size5(xs));
    regionCopyRef(want, [1, 3, 3, 3, 4], back, xs, 3, 0, 0, [-2, -1, -2]);
    expectClose(await dx.toArray(), back, `centre crop backward seed ${seed}`, 0, 0);
  });

  it('gradient matches central finite differences', async () => {
    const r = rng(seed + 6);
    const xs: S5 = [1, 2, 4, 3, 5];
    const x = uniform(size5(xs), r);
    const forward = async ([xi]: Float32Array[]): Promise<Float32Array> =>
      (await crop3d(Tensor.fromArray(gpu, xs, xi!), [1, 1, 2], [2, 2, 2])).toArray();
    const up = uniform(16, r);
    const dx = await crop3dBackward(Tensor.fromArray(gpu, [1, 2, 2, 2, 2], up), xs, [1, 1, 2]);
    await gradCheck({
      label: `crop seed ${seed}`,
      inputs: [x],
      forward,
      upstream: up,
      analytic: [await dx.toArray()],
      rand: r,
      samples: 24,
    });
  });

  it('rejects windows that do not fit', async () => {
    const x = Tensor.fromArray(gpu, [1, 1, 4, 4, 4], new Float32Array(64));
    await expect(crop3d(x, [1, 0, 0], [4, 4, 4])).rejects.toThrow(/does not fit/);
  });
});
