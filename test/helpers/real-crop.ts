import { join } from 'node:path';
import { openVolume } from '../../src/io/open.js';
import type { VoxelArray } from '../../src/io/volume.js';
import { OmeZarrWriter } from '../../src/io/zarr-write.js';
import { convertToOmeZarr } from '../../src/pipeline/convert.js';
import { SilentProgress } from '../../src/pipeline/progress.js';
import { type Box, wholeBox } from '../../src/volume/box.js';

/** A crop of a real scan written as an OME-Zarr pyramid `dir/crop.zarr` (no voxel size, as the scans record none); its grey values. */
export async function writeCropPyramid(
  scan: string,
  box: Box,
  dir: string,
  maxLevels?: number,
): Promise<{ path: string; grey: VoxelArray }> {
  const src = await openVolume(scan);
  const grey = await src.readBox(box);
  const meta = {
    shape: box.shape,
    dtype: src.dtype,
    voxelSize: [1, 1, 1] as [number, number, number],
    unit: '' as const,
    origin: [0, 0, 0] as [number, number, number],
  };
  await src.close();
  const raw = join(dir, 'raw.zarr');
  const w = await OmeZarrWriter.create(raw, meta, {
    zarrFormat: 2,
    chunkShape: [64, 64, 64],
    compression: { compression: 'blosc' },
    levelCount: 1,
    method: 'mean',
  });
  await w.writeLevelBox(0, wholeBox(box.shape), grey);
  await w.finalize();
  const path = join(dir, 'crop.zarr');
  await convertToOmeZarr(raw, path, { progress: new SilentProgress(), ...(maxLevels ? { maxLevels } : {}) });
  return { path, grey };
}

/** Of the brightest 10% of voxels (the bean's sand grains), the share called root; and the share of all voxels called root. */
export function brightCalledRoot(grey: ArrayLike<number>, mask: ArrayLike<number>): { bright: number; all: number } {
  const sorted = Float64Array.from(grey).sort();
  const threshold = sorted[Math.floor(sorted.length * 0.9)]!;
  let bright = 0;
  let brightRoot = 0;
  let root = 0;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) root++;
    if (grey[i]! >= threshold) {
      bright++;
      if (mask[i]) brightRoot++;
    }
  }
  return { bright: brightRoot / bright, all: root / mask.length };
}
