import { isNIFTI1, isNIFTI2, NIFTI1, NIFTI2, readHeader } from 'nifti-reader-js';
import { CorruptDataError, UnknownFormatError, UnsupportedError } from './errors.js';
import type { Affine, DType } from './volume.js';

/** What we need from a NIfTI-1 or NIfTI-2 header, with x, y, z in file order (x fastest). */
export interface NiftiInfo {
  readonly version: 1 | 2;
  readonly littleEndian: boolean;
  /** nx, ny, nz. */
  readonly dims: [number, number, number];
  readonly datatypeCode: number;
  readonly fileBytesPerVoxel: number;
  readonly voxOffset: number;
  readonly sclSlope: number;
  readonly sclInter: number;
  /** |pixdim| of x, y, z. */
  readonly pixdim: [number, number, number];
  readonly xyztUnits: number;
  /** Voxel (i, j, k, 1) to world, 4×4. */
  readonly affine: Affine;
}

/** File data types read, with bytes per voxel and the voxel type they are read as. */
const DATATYPES: Record<number, { bytes: number; name: string; as: DType }> = {
  2: { bytes: 1, name: 'uint8', as: 'uint8' },
  256: { bytes: 1, name: 'int8', as: 'int16' },
  4: { bytes: 2, name: 'int16', as: 'int16' },
  512: { bytes: 2, name: 'uint16', as: 'uint16' },
  8: { bytes: 4, name: 'int32', as: 'float32' },
  768: { bytes: 4, name: 'uint32', as: 'float32' },
  16: { bytes: 4, name: 'float32', as: 'float32' },
  64: { bytes: 8, name: 'float64', as: 'float32' },
};

export function niftiDatatype(code: number): { bytes: number; name: string; as: DType } | undefined {
  return DATATYPES[code];
}

/** True when scl_slope/scl_inter change the stored values (slope 0 means "not set"). */
export function hasScaling(info: NiftiInfo): boolean {
  return info.sclSlope !== 0 && Number.isFinite(info.sclSlope) && (info.sclSlope !== 1 || info.sclInter !== 0);
}

/** The voxel type a NIfTI volume is read as. */
export function niftiReadType(info: NiftiInfo): DType {
  return hasScaling(info) ? 'float32' : DATATYPES[info.datatypeCode]!.as;
}

/** Header bytes needed to tell the version: NIfTI-2's header is 540 bytes. */
export const NIFTI_PROBE_BYTES = 544;

/** Parses the start of a (decompressed) NIfTI file. `bytes` may be longer than the header. */
export function parseNiftiHeader(file: string, bytes: Uint8Array): NiftiInfo {
  const ab = bytes.slice(0, Math.min(bytes.length, 540)).buffer as ArrayBuffer;
  let version: 1 | 2;
  if (bytes.length >= 348 && isNIFTI1(ab.slice(0, 348))) version = 1;
  else if (bytes.length >= 540 && isNIFTI2(ab)) version = 2;
  else {
    const magicAt = bytes.length >= 348 ? String.fromCharCode(...bytes.subarray(344, 348)).replace(/\0/g, '\\0') : '';
    throw new UnknownFormatError(
      file,
      bytes.length < 348
        ? `not a NIfTI file: only ${bytes.length} header bytes, a NIfTI-1 header has 348`
        : `not a NIfTI file: magic at byte 344 is "${magicAt}", expected "n+1" (single file) or a NIfTI-2 header`,
    );
  }
  let h: NIFTI1 | NIFTI2;
  try {
    h = readHeader(version === 1 ? ab.slice(0, 348) : ab.slice(0, 540));
  } catch (err) {
    throw new CorruptDataError(file, `NIfTI header does not parse: ${(err as Error).message}`, { cause: err });
  }
  if ('isHDR' in h && h.isHDR) throw new UnsupportedError(file, 'is a .hdr/.img pair header; convert it to a single .nii file');
  const ndim = h.dims[0]!;
  if (ndim < 1 || ndim > 7) throw new CorruptDataError(file, `NIfTI dim[0] is ${ndim}, must be 1..7`);
  const d = (i: number): number => (i <= ndim ? h.dims[i]! : 1);
  for (let i = 4; i <= ndim; i++) {
    if (d(i) > 1) throw new UnsupportedError(file, `NIfTI volume has ${ndim} dimensions (dim[${i}] = ${d(i)}); only 3D volumes are read`);
  }
  const dims: [number, number, number] = [d(1), d(2), d(3)];
  if (dims.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new CorruptDataError(file, `NIfTI dims ${dims.join('×')} are not positive`);
  }
  const dt = DATATYPES[h.datatypeCode];
  if (!dt) {
    throw new UnsupportedError(
      file,
      `NIfTI datatype code ${h.datatypeCode} is not read; read are ${Object.values(DATATYPES)
        .map((t) => t.name)
        .join(', ')}`,
    );
  }
  if (h.numBitsPerVoxel !== dt.bytes * 8) {
    throw new CorruptDataError(file, `NIfTI bitpix ${h.numBitsPerVoxel} disagrees with datatype ${dt.name}`);
  }
  const minOffset = version === 1 ? 348 : 540;
  if (!(h.vox_offset >= minOffset) && h.vox_offset !== 0) {
    throw new CorruptDataError(file, `NIfTI vox_offset ${h.vox_offset} lies inside the header`);
  }
  const px = (i: number): number => {
    const v = Math.abs(h.pixDims[i] ?? 1);
    return Number.isFinite(v) && v > 0 ? v : 1;
  };
  return {
    version,
    littleEndian: h.littleEndian,
    dims,
    datatypeCode: h.datatypeCode,
    fileBytesPerVoxel: dt.bytes,
    voxOffset: Math.max(h.vox_offset, version === 1 ? 352 : 544),
    sclSlope: h.scl_slope,
    sclInter: h.scl_inter,
    pixdim: [px(1), px(2), px(3)],
    xyztUnits: h.xyzt_units,
    affine: h.affine.map((r) => [...r]),
  };
}

