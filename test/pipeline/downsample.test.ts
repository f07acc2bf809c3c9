import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { allocateVoxels, type DType } from '../../src/io/volume.js';
import { GpuDownsampler, type DownsampleMethod } from '../../src/pipeline/downsample.js';
import type { Vec3 } from '../../src/volume/box.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng } from '../helpers/random.js';
import { downsampleOracle } from './downsample-oracle.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

function randomVolume(dtype: DType, n: number, r: () => number, labels: boolean): ReturnType<typeof allocateVoxels> {
  const a = allocateVoxels(dtype, n);
  for (let i = 0; i < n; i++) {
    if (labels) a[i] = Math.floor(r() * 3);
    else if (dtype === 'uint8') a[i] = Math.floor(r() * 256);
    else if (dtype === 'uint16') a[i] = Math.floor(r() * 65536);
    else if (dtype === 'int16') a[i] = Math.floor(r() * 65536) - 32768;
    else a[i] = (r() - 0.5) * 1e4;
  }
  return a;
}

describe('downsample2x.wgsl against a float64 oracle', () => {
  it(`matches on random shapes, types and methods (seed ${seed})`, async () => {
    const r = rng(seed);
    const ds = await GpuDownsampler.create(gpu);
    const dtypes: DType[] = ['uint8', 'uint16', 'int16', 'float32'];
    const methods: DownsampleMethod[] = ['mean', 'max', 'mode'];
    for (let i = 0; i < 36; i++) {
      const shape: Vec3 = [1 + Math.floor(r() * 9), 1 + Math.floor(r() * 13), 1 + Math.floor(r() * 17)];
      const dtype = dtypes[i % 4]!;
      const method = methods[Math.floor(i / 4) % 3]!;
      const labels = method === 'mode' && r() < 0.7;
      const input = randomVolume(dtype, shape[0] * shape[1] * shape[2], r, labels);
      const got = await ds.downsample(input, shape, method);
      const want = downsampleOracle(input, shape, method, dtype !== 'float32');
      const label = JSON.stringify({ seed, i, shape, dtype, method });
      expect(got.length, label).toBe(want.length);
      for (let k = 0; k < want.length; k++) {
        const w = dtype === 'float32' ? Math.fround(want[k]!) : want[k]!;
        // f32 sums of eight values below 5e3 in magnitude: error under 8·2^-24·4e4/8 ≈ 2.4e-3.
        const tol = dtype === 'float32' ? 3e-3 : 0;
        if (!(Math.abs(got[k]! - w) <= tol)) throw new Error(`${label}: voxel ${k} got ${got[k]} want ${w}`);
      }
    }
  });

  it('splits large volumes into pieces without changing the result', async () => {
    const r = rng(seed + 1);
    // Tiny pieces force both the slab split (depth) and the band split (rows).
    const small = await GpuDownsampler.create(gpu, { pieceBytes: 2 * 37 * 2 * 5 });
    const shape: Vec3 = [7, 23, 37];
    const input = randomVolume('uint16', 7 * 23 * 37, r, false);
    const got = await small.downsample(input, shape, 'mean');
    const want = downsampleOracle(input, shape, 'mean', true);
    expect(Array.from(got)).toEqual(Array.from(want));
  });

  it('covers every voxel when the dispatch folds past 65,535 workgroups', async () => {
    // One invocation per workgroup: 131,072 output words need a folded 2D grid.
    const ds = await GpuDownsampler.create(gpu, { workgroupSize: 1 });
    const nx = 2 * 131_072;
    const shape: Vec3 = [2, 2, nx];
    const input = new Float32Array(4 * nx);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7919) % 1000;
    const got = await ds.downsample(input, shape, 'max');
    const want = downsampleOracle(input, shape, 'max', false);
    let bad = 0;
    for (let x = 0; x < want.length; x++) if (got[x] !== want[x]) bad++;
    expect(bad).toBe(0);
  });
});
