import type { LengthUnit } from '../volume/voxel-size.js';
import { volumeAffine } from './nifti-write.js';
import { flipLpsRas, placementOfAffine } from './raw-volume.js';
import type { Affine, VolumeMeta } from './volume.js';

export interface FileSinkOptions {
  readonly overwrite?: boolean;
  /** gzip (default; NRRD's gzip encoding, MetaImage's zlib) or none. */
  readonly compression?: 'gzip' | 'none';
  /** A line saying what the file holds (NRRD content, MetaImage Comment). */
  readonly description?: string;
}

/**
 * Geometry as ITK, 3D Slicer and ITK-SNAP expect it: lengths in millimetres, directions and
 * origin in the left-posterior-superior world (rhizoct's RAS with x and y negated). A volume
 * with no unit keeps its numbers in an unnamed frame.
 */
export function itkGeometry(meta: VolumeMeta): { lps: boolean; unit: LengthUnit; affine: Affine } {
  if (meta.unit === '') return { lps: false, unit: '', affine: volumeAffine(meta, '') };
  return { lps: true, unit: 'millimeter', affine: flipLpsRas(volumeAffine(meta, 'millimeter')) };
}

/** The meta of what a sink writes: its placement as the file records it, read back. */
export function writtenMeta(meta: VolumeMeta): VolumeMeta {
  const g = itkGeometry(meta);
  const p = placementOfAffine(g.lps ? flipLpsRas(g.affine) : g.affine, g.unit);
  return { shape: meta.shape, dtype: meta.dtype, voxelSize: p.voxelSize, unit: p.unit, origin: p.origin, affine: p.affine! };
}
