import type { VoxelArray } from './volume.js';
import { dtypeOf } from './volume.js';

/**
 * Encodes one uncompressed, single-strip greyscale TIFF page (baseline TIFF, one IFD). Used
 * to make slice stacks for tests and benchmarks; `littleEndian: false` writes Motorola order
 * as ImageJ does.
 */
export function encodeTiffSlice(data: VoxelArray, width: number, height: number, opts: { littleEndian?: boolean } = {}): Uint8Array {
  const le = opts.littleEndian ?? true;
  const dtype = dtypeOf(data);
  if (data.length !== width * height) throw new RangeError(`slice holds ${data.length} pixels, ${width}×${height} needs ${width * height}`);
  const bps = dtype === 'uint8' ? 8 : dtype === 'float32' ? 32 : 16;
  const fmt = dtype === 'int16' ? 2 : dtype === 'float32' ? 3 : 1;
  const tags: [number, number, number][] = [
    [256, 4, width],
    [257, 4, height],
    [258, 3, bps],
    [259, 3, 1],
    [262, 3, 1],
    [273, 4, 0], // strip offset, patched below
    [277, 3, 1],
    [278, 4, height],
    [279, 4, (width * height * bps) / 8],
    [339, 3, fmt],
  ];
  const ifdBytes = 2 + tags.length * 12 + 4;
  const dataOffset = 8 + ifdBytes;
  const out = new Uint8Array(dataOffset + (width * height * bps) / 8);
  const v = new DataView(out.buffer);
  out[0] = out[1] = le ? 0x49 : 0x4d;
  v.setUint16(2, 42, le);
  v.setUint32(4, 8, le);
  v.setUint16(8, tags.length, le);
  tags.forEach(([tag, type, value], i) => {
    const o = 10 + i * 12;
    v.setUint16(o, tag, le);
    v.setUint16(o + 2, type, le);
    v.setUint32(o + 4, 1, le);
    const val = tag === 273 ? dataOffset : value;
    if (type === 3) v.setUint16(o + 8, val, le);
    else v.setUint32(o + 8, val, le);
  });
  v.setUint32(10 + tags.length * 12, 0, le);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  out.set(bytes, dataOffset);
  const sb = bps / 8;
  if (!le && sb > 1) {
    for (let i = dataOffset; i < out.length; i += sb) out.subarray(i, i + sb).reverse();
  }
  return out;
}
