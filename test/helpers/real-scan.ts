import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/gpu.js';
import { openVolume } from '../../src/io/open.js';
import type { VoxelArray } from '../../src/io/volume.js';
import { convertToOmeZarr } from '../../src/pipeline/convert.js';
import { SilentProgress } from '../../src/pipeline/progress.js';
import { segment, type SegmentOptions, type SegmentSummary } from '../../src/pipeline/segment.js';
import type { Box } from '../../src/volume/box.js';

/** A real scan (slice folder) converted whole into the OME-Zarr pyramid `dir/scan.zarr`, as a lab's `rhizoct convert` makes it. */
export async function scanPyramid(scan: string, dir: string): Promise<string> {
  const path = join(dir, 'scan.zarr');
  await convertToOmeZarr(scan, path, { progress: new SilentProgress() });
  return path;
}

/** `segment` with the CLI's defaults (threshold 0.5, 64³ chunks, no test-time flips) and `extra`. */
export function segmentScan(
  input: string,
  output: string,
  model: string,
  gpu: Gpu,
  extra: Partial<SegmentOptions> = {},
): Promise<SegmentSummary> {
  return segment(
    { input, output, model, threshold: 0.5, chunk: 64, tta: false, batch: 4, overwrite: true, progress: new SilentProgress(), ...extra },
    gpu,
  );
}

/**
 * Segments `box` of a whole-scan pyramid with `segment --region` and no other options: every
 * chunk gets the whole scan's intensity mapping and context at every level, so the box's mask is
 * the one a whole-scan run writes there (a crop made into its own pyramid is normalised by its own
 * percentiles and loses the context around it, which changes what a model sees). The box's grey
 * values and mask, and what `segment` reported.
 */
export async function segmentRegion(
  pyramid: string,
  box: Box,
  model: string,
  gpu: Gpu,
): Promise<{ grey: VoxelArray; mask: Uint8Array; summary: SegmentSummary }> {
  const out = `${pyramid.replace(/\.zarr$/, '')}-seg.zarr`;
  const summary = await segmentScan(pyramid, out, model, gpu, { region: box });
  const m = await openVolume(out, { label: 'roots' });
  const mask = (await m.readBox(box)) as Uint8Array;
  await m.close();
  const img = await openVolume(pyramid);
  const grey = await img.readBox(box);
  await img.close();
  return { grey, mask, summary };
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
