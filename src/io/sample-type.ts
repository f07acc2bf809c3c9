import { allocateVoxels, type DType, type VoxelArray } from './volume.js';

/**
 * Types of the samples stored in raw, NRRD and MetaImage files. Each is read as one of the
 * voxel types every reader yields (DType): 8-bit signed as int16, wider integers and
 * float64 as float32 (as for NIfTI).
 */
export type SampleType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float32' | 'float64';

export const SAMPLE_TYPES: readonly SampleType[] = [
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
];

const BYTES: Record<SampleType, number> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float32: 4,
  float64: 8,
};

const READ_AS: Record<SampleType, DType> = {
  int8: 'int16',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'float32',
  uint32: 'float32',
  int64: 'float32',
  uint64: 'float32',
  float32: 'float32',
  float64: 'float32',
};

export function sampleBytes(t: SampleType): number {
  return BYTES[t];
}

/** The voxel type samples of type `t` are read as. */
export function sampleReadType(t: SampleType): DType {
  return READ_AS[t];
}

export function isSampleType(s: string): s is SampleType {
  return (SAMPLE_TYPES as readonly string[]).includes(s);
}

/** The sample type that stores a voxel type exactly. */
export function sampleTypeOf(d: DType): SampleType {
  return d;
}

/** Reverses the byte order of each `bpv`-byte sample, in place. */
export function swapBytes(bytes: Uint8Array, bpv: number): void {
  if (bpv === 1) return;
  for (let i = 0; i + bpv <= bytes.length; i += bpv) {
    for (let j = 0; j < bpv / 2; j++) {
      const t = bytes[i + j]!;
      bytes[i + j] = bytes[i + bpv - 1 - j]!;
      bytes[i + bpv - 1 - j] = t;
    }
  }
}

/**
 * Turns file-order samples into voxels of type `sampleReadType(t)`. `bytes` is swapped in
 * place when the file is big-endian; it must start at an offset aligned to the sample size
 * (a fresh array is).
 */
export function decodeSamples(t: SampleType, littleEndian: boolean, bytes: Uint8Array): VoxelArray {
  const bpv = BYTES[t];
  if (!littleEndian) swapBytes(bytes, bpv);
  const n = Math.floor(bytes.length / bpv);
  const buf = bytes.buffer as ArrayBuffer;
  const at = bytes.byteOffset;
  const out = allocateVoxels(READ_AS[t], n);
  switch (t) {
    case 'uint8':
      out.set(bytes.subarray(0, n));
      return out;
    case 'int8':
      out.set(new Int8Array(buf, at, n));
      return out;
    case 'int16':
      out.set(new Int16Array(buf, at, n));
      return out;
    case 'uint16':
      out.set(new Uint16Array(buf, at, n));
      return out;
    case 'int32':
      out.set(new Int32Array(buf, at, n));
      return out;
    case 'uint32':
      out.set(new Uint32Array(buf, at, n));
      return out;
    case 'float32':
      out.set(new Float32Array(buf, at, n));
      return out;
    case 'float64':
      out.set(new Float64Array(buf, at, n));
      return out;
    case 'int64': {
      const src = new BigInt64Array(buf, at, n);
      for (let i = 0; i < n; i++) out[i] = Number(src[i]!);
      return out;
    }
    case 'uint64': {
      const src = new BigUint64Array(buf, at, n);
      for (let i = 0; i < n; i++) out[i] = Number(src[i]!);
      return out;
    }
  }
}
