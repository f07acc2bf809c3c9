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
    const y = await conv3d(xt, Tensor.fromArray(gpu, [cout, 2, 3, 3, 3], w), Tensor.fromArray(gpu, [1, 1, 1, 1, cout], b), {
      kernel: 3,
      stride: 1,
      padding: 1,
    });
    expect(y.isSplit).toBe(true);
    const got = await y.toArray();
    const [, , D, H, W] = xs;
    const direct = (co: number, z: number, yy: number, xx: number): number => {
      let s = b[co]!;
      for (let ci = 0; ci < 2; ci++)
        for (let kd = 0; kd < 3; kd++)
          for (let kh = 0; kh < 3; kh++)
            for (let kw = 0; kw < 3; kw++) {
              const iz = z - 1 + kd,
                iy = yy - 1 + kh,
                ix = xx - 1 + kw;
              if (iz < 0 || iy < 0 || ix < 0 || iz >= D || iy >= H || ix >= W) continue;
              s += x[((ci * D + iz) * H + iy) * W + ix]! * w[(((co * 2 + ci) * 3 + kd) * 3 + kh) * 3 + kw]!;
            }
      return s;
    };
    // Every depth (slab seams included) at random (co, y, x), and random voxels anywhere; NaN fails.
    let checked = 0;
    for (let z = 0; z < D; z++) {
      for (let k = 0; k < 40; k++) {
        const co = Math.floor(r() * cout),
          yy = k < 4 ? [0, H - 1, 1, 7][k]! : Math.floor(r() * H),
          xx = Math.floor(r() * W);
        const v = got[((co * D + z) * H + yy) * W + xx]!;
        const want = direct(co, z, yy, xx);
        if (!(Math.abs(v - want) <= 1e-4 * (1 + Math.abs(want))))
          throw new Error(`y[${co},${z},${yy},${xx}] = ${v}, want ${want} (seed ${seed})`);
        checked++;
      }
    }
    expect(checked).toBe(D * 40);
    xt.release();
    y.release();
  });
});

describe(`ops on tensors split over bindings go sample by sample (seed ${seed})`, () => {
  it('max-pool forward/backward, conv weight and bias gradients equal the unsplit results', async () => {
    const { maxPool3d, maxPool3dBackward } = await import('../../src/nn/ops/maxpool.js');
    const { conv3dBackwardWeight, conv3dBackwardBias } = await import('../../src/nn/ops/conv3d.js');
    const r = rng(seed ^ 0x77);
    const xs: Shape5 = [3, 5, 6, 9, 10];
    const x = uniform(
      xs.reduce((a, b) => a * b),
      r,
    );
    const piece = 10 * 9 * 4 * 7; // 7 planes a piece: samples straddle pieces
    const whole = Tensor.fromArray(gpu, xs, x);
    const split = Tensor.fromArray(gpu, xs, x, piece);
    expect(split.pieces.length).toBeGreaterThan(3);
    const a = await maxPool3d(whole);
    const b = await maxPool3d(split);
    expect([...(await b.y.toArray())]).toEqual([...(await a.y.toArray())]);
    const dyPool = uniform(a.y.size, r);
    const da = await maxPool3dBackward(Tensor.fromArray(gpu, a.y.shape, dyPool), a.argmax, xs);
    const db = await maxPool3dBackward(Tensor.fromArray(gpu, a.y.shape, dyPool, 3 * 4 * 5 * 4), b.argmax, xs);
    expect([...(await db.toArray())]).toEqual([...(await da.toArray())]);

    const g = { kernel: 3, stride: 1, padding: 1 };
    const dy = uniform(3 * 4 * 6 * 9 * 10, r);
    const ys: Shape5 = [3, 4, 6, 9, 10];
    const dwA = Tensor.empty(gpu, [4, 5, 3, 3, 3]);
    const dwB = Tensor.empty(gpu, [4, 5, 3, 3, 3]);
    await conv3dBackwardWeight(whole, Tensor.fromArray(gpu, ys, dy), dwA, g);
    await conv3dBackwardWeight(split, Tensor.fromArray(gpu, ys, dy, piece), dwB, g);
    const wa = await dwA.toArray();
    const wb = await dwB.toArray();
    for (let i = 0; i < wa.length; i++) expect(Math.abs(wa[i]! - wb[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(wa[i]!)));
    const dbA = Tensor.empty(gpu, [1, 1, 1, 1, 4]);
    const dbB = Tensor.empty(gpu, [1, 1, 1, 1, 4]);
    await conv3dBackwardBias(Tensor.fromArray(gpu, ys, dy), dbA);
    await conv3dBackwardBias(Tensor.fromArray(gpu, ys, dy, piece), dbB);
    const ba = await dbA.toArray();
    const bb = await dbB.toArray();
    for (let i = 0; i < 4; i++) expect(Math.abs(ba[i]! - bb[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(ba[i]!)));
  });
});
