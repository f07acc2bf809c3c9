import type { Box, Vec3 } from '../volume/box.js';
import { boxVoxels } from '../volume/box.js';
import { unitFromNiftiCode } from '../volume/voxel-size.js';
import { InconsistentError } from './errors.js';
import { RangeFile } from './file-range.js';
import { GzipCursor } from './gzip-cursor.js';
import { boxSpans, VoxelBytes } from './voxel-bytes.js';
import { hasScaling, NIFTI_PROBE_BYTES, type NiftiInfo, niftiReadType, parseNiftiHeader } from './nifti-header.js';
import { allocateVoxels, type Affine, checkBoxInside, type DType, type VolumeSource, type VoxelArray } from './volume.js';

/** Turns file-order bytes into the voxels the volume is read as, with scl_slope/scl_inter applied. */
function decodeVoxels(info: NiftiInfo, bytes: Uint8Array, dtype: DType): VoxelArray {
  const bpv = info.fileBytesPerVoxel;
  if (!info.littleEndian && bpv > 1) {
    for (let i = 0; i < bytes.length; i += bpv) {
      for (let j = 0; j < bpv / 2; j++) {
        const t = bytes[i + j]!;
        bytes[i + j] = bytes[i + bpv - 1 - j]!;
        bytes[i + bpv - 1 - j] = t;
      }
    }
  }
  const n = bytes.length / bpv;
  const buf = bytes.buffer as ArrayBuffer;
  const src: ArrayLike<number> = (() => {
    switch (info.datatypeCode) {
      case 2:
        return bytes;
      case 256:
        return new Int8Array(buf, bytes.byteOffset, n);
      case 4:
        return new Int16Array(buf, bytes.byteOffset, n);
      case 512:
        return new Uint16Array(buf, bytes.byteOffset, n);
      case 8:
        return new Int32Array(buf, bytes.byteOffset, n);
      case 768:
        return new Uint32Array(buf, bytes.byteOffset, n);
      case 16:
        return new Float32Array(buf, bytes.byteOffset, n);
      default:
        return new Float64Array(buf, bytes.byteOffset, n);
    }
  })();
  const out = allocateVoxels(dtype, n);
  if (hasScaling(info)) {
    const s = info.sclSlope;
    const c = info.sclInter;
    for (let i = 0; i < n; i++) out[i] = src[i]! * s + c;
  } else {
    out.set(src as never);
  }
  return out;
}

export class NiftiSource implements VolumeSource {
  readonly format = 'nifti';
  readonly shape: Vec3;
  readonly dtype: DType;
  readonly voxelSize: Vec3;
  readonly unit;
  readonly origin: Vec3;
  readonly affine: Affine;
  private readonly bytes: VoxelBytes;

  constructor(
    readonly path: string,
    readonly info: NiftiInfo,
    raw: RangeFile | undefined,
    gz: GzipCursor | undefined,
  ) {
    const [nx, ny, nz] = info.dims;
    this.shape = [nz, ny, nx];
    this.dtype = niftiReadType(info);
    this.voxelSize = [info.pixdim[2], info.pixdim[1], info.pixdim[0]];
    this.unit = unitFromNiftiCode(info.xyztUnits);
    this.affine = info.affine;
    this.origin = [info.affine[2]![3]!, info.affine[1]![3]!, info.affine[0]![3]!];
    this.bytes = new VoxelBytes(raw, gz);
  }

  get compressed(): boolean {
    return this.bytes.compressed;
  }

  async readBox(box: Box): Promise<VoxelArray> {
    checkBoxInside(this.path, this.shape, box);
    const bpv = this.info.fileBytesPerVoxel;
    const bytes = await this.bytes.read(boxSpans(this.shape, this.info.voxOffset, bpv, box), boxVoxels(box) * bpv);
    return decodeVoxels(this.info, bytes, this.dtype);
  }

  async close(): Promise<void> {
    await this.bytes.close();
  }
}

/** Opens a .nii or .nii.gz (told apart by the gzip magic, not the name); reads only the header. */
export async function openNifti(path: string): Promise<NiftiSource> {
  const f = await RangeFile.open(path);
  try {
    const magic = f.size >= 2 ? await f.read(0, 2, 'magic') : new Uint8Array(0);
    const isGz = magic[0] === 0x1f && magic[1] === 0x8b;
    if (!isGz) {
      const head = await f.read(0, Math.min(f.size, NIFTI_PROBE_BYTES), 'NIfTI header');
      const info = parseNiftiHeader(path, head);
      const need = info.voxOffset + info.dims[0] * info.dims[1] * info.dims[2] * info.fileBytesPerVoxel;
      if (f.size < need) {
        throw new InconsistentError(
          path,
          `header dims ${info.dims.join('×')} of ${info.fileBytesPerVoxel}-byte voxels need ${need} bytes (voxels from byte ${info.voxOffset}) but the file has ${f.size}: it is truncated or its dims are wrong`,
        );
      }
      return new NiftiSource(path, info, f, undefined);
    }
    const trailer = f.size >= 18 ? await f.read(f.size - 4, 4, 'gzip trailer') : undefined;
    await f.close();
    const gz = new GzipCursor(path);
    try {
      const probe = new Uint8Array(NIFTI_PROBE_BYTES);
      const got = await gz.readAvailable(0, probe, 'NIfTI header');
      const info = parseNiftiHeader(path, probe.subarray(0, got));
      const need = info.voxOffset + info.dims[0] * info.dims[1] * info.dims[2] * info.fileBytesPerVoxel;
      if (trailer && need < 2 ** 32) {
        const isize = new DataView(trailer.buffer).getUint32(0, true);
        if (isize < need) {
          throw new InconsistentError(
            path,
            `header dims ${info.dims.join('×')} of ${info.fileBytesPerVoxel}-byte voxels need ${need} decompressed bytes but the gzip trailer records ${isize}: the file is truncated or its dims are wrong`,
          );
        }
      }
      return new NiftiSource(path, info, undefined, gz);
    } catch (err) {
      gz.close();
      throw err;
    }
  } catch (err) {
    await f.close().catch(() => undefined);
    throw err;
  }
}