/** Quaternion parameters (b, c, d), qfac and voxel sizes of the rotation in `affine`, as NIfTI's qform stores them. */
export function affineToQuaternion(affine: Affine): { b: number; c: number; d: number; qfac: number; pixdim: [number, number, number] } {
  const col = (j: number): [number, number, number] => [affine[0]![j]!, affine[1]![j]!, affine[2]![j]!];
  const cols = [col(0), col(1), col(2)];
  const pixdim = cols.map((c) => Math.hypot(...c) || 1) as [number, number, number];
  const r = cols.map((c, j) => c.map((v) => v / pixdim[j]!)); // r[j][i]: column j, row i
  const R = (i: number, j: number): number => r[j - 1]![i - 1]!;
  const det =
    R(1, 1) * (R(2, 2) * R(3, 3) - R(3, 2) * R(2, 3)) -
    R(1, 2) * (R(2, 1) * R(3, 3) - R(3, 1) * R(2, 3)) +
    R(1, 3) * (R(2, 1) * R(3, 2) - R(3, 1) * R(2, 2));
  let qfac = 1;
  if (det < 0) {
    qfac = -1;
    r[2] = r[2]!.map((v) => -v);
  }
  const r11 = R(1, 1),
    r12 = R(1, 2),
    r13 = R(1, 3);
  const r21 = R(2, 1),
    r22 = R(2, 2),
    r23 = R(2, 3);
  const r31 = R(3, 1),
    r32 = R(3, 2),
    r33 = R(3, 3);
  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac, pixdim };
}

export interface NiftiWriteHeader {
  /** nx, ny, nz. */
  readonly dims: [number, number, number];
  readonly dtype: DType;
  readonly affine: Affine;
  readonly unitCode: number;
  readonly description?: string;
  /** Up to 15 characters naming what the values mean (e.g. 'probability'). */
  readonly intentName?: string;
}

const WRITE_CODES: Record<DType, number> = { uint8: 2, int16: 4, uint16: 512, float32: 16 };

/** A little-endian single-file NIfTI-1 header with both qform and sform set from `affine` (352 bytes). */
export function writeNifti1Header(h: NiftiWriteHeader): Uint8Array {
  for (const n of h.dims) {
    if (n > 32767) throw new RangeError(`NIfTI-1 dims are at most 32767, got ${h.dims.join('×')}`);
  }
  const buf = new Uint8Array(352);
  const v = new DataView(buf.buffer);
  const le = true;
  v.setInt32(0, 348, le);
  buf[39] = 0;
  const dim = [3, h.dims[0], h.dims[1], h.dims[2], 1, 1, 1, 1];
  dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
  const code = WRITE_CODES[h.dtype];
  v.setInt16(70, code, le);
  v.setInt16(72, { uint8: 8, int16: 16, uint16: 16, float32: 32 }[h.dtype], le);
  const q = affineToQuaternion(h.affine);
  const pix = [q.qfac, q.pixdim[0], q.pixdim[1], q.pixdim[2], 1, 1, 1, 1];
  pix.forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
  v.setFloat32(108, 352, le);
  v.setFloat32(112, 1, le); // scl_slope 1: values are stored as they are
  v.setFloat32(116, 0, le);
  buf[123] = h.unitCode & 7;
  if (h.description) buf.set(new TextEncoder().encode(h.description.slice(0, 79)), 148);
  v.setInt16(252, 2, le); // qform_code: aligned
  v.setInt16(254, 2, le); // sform_code: aligned
  v.setFloat32(256, q.b, le);
  v.setFloat32(260, q.c, le);
  v.setFloat32(264, q.d, le);
  v.setFloat32(268, h.affine[0]![3]!, le);
  v.setFloat32(272, h.affine[1]![3]!, le);
  v.setFloat32(276, h.affine[2]![3]!, le);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 4; c++) v.setFloat32(280 + 16 * r + 4 * c, h.affine[r]![c]!, le);
  }
  if (h.intentName) buf.set(new TextEncoder().encode(h.intentName.slice(0, 15)), 328);
  buf.set([0x6e, 0x2b, 0x31, 0], 344); // "n+1\0"
  return buf;
}
