import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register as registerConvert } from '../../src/cli/commands/convert.js';
import { register as registerInfo } from '../../src/cli/commands/info.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { isVolumeIoError } from '../../src/io/errors.js';
import { NiftiSink } from '../../src/io/nifti-write.js';
import { encodeTiffSlice } from '../../src/io/tiff-write.js';
import type { VolumeMeta, VoxelArray } from '../../src/io/volume.js';
import { openVolume } from '../../src/io/open.js';
import { openZarr } from '../../src/io/zarr-source.js';
import { convertToOmeZarr } from '../../src/pipeline/convert.js';
import { GpuDownsampler } from '../../src/pipeline/downsample.js';
import { volumeInfo } from '../../src/pipeline/info.js';
import type { Progress } from '../../src/pipeline/progress.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng } from '../helpers/random.js';
import { tempDir } from '../io/helpers.js';
import { downsampleOracle } from './downsample-oracle.js';

let dir: string;
let cleanup: () => Promise<void>;
let gpu: Gpu;
let ds: GpuDownsampler;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('rhizoct-convert-'));
  gpu = await testGpu();
  ds = await GpuDownsampler.create(gpu);
});
afterAll(() => cleanup());

const seed = freshSeed();

async function writeNifti(path: string, meta: VolumeMeta, data: VoxelArray): Promise<void> {
  const s = await NiftiSink.create(path, meta, { overwrite: true });
  await s.writeBox(makeBox([0, 0, 0], meta.shape), data);
  await s.finalize();
}

/** A Progress that records what it was told. */
function recorder(): { p: Progress; state: { total: number; advanced: number; unit: string; finished: number } } {
  const state = { total: 0, advanced: 0, unit: '', finished: 0 };
  return {
    state,
    p: {
      start: (t, u) => Object.assign(state, { total: t, unit: u }),
      advance: (n) => {
        state.advanced += n;
      },
      done: () => {
        state.finished++;
      },
    },
  };
}

