import { createReadStream, createWriteStream } from 'node:fs';
import { access, type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { type Box, type Vec3, boxVoxels } from '../volume/box.js';
import { convertLength, type LengthUnit, niftiCodeFromUnit } from '../volume/voxel-size.js';
import { OutOfBoundsError, OutputExistsError } from './errors.js';
import { writeNifti1Header } from './nifti-header.js';
import { type Affine, bytesPerVoxel, checkBoxInside, type DType, dtypeOf, type VolumeMeta, type VolumeSink, type VoxelArray, voxelBytes } from './volume.js';

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
    private readonly tmp: string,
    private readonly fh: FileHandle,
    meta: VolumeMeta,
    private readonly headerBytes: number,
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
    if (!opts.overwrite && (await exists(path))) throw new OutputExistsError(path, 'already exists (pass overwrite to replace it)');
    const tmp = `${path}.partial-${process.pid}`;
    const unit = niftiUnit(meta.unit);
    const header = writeNifti1Header({
      dims: [meta.shape[2], meta.shape[1], meta.shape[0]],
      dtype: meta.dtype,
      affine: volumeAffine(meta, unit),
      unitCode: niftiCodeFromUnit(unit),
      ...(opts.description ? { description: opts.description } : {}),
      ...(opts.intentName ? { intentName: opts.intentName } : {}),
    });
    const fh = await open(tmp, 'w+');
    try {
      await fh.write(header, 0, header.length, 0);
      await fh.truncate(header.length + boxVoxels({ offset: [0, 0, 0], shape: meta.shape }) * bytesPerVoxel(meta.dtype));
    } catch (err) {
      await fh.close();
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return new NiftiSink(path, tmp, fh, meta, header.length);
  }

  async writeBox(box: Box, data: VoxelArray): Promise<void> {
    checkBoxInside(this.path, this.shape, box);
    if (dtypeOf(data) !== this.dtype || data.length !== boxVoxels(box)) {
      throw new OutOfBoundsError(this.path, `writeBox got ${data.length} ${dtypeOf(data)} voxels for a box of ${boxVoxels(box)} ${this.dtype}`);
    }
    const bytes = voxelBytes(data);
    const bpv = bytesPerVoxel(this.dtype);
    const [, ny, nx] = this.shape;
    const [z0, y0, x0] = box.offset;
    const [bz, by, bx] = box.shape;
    const rowBytes = bx * bpv;
    const full = bx === nx;
    for (let z = 0; z < bz; z++) {
      if (full) {
        // Whole rows of a slice are contiguous on disk: one write per slice.
        const at = this.headerBytes + ((z0 + z) * ny + y0) * nx * bpv;
        await this.fh.write(bytes, z * by * rowBytes, by * rowBytes, at);
        continue;
      }
      for (let y = 0; y < by; y++) {
        const at = this.headerBytes + (((z0 + z) * ny + y0 + y) * nx + x0) * bpv;
        await this.fh.write(bytes, (z * by + y) * rowBytes, rowBytes, at);
      }
    }
  }

  async finalize(): Promise<void> {
    if (this.finished) return;
    await this.fh.close();
    this.finished = true;
    if (this.path.toLowerCase().endsWith('.gz')) {
      const gzTmp = `${this.tmp}.gz`;
      try {
        await pipeline(createReadStream(this.tmp), createGzip({ level: 6 }), createWriteStream(gzTmp));
        await rename(gzTmp, this.path);
      } finally {
        await unlink(gzTmp).catch(() => undefined);
        await unlink(this.tmp).catch(() => undefined);
      }
    } else {
      await rename(this.tmp, this.path);
    }
  }

  async abort(): Promise<void> {
    if (!this.finished) {
      this.finished = true;
      await this.fh.close().catch(() => undefined);
    }
    await unlink(this.tmp).catch(() => undefined);
  }
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}
