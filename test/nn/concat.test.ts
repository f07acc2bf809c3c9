import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor } from '../../src/nn/tensor.js';
import { concatChannels, concatChannelsBackward } from '../../src/nn/ops/concat.js';
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

function concatRef(parts: Float32Array[], shapes: S5[]): { y: Float64Array; ys: S5 } {
  const c = shapes.reduce((s, p) => s + p[1], 0);
  const ys: S5 = [shapes[0]![0], c, shapes[0]![2], shapes[0]![3], shapes[0]![4]];
  const y = new Float64Array(size5(ys));
  let c0 = 0;
  parts.forEach((p, k) => {
    regionCopyRef(p, shapes[k]!, y, ys, shapes[k]![1], 0, c0, [0, 0, 0]);
    c0 += shapes[k]![1];
  });
  return { y, ys };
}

describe(`channel concat against float64 (seed ${seed})`, () => {
  const cases: number[][] = [[3, 5], [1, 2, 7], [6]];
  for (const [k, channels] of cases.entries()) {
    it(`channels ${JSON.stringify(channels)}: forward and backward`, async () => {
      const r = rng(seed + k);
      const [n, d, h, w] = [2, 3, 5, 7];
      const shapes = channels.map((c): S5 => [n, c, d, h, w]);
      const parts = shapes.map((s) => uniform(size5(s), r));
      const ts = parts.map((p, i) => Tensor.fromArray(gpu, shapes[i]!, p));
      const y = await concatChannels(ts);
      const ref = concatRef(parts, shapes);
      expect(y.shape).toEqual(ref.ys);
      expectClose(await y.toArray(), ref.y, `concat ${JSON.stringify(channels)} seed ${seed}`, 0, 0);
      const dy = uniform(y.size, r);
      const grads = await concatChannelsBackward(Tensor.fromArray(gpu, ref.ys, dy), channels);
      let c0 = 0;
      for (const [i, g] of grads.entries()) {
        const want = new Float64Array(size5(shapes[i]!));
        regionCopyRef(dy, ref.ys, want, shapes[i]!, channels[i]!, c0, 0, [0, 0, 0]);
        expectClose(await g.toArray(), want, `concat backward part ${i} ${JSON.stringify(channels)} seed ${seed}`, 0, 0);
        c0 += channels[i]!;
      }
    });
  }

  it('gradient matches central finite differences', async () => {
    const r = rng(seed + 9);
    const sa: S5 = [1, 2, 2, 3, 2];
    const sb: S5 = [1, 3, 2, 3, 2];
    const a = uniform(size5(sa), r);
    const b = uniform(size5(sb), r);
    const forward = async ([ai, bi]: Float32Array[]): Promise<Float32Array> =>
      (await concatChannels([Tensor.fromArray(gpu, sa, ai!), Tensor.fromArray(gpu, sb, bi!)])).toArray();
    const up = uniform(a.length + b.length, r);
    const [da, db] = await concatChannelsBackward(Tensor.fromArray(gpu, [1, 5, 2, 3, 2], up), [2, 3]);
    await gradCheck({
      label: `concat seed ${seed}`,
      inputs: [a, b],
      forward,
      upstream: up,
      analytic: [await da!.toArray(), await db!.toArray()],
      rand: r,
    });
  });

  it('rejects parts that differ outside the channel axis', async () => {
    const a = Tensor.fromArray(gpu, [1, 1, 2, 2, 2], new Float32Array(8));
    const b = Tensor.fromArray(gpu, [1, 1, 2, 2, 3], new Float32Array(12));
    await expect(concatChannels([a, b])).rejects.toThrow(/outside the channel axis/);
  });
});