describe('convert to an OME-Zarr pyramid', () => {
  it(`every level equals the float64 oracle applied level after level, for odd shapes and chunk depths (seed ${seed})`, async () => {
    const r = rng(seed);
    const cases: { shape: Vec3; chunk: Vec3; zarrFormat: 2 | 3 }[] = [
      { shape: [131, 133, 135], chunk: [16, 32, 32], zarrFormat: 2 },
      { shape: [133, 140, 129], chunk: [5, 64, 64], zarrFormat: 3 },
    ];
    for (const [k, c] of cases.entries()) {
      const data = Uint16Array.from({ length: c.shape[0] * c.shape[1] * c.shape[2] }, () => Math.floor(r() * 65536));
      const input = join(dir, `in${k}.nii.gz`);
      await writeNifti(input, { shape: c.shape, dtype: 'uint16', voxelSize: [2, 1, 1], unit: 'micrometer', origin: [5, 6, 7] }, data);
      const out = join(dir, `out${k}.zarr`);
      const rec = recorder();
      const res = await convertToOmeZarr(input, out, {
        chunkShape: c.chunk,
        zarrFormat: c.zarrFormat,
        compression: 'zstd',
        downsampler: ds,
        progress: rec.p,
      });
      const label = JSON.stringify({ seed, ...c });
      expect(res.levels.length, label).toBe(3);
      expect(rec.state, label).toEqual({ total: data.length, advanced: data.length, unit: 'voxels', finished: 1 });
      let want: ArrayLike<number> = data;
      let shape = c.shape;
      for (let l = 0; l < 3; l++) {
        const v = await openZarr(out, { level: l, missingChunks: 'error' });
        expect(v.shape, label).toEqual(shape);
        expect(v.voxelSize, label).toEqual([2 * 2 ** l, 2 ** l, 2 ** l]);
        expect(v.origin, label).toEqual([5 + ((2 ** l - 1) / 2) * 2, 6 + (2 ** l - 1) / 2, 7 + (2 ** l - 1) / 2]);
        const got = await v.readBox(makeBox([0, 0, 0], shape));
        let bad = -1;
        for (let i = 0; i < got.length; i++)
          if (got[i] !== want[i]) {
            bad = i;
            break;
          }
        expect(bad, `${label} level ${l}: first differing voxel`).toBe(-1);
        want = downsampleOracle(want, shape, 'mean', true);
        shape = [Math.ceil(shape[0] / 2), Math.ceil(shape[1] / 2), Math.ceil(shape[2] / 2)];
      }
    }
  });

  it('converts a TIFF folder, then a mask into labels/roots with mode', async () => {
    const src = join(dir, 'tifs');
    await mkdir(src);
    const shape: Vec3 = [70, 66, 68];
    const plane = shape[1] * shape[2];
    const mask = new Uint8Array(shape[0] * plane);
    for (let z = 0; z < shape[0]; z++) {
      const s = Uint16Array.from({ length: plane }, (_, i) => (z * 31 + i) % 4000);
      await writeFile(join(src, `slice${z}.tif`), encodeTiffSlice(s, shape[2], shape[1], { littleEndian: z % 2 === 0 }));
      for (let i = 0; i < plane; i++) mask[z * plane + i] = i % shape[2] > 30 && i % shape[2] < 36 ? 1 : 0;
    }
    const out = join(dir, 'tifs.zarr');
    const res = await convertToOmeZarr(src, out, { downsampler: ds, voxelSize: [0.1, 0.1, 0.1], unit: 'millimeter' });
    expect(res.levels).toEqual([
      [70, 66, 68],
      [35, 33, 34],
    ]);
    const maskPath = join(dir, 'mask.nii');
    await writeNifti(maskPath, { shape, dtype: 'uint8', voxelSize: [0.1, 0.1, 0.1], unit: 'millimeter', origin: [0, 0, 0] }, mask);
    await convertToOmeZarr(maskPath, out, { label: 'roots', downsampler: ds });
    const img = await openZarr(out);
    expect(img.labels).toEqual(['roots']);
    expect(img.unit).toBe('millimeter');
    const l1 = await openZarr(out, { label: 'roots', level: 1 });
    expect(l1.multiscaleType).toBe('mode');
    const got = await l1.readBox(makeBox([0, 0, 0], l1.shape));
    const want = downsampleOracle(mask, shape, 'mode', true);
    expect(Array.from(got)).toEqual(Array.from(want));

    // Back out to NIfTI for tools that want it, voxel size and values intact.
    const back = join(dir, 'roots.nii.gz');
    await convertToOmeZarr(join(out, 'labels', 'roots'), back);
    const n = await openVolume(back);
    expect(n.voxelSize.map((v) => Number(v.toFixed(6)))).toEqual([0.1, 0.1, 0.1]);
    expect(n.unit).toBe('millimeter');
    expect(Array.from(await n.readBox(makeBox([0, 0, 0], shape)))).toEqual(Array.from(mask));
    await n.close();

    // A label added to a one-level image gets one level too.
    const one = join(dir, 'one.zarr');
    await convertToOmeZarr(src, one, { maxLevels: 1 });
    await convertToOmeZarr(maskPath, one, { label: 'roots', downsampler: ds });
    expect((await openZarr(one, { label: 'roots' })).levels).toHaveLength(1);
  });

  it('a failing input leaves no output and no .partial folder', async () => {
    const src = join(dir, 'broken');
    await mkdir(src);
    for (let z = 0; z < 6; z++) {
      const t = encodeTiffSlice(new Uint8Array(64 * 64).fill(z), 64, 64);
      await writeFile(join(src, `${z}.tif`), z === 4 ? t.subarray(0, 1000) : t);
    }
    const out = join(dir, 'broken.zarr');
    const err = await convertToOmeZarr(src, out, { downsampler: ds, chunkShape: [2, 64, 64] }).catch((e: unknown) => e);
    expect(isVolumeIoError(err, 'Truncated')).toBe(true);
    expect(String(err)).toContain('4.tif');
    await expect(stat(out)).rejects.toThrow();
    await expect(stat(`${out}.partial`)).rejects.toThrow();
  });

  it('refuses to overwrite unless asked', async () => {
    const p = join(dir, 'small.nii');
    await writeNifti(
      p,
      { shape: [3, 4, 5], dtype: 'float32', voxelSize: [1, 1, 1], unit: '', origin: [0, 0, 0] },
      new Float32Array(60).fill(1.5),
    );
    await convertToOmeZarr(p, join(dir, 'small.zarr'));
    expect(isVolumeIoError(await convertToOmeZarr(p, join(dir, 'small.zarr')).catch((e: unknown) => e), 'OutputExists')).toBe(true);
    await convertToOmeZarr(p, join(dir, 'small.zarr'), { overwrite: true, zarrFormat: 3 });
    expect((await openZarr(join(dir, 'small.zarr'))).zarrFormat).toBe(3);
    expect((await readdir(dir)).filter((n) => n.startsWith('small.zarr.'))).toEqual([]);
  });
});

