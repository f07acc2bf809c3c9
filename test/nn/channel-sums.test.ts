import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { channelSums } from '../../src/nn/ops/channel-sums.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

/** Per-channel (Σa, Σa·b) in float64, interleaved as channelSums writes them. */
function sumsRef(shape: Shape5, a: Float32Array, b: Float32Array): Float64Array {
  const [n, c, d, h, w] = shape;
  const spatial = d * h * w;
  const out = new Float64Array(2 * c);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const base = (i * c + k) * spatial;
      for (let s = 0; s < spatial; s++) {
        out[2 * k]! += a[base + s]!;
        out[2 * k + 1]! += a[base + s]! * b[base + s]!;
      }
    }
  }
  return out;
}

function worstRelative(got: Float32Array, want: Float64Array, times: number): { err: number; what: string } {
  let err = 0;
  let at = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - times * want[i]!) / Math.abs(times * want[i]!);
    if (!(e <= err)) [err, at] = [e, i];
  }
  return { err, what: `channel ${at >> 1} ${at & 1 ? 'Σa·b' : 'Σa'}: ${got[at]} vs ${times * want[at]!}` };
}

describe(`channelSums (seed ${seed})`, () => {
  // Values near 1: a running float32 sum rounds every addition at the ulp of the total, so over the
  // 8192 values of one chunk it drifts by ~1e-6 (measured: up to 1.2e-6 on these cases), and a batch
  // norm's variance takes that to its outputs. Pairwise (cascade) sums stay within 1.5e-7 (float32's
  // own rounding of the result is up to 6e-8). Extents that are not multiples of the 4096-value
  // chunks or the 32-value runs; N > 1 so a chunk spans planes.
  const bound = 4e-7;
  const cases: Shape5[] = [
    [2, 2, 32, 32, 32],
    [2, 3, 33, 31, 37],
    [1, 1, 64, 64, 64],
    [3, 5, 7, 5, 3],
    [1, 2, 1, 1, 1],
  ];
  for (const shape of cases) {
    it(`${JSON.stringify(shape)}: within ${bound} of float64, written and accumulated`, async () => {
      const r = rng(seed ^ shape.reduce((x, y) => x * 31 + y, 7));
      const size = shape.reduce((x, y) => x * y, 1);
      const a = uniform(size, r, 0.999, 1.001);
      const b = uniform(size, r, 0.999, 1.001);
      const want = sumsRef(shape, a, b);
      const [ta, tb] = [Tensor.fromArray(gpu, shape, a), Tensor.fromArray(gpu, shape, b)];
      const out = gpu.createBuffer(shape[1] * 8);
      for (const [times, accumulate] of [
        [1, false],
        [2, true],
      ] as const) {
        await channelSums(ta, tb, out, accumulate);
        const { err, what } = worstRelative(await gpu.readF32(out, 2 * shape[1]), want, times);
        expect(err, `${JSON.stringify({ seed, shape, accumulate })}: ${what}`).toBeLessThan(bound);
      }
      gpu.release(out);
      ta.release();
      tb.release();
    });
  }
});
