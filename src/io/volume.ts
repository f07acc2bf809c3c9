import type { Box, Vec3 } from '../volume/box.js';
import { OutOfBoundsError } from './errors.js';
import type { LengthUnit } from '../volume/voxel-size.js';

/** Voxel types every reader yields and every writer takes. */
export type DType = 'uint8' | 'uint16' | 'int16' | 'float32';
export const DTYPES: readonly DType[] = ['uint8', 'uint16', 'int16', 'float32'];

export type VoxelArray = Uint8Array | Uint16Array | Int16Array | Float32Array;

/** Row-major 4×4 matrix mapping voxel indices (x, y, z, 1) to world coordinates, as NIfTI does. */
export type Affine = number[][];

/** What a volume is, apart from its voxels. Every vector is ordered z, y, x. */
export interface VolumeMeta {
  readonly shape: Vec3;
  readonly dtype: DType;
  /** Physical size of one voxel in `unit`. */
  readonly voxelSize: Vec3;
  readonly unit: LengthUnit;
  /** Physical position of voxel (0, 0, 0)'s centre, in `unit`. */
  readonly origin: Vec3;
  /** The storage's natural block, where it has one (Zarr chunks, TIFF/PNG: one slice). */
  readonly chunkShape?: Vec3;
  /** The full voxel-to-world transform where the format keeps one (NIfTI); units are `unit`. */
  readonly affine?: Affine;
}

export interface VolumeSource extends VolumeMeta {
  /** Short name of the format, e.g. 'nifti', 'tiff-stack', 'ome-zarr'. */
  readonly format: string;
  /** The file, folder or URL it was opened from. */
  readonly path: string;
  /** Fields of the format's own text header (or the scanner log read) as found there, name → value, for `rhizoct info`. */
  readonly header?: Readonly<Record<string, string>>;
  /** How the reader took what the format leaves open: an assumed unit, a converted world frame. */
  readonly notes?: readonly string[];
  /**
   * Reads the voxels of `box`, which must lie inside the volume, as a fresh array laid out
   * z, y, x with x fastest.
   */
  readBox(box: Box): Promise<VoxelArray>;
  close(): Promise<void>;
}

export interface VolumeSink extends VolumeMeta {
  readonly path: string;
  /** Writes the voxels of `box`; formats with chunks require boxes aligned to them. */
  writeBox(box: Box, data: VoxelArray): Promise<void>;
  /** Completes the output: until this returns, the output does not look complete. */
  finalize(): Promise<void>;
  /** Gives up: removes what was written where the format allows it. */
  abort(): Promise<void>;
}

export function bytesPerVoxel(dtype: DType): number {
  switch (dtype) {
    case 'uint8':
      return 1;
    case 'uint16':
    case 'int16':
      return 2;
    case 'float32':
      return 4;
  }
}

export function allocateVoxels(dtype: DType, n: number): VoxelArray {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'float32':
      return new Float32Array(n);
  }
}

export function dtypeOf(a: VoxelArray): DType {
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Int16Array) return 'int16';
  return 'float32';
}

export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

/** A view of the voxels' bytes (native little-endian order). */
export function voxelBytes(a: VoxelArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Reinterprets little-endian bytes as voxels, copying so the result owns aligned memory. */
export function voxelsFromBytes(dtype: DType, bytes: Uint8Array): VoxelArray {
  const bpv = bytesPerVoxel(dtype);
  const out = allocateVoxels(dtype, Math.floor(bytes.length / bpv));
  voxelBytes(out).set(bytes.subarray(0, out.length * bpv));
  return out;
}

/** Throws unless `box` lies inside a volume of `shape`. */
export function checkBoxInside(file: string, shape: Vec3, box: Box): void {
  for (let a = 0; a < 3; a++) {
    const o = box.offset[a]!;
    const s = box.shape[a]!;
    if (!Number.isInteger(o) || !Number.isInteger(s) || o < 0 || s < 0 || o + s > shape[a]!) {
      throw new OutOfBoundsError(
        file,
        `box at [${box.offset.join(', ')}] of shape [${box.shape.join(', ')}] does not fit the volume's shape [${shape.join(', ')}]`,
      );
    }
  }
}
