import { inflateSync } from 'node:zlib';
import { CorruptDataError } from './errors.js';
import type { RangeFile } from './file-range.js';
import { lzwDecode } from './lzw.js';
import { TIFF_COMPRESSION, type TiffPage } from './tiff-ifd.js';
import { allocateVoxels, type VoxelArray, voxelsFromBytes } from './volume.js';

function packBitsDecode(input: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let ip = 0;
  let op = 0;
  while (ip < input.length && op < expected) {
    const n = (input[ip++]! << 24) >> 24;
    if (n >= 0) {
      const len = n + 1;
      if (ip + len > input.length) throw new Error('PackBits literal run past the end of the strip');
      out.set(input.subarray(ip, ip + Math.min(len, expected - op)), op);
      ip += len;
      op += len;
    } else if (n !== -128) {
      const len = 1 - n;
      const v = input[ip++]!;
      out.fill(v, op, Math.min(expected, op + len));
      op += len;
    }
  }
  if (op < expected) throw new Error(`PackBits data decodes to ${op} bytes, expected ${expected}`);
  return out;
}

/** Decompresses one strip or tile to exactly `expected` bytes, still in file byte order. */
function decompress(page: TiffPage, bytes: Uint8Array, expected: number, seg: number): Uint8Array {
  const where = `${page.tileWidth ? 'tile' : 'strip'} ${seg} of page ${page.index}`;
  try {
    let out: Uint8Array;
    switch (page.compression) {
      case TIFF_COMPRESSION.none:
        out = bytes;
        break;
      case TIFF_COMPRESSION.lzw:
        out = lzwDecode(bytes, expected);
        break;
      case TIFF_COMPRESSION.deflate:
      case TIFF_COMPRESSION.adobeDeflate:
        out = new Uint8Array(inflateSync(bytes));
        break;
      case TIFF_COMPRESSION.packBits:
        out = packBitsDecode(bytes, expected);
        break;
      default:
        throw new Error(`compression ${page.compression}`);
    }
    if (out.length < expected) throw new Error(`decodes to ${out.length} bytes, expected ${expected}`);
    return out.length === expected ? out : out.subarray(0, expected);
  } catch (err) {
    throw new CorruptDataError(page.file, `${where} does not decode: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Turns decoded bytes of `rows` rows of `width` samples into native voxels, undoing the
 * byte order and the predictor.
 */
function toVoxels(page: TiffPage, raw: Uint8Array, width: number, rows: number): VoxelArray {
  const sb = page.sampleBytes;
  if (page.predictor === 3) return undoFloatPredictor(raw, width, rows, sb);
  let bytes = raw;
  if (!page.littleEndian && sb > 1) {
    bytes = raw.slice();
    for (let i = 0; i < bytes.length; i += sb) {
      for (let j = 0; j < sb / 2; j++) {
        const t = bytes[i + j]!;
        bytes[i + j] = bytes[i + sb - 1 - j]!;
        bytes[i + sb - 1 - j] = t;
      }
    }
  }
  const v = voxelsFromBytes(page.dtype, bytes);
  if (page.predictor === 2) {
    for (let r = 0; r < rows; r++) {
      const o = r * width;
      for (let x = 1; x < width; x++) v[o + x] = v[o + x]! + v[o + x - 1]!;
    }
  }
  return v;
}

/** Predictor 3: per row, bytes of each sample are split into planes (most significant first) and differenced. */
function undoFloatPredictor(raw: Uint8Array, width: number, rows: number, sb: number): VoxelArray {
  const out = new Float32Array(width * rows);
  const ob = new Uint8Array(out.buffer);
  const rowBytes = width * sb;
  const row = new Uint8Array(rowBytes);
  for (let r = 0; r < rows; r++) {
    row.set(raw.subarray(r * rowBytes, (r + 1) * rowBytes));
    for (let i = 1; i < rowBytes; i++) row[i] = (row[i]! + row[i - 1]!) & 0xff;
    for (let x = 0; x < width; x++) {
      for (let b = 0; b < sb; b++) ob[(r * width + x) * sb + (sb - 1 - b)] = row[b * width + x]!;
    }
  }
  return out;
}

/** Reads rows [y0, y1) and columns [x0, x1) of one page as native voxels. */
export async function readPageRegion(f: RangeFile, page: TiffPage, y0: number, y1: number, x0: number, x1: number): Promise<VoxelArray> {
  const w = x1 - x0;
  const out = allocateVoxels(page.dtype, (y1 - y0) * w);
  if (page.tileWidth && page.tileHeight) {
    await readTiles(f, page, y0, y1, x0, x1, out);
    return out;
  }
  const rowBytes = page.width * page.sampleBytes;
  const rps = page.rowsPerStrip;
  for (let s = Math.floor(y0 / rps); s * rps < y1; s++) {
    const sy0 = s * rps;
    const sRows = Math.min(rps, page.height - sy0);
    const a = Math.max(y0, sy0);
    const b = Math.min(y1, sy0 + sRows);
    let v: VoxelArray;
    // The predictor chains along whole rows, so only uncompressed, unpredicted strips are read partially.
    if (page.compression === TIFF_COMPRESSION.none && page.predictor === 1) {
      const raw = await f.read(page.offsets[s]! + (a - sy0) * rowBytes, (b - a) * rowBytes, `strip ${s} of page ${page.index}`);
      v = toVoxels(page, raw, page.width, b - a);
    } else {
      const bytes = await f.read(page.offsets[s]!, page.byteCounts[s]!, `strip ${s} of page ${page.index}`);
      const raw = decompress(page, bytes, sRows * rowBytes, s);
      const all = toVoxels(page, raw, page.width, sRows);
      v = all.subarray((a - sy0) * page.width, (b - sy0) * page.width);
    }
    for (let y = a; y < b; y++) {
      const src = (y - a) * page.width;
      out.set(v.subarray(src + x0, src + x1) as never, (y - y0) * w);
    }
  }
  return out;
}

async function readTiles(f: RangeFile, page: TiffPage, y0: number, y1: number, x0: number, x1: number, out: VoxelArray): Promise<void> {
  const tw = page.tileWidth!;
  const th = page.tileHeight!;
  const across = Math.ceil(page.width / tw);
  const w = x1 - x0;
  for (let ty = Math.floor(y0 / th); ty * th < y1; ty++) {
    for (let tx = Math.floor(x0 / tw); tx * tw < x1; tx++) {
      const t = ty * across + tx;
      const bytes = await f.read(page.offsets[t]!, page.byteCounts[t]!, `tile ${t} of page ${page.index}`);
      const raw = decompress(page, bytes, tw * th * page.sampleBytes, t);
      const v = toVoxels(page, raw, tw, th);
      const ya = Math.max(y0, ty * th);
      const yb = Math.min(y1, (ty + 1) * th, page.height);
      const xa = Math.max(x0, tx * tw);
      const xb = Math.min(x1, (tx + 1) * tw, page.width);
      for (let y = ya; y < yb; y++) {
        const src = (y - ty * th) * tw + (xa - tx * tw);
        out.set(v.subarray(src, src + (xb - xa)) as never, (y - y0) * w + (xa - x0));
      }
    }
  }
}