describe('info', () => {
  it('streams exact statistics for integer volumes', async () => {
    const p = join(dir, 'stats.nii');
    const data = Int16Array.from({ length: 10 * 11 * 12 }, (_, i) => (i % 97) - 40);
    await writeNifti(p, { shape: [10, 11, 12], dtype: 'int16', voxelSize: [1, 1, 1], unit: '', origin: [0, 0, 0] }, data);
    const i = await volumeInfo(p, { slabBytes: 11 * 12 * 2 * 3, bins: 8 });
    const sorted = Array.from(data).sort((a, b) => a - b);
    const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    expect(i.stats!.min).toBe(-40);
    expect(i.stats!.max).toBe(56);
    expect(i.stats!.mean).toBeCloseTo(mean, 10);
    expect(i.stats!.std).toBeCloseTo(Math.sqrt(sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / sorted.length), 8);
    expect(i.stats!.p50).toBe(sorted[Math.ceil(0.5 * sorted.length) - 1]);
    expect(i.stats!.histogram.counts.reduce((a, b) => a + b, 0)).toBe(data.length);
    expect(i.stats!.histogram.edges[0]).toBe(-40);
  });

  it('float volumes: range, mean, and a histogram that counts every voxel', async () => {
    const p = join(dir, 'fstats.nii.gz');
    const data = Float32Array.from({ length: 8 * 9 * 10 }, (_, i) => Math.sin(i) * 3);
    await writeNifti(p, { shape: [8, 9, 10], dtype: 'float32', voxelSize: [1, 1, 1], unit: '', origin: [0, 0, 0] }, data);
    const i = await volumeInfo(p);
    expect(i.stats!.min).toBe(Math.min(...data));
    expect(i.stats!.max).toBe(Math.max(...data));
    expect(i.stats!.histogram.counts.reduce((a, b) => a + b, 0)).toBe(data.length);
    expect(Math.abs(i.stats!.p50 - [...data].sort((a, b) => a - b)[359]!)).toBeLessThan(6 / 4096 + 1e-6);
  });
});

describe('the info and convert commands', () => {
  const program = (): Command => {
    const p = new Command().exitOverride();
    registerInfo(p);
    registerConvert(p);
    return p;
  };

  it('info --json prints machine-readable metadata and levels', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await program().parseAsync(['node', 'rhizoct', 'info', join(dir, 'tifs.zarr'), '--json', '--level', '1']);
      const j = JSON.parse(String(log.mock.calls[0]![0]));
      expect(j.format).toBe('ome-zarr');
      expect(j.shape).toEqual([70, 66, 68]);
      expect(j.levels).toHaveLength(2);
      expect(j.labels).toEqual(['roots']);
      expect(j.statsLevel).toBe(1);
      expect(j.stats.count).toBe(35 * 33 * 34);
    } finally {
      log.mockRestore();
    }
  });

  it('bad input rejects with an error naming the file (main.ts turns it into exit code 1)', async () => {
    const bad = join(dir, 'bad.nii');
    await writeFile(bad, new Uint8Array(400));
    await expect(program().parseAsync(['node', 'rhizoct', 'convert', bad, join(dir, 'bad.zarr'), '--quiet'])).rejects.toThrow(
      /bad\.nii: not a NIfTI file/,
    );
    await expect(program().parseAsync(['node', 'rhizoct', 'info', join(dir, 'missing')])).rejects.toThrow(/missing: no such file/);
    await expect(stat(join(dir, 'bad.zarr'))).rejects.toThrow();
  });

  it('rejects malformed options', async () => {
    const p = program();
    p.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => undefined }));
    await expect(p.parseAsync(['node', 'rhizoct', 'convert', 'a', 'b', '--chunk', '0,4'])).rejects.toThrow(/--chunk/);
    await expect(p.parseAsync(['node', 'rhizoct', 'convert', 'a', 'b', '--compression', 'lzma'])).rejects.toThrow(/lzma/);
  });
});
