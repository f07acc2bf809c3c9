import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { upsample3d, upsample3dBackward, type UpsampleMode } from '../../src/nn/ops/upsample.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { gradCheck } from '../helpers/gradcheck.js';
import {
  size5,
  upsampleNearestRef,
  upsampleNearestBackwardRef,
  upsampleTrilinearRef,
  upsampleTrilinearBackwardRef,
} from './reference-layers.js';
import type { S5 } from './reference.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

const ref = {
  nearest: { fwd: upsampleNearestRef, bwd: upsampleNearestBackwardRef },
  trilinear: { fwd: upsampleTrilinearRef, bwd: upsampleTrilinearBackwardRef },
};

describe(`upsampling against float64 (seed ${seed})`, () => {
  const cases: { xs: S5; f: number }[] = [
    { xs: [1, 3, 3, 5, 4], f: 2 },
    { xs: [2, 2, 1, 3, 2], f: 8 },
    { xs: [1, 5, 2, 1, 3], f: 3 },
    { xs: [1, 1, 2, 2, 2], f: 8 },
  ];
  for (const mode of ['nearest', 'trilinear'] as UpsampleMode[]) {
    for (const [k, { xs, f }] of cases.entries()) {
      it(`${mode} ×${f} ${JSON.stringify(xs)}: forward and backward`, async () => {
        const r = rng(seed + k);
        const x = uniform(size5(xs), r);
        const label = `${mode} ×${f} ${JSON.stringify(xs)} seed ${seed}`;
        const xt = Tensor.fromArray(gpu, xs, x);
        const y = await upsample3d(xt, f, mode);
        const want = ref[mode].fwd(x, xs, f);
        expect(y.shape).toEqual(want.ys);
        expectClose(await y.toArray(), want.y, `forward ${label}`, 1e-6, 1e-5);
        const dy = uniform(y.size, r);
        const dyt = Tensor.fromArray(gpu, want.ys, dy);
        const dx = await upsample3dBackward(dyt, xs, f, mode);
        expect(dx.shape).toEqual(xs);
        expectClose(await dx.toArray(), ref[mode].bwd(dy, xs, f), `backward ${label}`, 1e-5, 1e-5);
        for (const t of [xt, y, dyt, dx]) t.release();
      });
    }
  }

  for (const mode of ['nearest', 'trilinear'] as UpsampleMode[]) {
    it(`${mode} ×2 gradient matches central finite differences`, async () => {
      const r = rng(seed + 77);
      const xs: Shape5 = [1, 2, 3, 2, 3];
      const x = uniform(36, r);
      const forward = async ([xi]: Float32Array[]): Promise<Float32Array> =>
        (await upsample3d(Tensor.fromArray(gpu, xs, xi!), 2, mode)).toArray();
      const up = uniform(36 * 8, r);
      const dx = await upsample3dBackward(Tensor.fromArray(gpu, [1, 2, 6, 4, 6], up), xs, 2, mode);
      await gradCheck({
        label: `${mode} seed ${seed}`,
        inputs: [x],
        forward,
        upstream: up,
        analytic: [await dx.toArray()],
        rand: r,
        samples: 12,
      });
    });
  }
});
