import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isVolumeIoError } from '../../src/io/errors.js';
import { openMask } from '../../src/io/mask.js';
import { wholeBox, type Vec3 } from '../../src/volume/box.js';
import { writeScanZarr } from '../helpers/scan-zarr.js';
import { tempDir } from './helpers.js';

const SHAPE: Vec3 = [4, 4, 4];
const image = Uint16Array.from({ length: 64 }, (_, i) => 1000 + i);
const mask = Uint8Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? 1 : 0));

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir('rhizoct-mask-');
  try {
    await fn(dir);
  } finally {
    await cleanup();
  }
}

async function voxels(path: string, label?: string): Promise<{ source: string; warnings: string[]; values: number[] }> {
  const { src, source, warnings } = await openMask(path, label ? { label } : {});
  try {
    return { source, warnings, values: [...(await src.readBox(wholeBox(SHAPE)))] };
  } finally {
    await src.close();
  }
}

describe('openMask: the one way eval and traits open a mask', () => {
  it('an OME-Zarr with labels/roots gives the label image', () =>
    withDir(async (dir) => {
      const p = join(dir, 'scan.zarr');
      await writeScanZarr(p, SHAPE, image, mask, 4);
      expect(await voxels(p)).toEqual({ source: 'labels/roots', warnings: [], values: [...mask] });
    }));

  it('an OME-Zarr without that label gives its image, with a warning naming the label', () =>
    withDir(async (dir) => {
      const p = join(dir, 'seg.zarr');
      await writeScanZarr(p, SHAPE, image, mask, 4);
      const got = await voxels(p, 'stems');
      expect(got.source).toBe('image');
      expect(got.values).toEqual([...image]);
      expect(got.warnings).toEqual([`${p} has no labels/stems; measured the image itself as the mask`]);
    }));

  it('a single-file format is the mask itself, with no warning', () =>
    withDir(async (dir) => {
      const p = join(dir, 'mask.nrrd');
      const head = 'NRRD0004\ntype: uchar\ndimension: 3\nsizes: 4 4 4\nencoding: raw\n\n';
      await writeFile(p, Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(mask)]));
      expect(await voxels(p)).toEqual({ source: 'image', warnings: [], values: [...mask] });
    }));

  it('a missing file and a damaged label image are errors, not a fallback to the image', () =>
    withDir(async (dir) => {
      const missing = join(dir, 'nothing.zarr');
      await expect(openMask(missing)).rejects.toSatisfy((e: unknown) => isVolumeIoError(e, 'NotFound'));

      const p = join(dir, 'scan.zarr');
      await writeScanZarr(p, SHAPE, image, mask, 4);
      const level = join(p, 'labels', 'roots', '0');
      expect(await readdir(level)).toContain('.zarray');
      await writeFile(join(level, '.zarray'), '{ not json');
      await expect(openMask(p)).rejects.toThrow(/labels\/roots|\.zarray/);
    }));
});
