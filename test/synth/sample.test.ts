import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { openZarr } from '../../src/io/zarr-source.js';
import { resolveParams, RSML_NAME, SYNTH_VERSION, type SynthStats } from '../../src/pipeline/synth.js';
import { buildScene } from '../../src/synth/generate.js';
import type { Difficulty } from '../../src/synth/params.js';
import { readRsml } from '../../src/io/rsml.js';
import { SlabRenderer } from '../../src/synth/tiles.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { testGpu } from '../helpers/gpu.js';

/** The bundled sample (see volumes/README.md for the command that made it). */
const SAMPLE = join(fileURLToPath(new URL('../../volumes/synthetic-sample.zarr', import.meta.url)));

interface Recorded {
  version: number;
  seed: number;
  difficulty: Difficulty;
  overrides: string[];
  shape: Vec3;
  voxelSizeMm: Vec3;
  device: string;
  stats: SynthStats;
}

let gpu: Gpu;
let rec: Recorded;
beforeAll(async () => {
  gpu = await testGpu();
  rec = (JSON.parse(await readFile(join(SAMPLE, '.zattrs'), 'utf8')) as { rhizoct: { synth: Recorded } }).rhizoct.synth;
});

describe('bundled sample scan (volumes/synthetic-sample.zarr)', () => {
  it('is a small OME-Zarr scan with its mask and RSML, consistent with each other', async () => {
    expect(rec.version, 'the generator changed: regenerate the sample (volumes/README.md)').toBe(SYNTH_VERSION);
    const img = await openZarr(SAMPLE);
    expect(img.shape).toEqual(rec.shape);
    expect(img.dtype).toBe('uint16');
    expect(img.voxelSize).toEqual(rec.voxelSizeMm);
    expect(img.labels).toEqual(['roots']);
    const mask = await (await openZarr(SAMPLE, { label: 'roots' })).readBox(makeBox([0, 0, 0], rec.shape));
    let n = 0;
    for (let i = 0; i < mask.length; i++) n += mask[i]!;
    expect(n).toBe(rec.stats.maskVoxels);
    const rs = readRsml(await readFile(join(SAMPLE, RSML_NAME), 'utf8'));
    expect(rs.roots.length).toBe(rec.stats.roots);
    const [nz, ny, nx] = rec.shape;
    const [vz, vy, vx] = rec.voxelSizeMm;
    let inView = 0;
    let inMask = 0;
    for (const r of rs.roots) {
      for (const p of r.points) {
        const ix = Math.round(p[0] / vx);
        const iy = Math.round(p[1] / vy);
        const iz = Math.round(p[2] / vz);
        if (ix < 0 || iy < 0 || iz < 0 || ix >= nx || iy >= ny || iz >= nz) continue;
        inView++;
        if (mask[(iz * ny + iy) * nx + ix]) inMask++;
      }
    }
    expect(inView).toBeGreaterThan(100);
    expect(inMask).toBe(inView);
    // Rendered volume, RSML volume and mask volume agree (see the pipeline test for the oracle).
    expect(Math.abs(rec.stats.coverageVolumeMm3 / rec.stats.rsmlVolumeMm3 - 1)).toBeLessThan(0.03);
    expect(Math.abs(rec.stats.maskVolumeMm3 / rec.stats.rsmlVolumeMm3 - 1)).toBeLessThan(0.08);
  });

  it('is what the generator makes from its recorded seed and options', async () => {
    const shape = rec.shape;
    const scene = buildScene(rec.seed, shape, rec.voxelSizeMm, resolveParams(rec.difficulty, rec.overrides));
    const slabs = new SlabRenderer(gpu, scene, [64, 128, 128]);
    const r = await slabs.render(makeBox([0, 0, 0], shape));
    slabs.dispose();
    const img = await (await openZarr(SAMPLE)).readBox(makeBox([0, 0, 0], shape));
    const mask = await (await openZarr(SAMPLE, { label: 'roots' })).readBox(makeBox([0, 0, 0], shape));
    let imageDiff = 0;
    let bigDiff = 0;
    let maskDiff = 0;
    for (let i = 0; i < img.length; i++) {
      if (img[i] !== r.image[i]) imageDiff++;
      if (Math.abs(img[i]! - r.image[i]!) > 400) bigDiff++;
      if (mask[i] !== r.mask[i]) maskDiff++;
    }
    const sameDevice = rec.device === (gpu.adapter.description || gpu.adapter.device);
    if (sameDevice) {
      // Same driver: the same bytes.
      expect(imageDiff).toBe(0);
      expect(maskDiff).toBe(0);
    } else {
      // Another GPU rounds transcendental functions differently: a few voxels near a threshold
      // in the scene (a grain or root surface) may differ; the rest matches closely.
      expect(bigDiff / img.length).toBeLessThan(0.001);
      expect(maskDiff / img.length).toBeLessThan(0.001);
    }
  });
});
