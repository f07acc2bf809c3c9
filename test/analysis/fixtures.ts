import type { VolumeMeta } from '../../src/io/volume.js';
import { OmeZarrWriter } from '../../src/io/zarr-write.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import type { LengthUnit } from '../../src/volume/voxel-size.js';

/**
 * Writes a segmentation as `rhizoct segment` does: an OME-Zarr image (here the mask × 255 as the
 * "probability") with the mask in labels/roots.
 */
export async function writeSegmentation(
  path: string,
  mask: Uint8Array,
  shape: Vec3,
  opts: { voxelSize?: Vec3; unit?: LengthUnit; origin?: Vec3; chunk?: Vec3; labelValues?: Uint8Array; noLabel?: boolean } = {},
): Promise<void> {
  const meta: VolumeMeta = {
    shape,
    dtype: 'uint8',
    voxelSize: opts.voxelSize ?? [0.05, 0.05, 0.05],
    unit: opts.unit ?? 'millimeter',
    origin: opts.origin ?? [0, 0, 0],
  };
  const chunkShape = opts.chunk ?? [32, 32, 32];
  const base = { zarrFormat: 2 as const, chunkShape, compression: { compression: 'blosc' as const }, levelCount: 1, overwrite: true };
  const img = await OmeZarrWriter.create(path, meta, { ...base, method: 'mean' });
  const prob = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) prob[i] = mask[i] ? 255 : 0;
  await img.writeLevelBox(0, makeBox([0, 0, 0], shape), opts.noLabel ? (opts.labelValues ?? mask) : prob);
  await img.finalize();
  if (opts.noLabel) return;
  const lab = await OmeZarrWriter.create(path, meta, { ...base, method: 'mode', label: 'roots' });
  await lab.writeLevelBox(0, makeBox([0, 0, 0], shape), opts.labelValues ?? mask);
  await lab.finalize();
}
