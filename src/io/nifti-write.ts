import { rename, unlink } from 'node:fs/promises';
import type { Box, Vec3 } from '../volume/box.js';
import { convertLength, type LengthUnit, niftiCodeFromUnit } from '../volume/voxel-size.js';
import { writeNifti1Header } from './nifti-header.js';
import { assembleFile, StagedVoxels } from './staged-sink.js';
import type { Affine, DType, VolumeMeta, VolumeSink, VoxelArray } from './volume.js';

export interface NiftiSinkOptions {
  readonly overwrite?: boolean;
  /** Written into the header's descrip field (79 characters at most). */
  readonly description?: string;
  readonly intentName?: string;
}

/** NIfTI has codes for m, mm and µm only; other lengths are converted to the nearest of those. */
function niftiUnit(unit: LengthUnit): LengthUnit {
  if (unit === 'nanometer') return 'micrometer';
  if (unit === 'centimeter') return 'millimeter';
  return unit;
}

/** The voxel-to-world affine of a volume, in `unit`: its own when it has one, else scale + origin. */
export function volumeAffine(meta: VolumeMeta, unit: LengthUnit): Affine {
  const k = meta.unit === '' || unit === '' ? 1 : convertLength(1, meta.unit, unit);
  if (meta.affine) return meta.affine.map((r, i) => (i < 3 ? r.map((v) => v * k) : [...r]));
  const [vz, vy, vx] = meta.voxelSize;
  const [oz, oy, ox] = meta.origin;
  return [
    [vx * k, 0, 0, ox * k],
    [0, vy * k, 0, oy * k],
    [0, 0, vz * k, oz * k],
    [0, 0, 0, 1],
  ];
}

/**
 * Writes a NIfTI-1 file (.nii, or .nii.gz by name) readable by nibabel, FSL, ITK: voxels go
 * to a temporary uncompressed file in any order; finalize() compresses it if asked and
 * renames it into place, so an interrupted run leaves no file under the final name.
 */
export class NiftiSink implements VolumeSink {
  readonly shape: Vec3;
  readonly dtype: DType;
  readonly voxelSize: Vec3;
  readonly unit: LengthUnit;
  readonly origin: Vec3;
  readonly affine: Affine;
  private finished = false;

  private constructor(
    readonly path: string,
    private readonly staged: StagedVoxels,
    meta: VolumeMeta,
  ) {
    this.shape = meta.shape;
    this.dtype = meta.dtype;
    this.unit = niftiUnit(meta.unit);
    this.affine = volumeAffine(meta, this.unit);
    const k = meta.unit === '' ? 1 : convertLength(1, meta.unit, this.unit);
    this.voxelSize = meta.voxelSize.map((v) => v * k) as unknown as Vec3;
    this.origin = meta.origin.map((v) => v * k) as unknown as Vec3;
  }

  static async create(path: string, meta: VolumeMeta, opts: NiftiSinkOptions = {}): Promise<NiftiSink> {
    const unit = niftiUnit(meta.unit);
    const header = writeNifti1Header({
      dims: [meta.shape[2], meta.shape[1], meta.shape[0]],
      dtype: meta.dtype,
      affine: volumeAffine(meta, unit),
      unitCode: niftiCodeFromUnit(unit),
      ...(opts.description ? { description: opts.description } : {}),
      ...(opts.intentName ? { intentName: opts.intentName } : {}),
    });
    const staged = await StagedVoxels.create(path, meta, { overwrite: opts.overwrite ?? false, header });
    return new NiftiSink(path, staged, meta);
  }

  writeBox(box: Box, data: VoxelArray): Promise<void> {
    return this.staged.writeBox(box, data);
  }

  async finalize(): Promise<void> {
    if (this.finished) return;
    await this.staged.close();
    this.finished = true;
    try {
      if (this.path.toLowerCase().endsWith('.gz')) await assembleFile(this.path, new Uint8Array(0), this.staged.tmp, 0, 'gzip');
      else await rename(this.staged.tmp, this.path);
    } finally {
      await unlink(this.staged.tmp).catch(() => undefined);
    }
  }

  async abort(): Promise<void> {
    this.finished = true;
    await this.staged.discard();
  }
}
