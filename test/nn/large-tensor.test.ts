import { describe, it, expect, beforeAll } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { conv3d } from '../../src/nn/ops/conv3d.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

describe(`a tensor larger than one storage binding (seed ${seed})`, () => {
  it('160 MiB round-trips and convolves correctly across its pieces', async () => {
    const xs: Shape5 = [1, 2, 80, 512, 512]; // 2·80·512·512·4 B = 160 MiB
    const bytes = xs.reduce((a, b) => a * b) * 4;
    expect(bytes).toBe(160 * 2 ** 20);
    expect(bytes).toBeGreaterThan(gpu.maxBinding);
    const r = rng(seed);
    const x = uniform(bytes / 4, r);
    const xt = Tensor.fromArray(gpu, xs, x);
    expect(xt.pieces.length).toBeGreaterThan(1);
    const back = await xt.toArray();
    let mismatches = 0;
    for (let i = 0; i < x.length; i++) if (back[i] !== x[i]) mismatches++;
    expect(mismatches, 'round trip').toBe(0);

    const cout = 3;
    const w = uniform(cout * 2 * 27, r);
    const b = uniform(cout, r);
    const y = await conv3d(xt, Tensor.fromArray(gpu, [cout, 2, 3, 3, 3], w), Tensor.fromArray(gpu, [1, 1, 1, 1, cout], b), { kernel: 3, stride: 1, padding: 1 });
    expect(y.isSplit).toBe(true);
    const got = await y.toArray();
    const [, , D, H, W] = xs;
    const direct = (co: number, z: number, yy: number, xx: number): number => {
      let s = b[co]!;
      for (let ci = 0; ci < 2; ci++)
        for (let kd = 0; kd < 3; kd++)
          for (let kh = 0; kh < 3; kh++)
            for (let kw = 0; kw < 3; kw++) {
              const iz = z - 1 + kd, iy = yy - 1 + kh, ix = xx - 1 + kw;
              if (iz < 0 || iy < 0 || ix < 0 || iz >= D || iy >= H || ix >= W) continue;
              s += x[((ci * D + iz) * H + iy) * W + ix]! * w[(((co * 2 + ci) * 3 + kd) * 3 + kh) * 3 + kw]!;
            }
      return s;
    };
    // Every depth (slab seams included) at random (co, y, x), and random voxels anywhere; NaN fails.
    let checked = 0;
    for (let z = 0; z < D; z++) {
      for (let k = 0; k < 40; k++) {
        const co = Math.floor(r() * cout), yy = k < 4 ? [0, H - 1, 1, 7][k]! : Math.floor(r() * H), xx = Math.floor(r() * W);
        const v = got[((co * D + z) * H + yy) * W + xx]!;
        const want = direct(co, z, yy, xx);
        if (!(Math.abs(v - want) <= 1e-4 * (1 + Math.abs(want)))) throw new Error(`y[${co},${z},${yy},${xx}] = ${v}, want ${want} (seed ${seed})`);
        checked++;
      }
    }
    expect(checked).toBe(D * 40);
    xt.release();
    y.release();
  });
});
