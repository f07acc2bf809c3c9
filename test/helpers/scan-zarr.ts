import { OmeZarrWriter } from '../../src/io/zarr-write.js';
import { wholeBox, type Vec3 } from '../../src/volume/box.js';

/** Writes a one-level OME-Zarr scan of 50 µm voxels: a uint16 image and, when given, its labels/roots mask. */
export async function writeScanZarr(path: string, shape: Vec3, image: Uint16Array, mask: Uint8Array | null, chunk = 16): Promise<void> {
  const meta = { shape, voxelSize: [0.05, 0.05, 0.05] as Vec3, unit: 'millimeter' as const, origin: [0, 0, 0] as Vec3 };
  const opts = {
    zarrFormat: 2 as const,
    chunkShape: [chunk, chunk, chunk] as Vec3,
    compression: { compression: 'blosc' as const },
    levelCount: 1,
    method: 'mean' as const,
  };
  const w = await OmeZarrWriter.create(path, { ...meta, dtype: 'uint16' }, opts);
  await w.writeLevelBox(0, wholeBox(shape), image);
  await w.finalize();
  if (!mask) return;
  const l = await OmeZarrWriter.create(path, { ...meta, dtype: 'uint8' }, { ...opts, label: 'roots', method: 'mode' });
  await l.writeLevelBox(0, wholeBox(shape), mask);
  await l.finalize();
}
