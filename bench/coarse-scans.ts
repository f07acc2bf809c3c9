/**
 * A synthetic scan as `segment` shows it at pyramid level L: the scan's level L (2^L× averaged) with
 * its labels' level L, written as a scan of its own, so training can draw examples of what a soil
 * looks like at the coarse levels multi-scale segmentation fuses (bench/RESULTS.md: a model that
 * never saw them takes a cluster of averaged roots and the sand between them for one thick root).
 */
import { existsSync } from 'node:fs';
import { openVolume } from '../src/io/open.js';
import { OmeZarrWriter } from '../src/io/zarr-write.js';
import { wholeBox } from '../src/volume/box.js';

/**
 * Writes OUT (unless it exists): level `level` of SCAN's image and labels/roots, as one level (the
 * sampler averages the low-resolution context from it on the fly).
 */
export async function coarseCopy(scan: string, level: number, out: string): Promise<string> {
  if (existsSync(out)) return out;
  const image = await openVolume(scan, { level });
  const label = await openVolume(scan, { label: 'roots', level });
  if (label.shape.some((s, i) => s !== image.shape[i])) throw new Error(`${scan}: level ${level} of labels/roots and of the image differ`);
  const meta = {
    shape: image.shape,
    voxelSize: image.voxelSize,
    unit: image.unit,
    origin: image.origin,
  };
  const opts = {
    zarrFormat: 2 as const,
    chunkShape: [64, 64, 64] as [number, number, number],
    compression: { compression: 'gzip' as const },
    levelCount: 1,
  };
  const img = await OmeZarrWriter.create(
    out,
    { ...meta, dtype: image.dtype },
    { ...opts, method: 'mean', provenance: { coarseCopyOf: scan, level } },
  );
  await img.writeLevelBox(0, wholeBox(meta.shape), await image.readBox(wholeBox(meta.shape)));
  await img.finalize();
  const lab = await OmeZarrWriter.create(out, { ...meta, dtype: 'uint8' }, { ...opts, method: 'mode', label: 'roots' });
  await lab.writeLevelBox(0, wholeBox(meta.shape), await label.readBox(wholeBox(meta.shape)));
  await lab.finalize();
  await image.close();
  await label.close();
  return out;
}
