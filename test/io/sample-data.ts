import type { SampleType } from '../../src/io/sample-type.js';
import type { Affine, DType, VoxelArray } from '../../src/io/volume.js';

/**
 * Random samples of a file type, as little-endian bytes, and the values a reader must give
 * for them (float64 rounded to float32; 32-bit integers kept within ±2^24 so float32 holds them).
 */
export function sampleData(t: SampleType, n: number, r: () => number): { bytes: Uint8Array; values: number[] } {
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  let a: Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;
  switch (t) {
    case 'int8':
      a = Int8Array.from({ length: n }, () => int(-128, 127));
      break;
    case 'uint8':
      a = Uint8Array.from({ length: n }, () => int(0, 255));
      break;
    case 'int16':
      a = Int16Array.from({ length: n }, () => int(-32768, 32767));
      break;
    case 'uint16':
      a = Uint16Array.from({ length: n }, () => int(0, 65535));
      break;
    case 'int32':
      a = Int32Array.from({ length: n }, () => int(-(2 ** 24), 2 ** 24));
      break;
    case 'uint32':
      a = Uint32Array.from({ length: n }, () => int(0, 2 ** 24));
      break;
    case 'float32':
      a = Float32Array.from({ length: n }, () => (r() - 0.5) * 1e3);
      break;
    case 'float64':
      a = Float64Array.from({ length: n }, () => (r() - 0.5) * 1e3);
      break;
    default:
      throw new Error(`no sample data for ${t}`);
  }
  const values = Array.from(a as ArrayLike<number>, (v) => (t === 'float64' ? Math.fround(v) : v));
  return { bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice(), values };
}

/** Reverses each `bpv`-byte group (little ↔ big endian), returning a copy. */
export function swapped(bytes: Uint8Array, bpv: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < out.length; i += bpv) out.subarray(i, i + bpv).reverse();
  return out;
}

/** Rounds every entry of an affine for comparison. */
export function roundAffine(a: Affine | undefined, digits = 9): number[][] | undefined {
  return a?.map((row) => row.map((v) => Number(v.toFixed(digits)) + 0));
}

/** Rounds a vector for comparison ("+ 0" turns -0 into 0). */
export function roundVec(v: readonly number[], digits = 9): number[] {
  return v.map((x) => Number(x.toFixed(digits)) + 0);
}

/** Random voxels of a voxel type (as sampleData draws them). */
export function voxels(dtype: DType, n: number, r: () => number): VoxelArray {
  const { bytes } = sampleData(dtype, n, r);
  const a = { uint8: Uint8Array, uint16: Uint16Array, int16: Int16Array, float32: Float32Array }[dtype];
  return new a(bytes.buffer as ArrayBuffer, 0, n);
}
