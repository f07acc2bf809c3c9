import { InconsistentError, isVolumeIoError } from './errors.js';
import { openVolume } from './open.js';
import { describeCoverage, SegmentationOutput } from './segmentation-output.js';
import type { VolumeSource } from './volume.js';

export interface OpenMaskOptions {
  /** Label image to read (default 'roots'). */
  readonly label?: string;
  /** Pyramid level (default 0). */
  readonly level?: number;
}

export interface OpenedMask {
  readonly src: VolumeSource;
  /** Where the mask came from: `labels/NAME` of a Zarr, or `image` (the volume itself). */
  readonly source: string;
  /** Set when a Zarr had no such label image and its image was read instead. */
  readonly warnings: string[];
}

/**
 * Opens a mask: labels/NAME of an OME-Zarr when it has one, else the volume itself (other
 * formats are the mask themselves). Only a missing label image falls back to the image; any
 * other error (a damaged label, a file not there) is thrown. A segmentation that covers only some
 * regions of its scan (`segment --region`) is refused: its absent chunks are "not segmented", not
 * "no root", so measuring it as a whole would report roots missing that nobody looked for.
 */
export async function openMask(path: string, opts: OpenMaskOptions = {}): Promise<OpenedMask> {
  const partial = await SegmentationOutput.partialCoverage(path);
  if (partial) {
    throw new InconsistentError(
      path,
      `holds only some regions of the scan (segmented with --region: ${describeCoverage(partial)}); complete it with rhizoct segment without --region before measuring it`,
    );
  }
  const label = opts.label ?? 'roots';
  const lv = opts.level !== undefined ? { level: opts.level } : {};
  try {
    const src = await openVolume(path, { label, ...lv });
    // Only Zarr has label images; other formats are the mask themselves.
    return { src, source: src.format === 'ome-zarr' || src.format === 'zarr' ? `labels/${label}` : 'image', warnings: [] };
  } catch (e) {
    if (!isVolumeIoError(e, 'NotFound')) throw e;
    const src = await openVolume(path, lv);
    const note = (e as Error).message.includes('label') ? `${path} has no labels/${label}; measured the image itself as the mask` : '';
    return { src, source: 'image', warnings: note ? [note] : [] };
  }
}
