import { CorruptDataError, UnknownFormatError, UnsupportedError } from './errors.js';
import type { RangeFile } from './file-range.js';
import type { DType } from './volume.js';

/** Compression schemes this reader decodes. */
export const TIFF_COMPRESSION = { none: 1, lzw: 5, deflate: 8, adobeDeflate: 32946, packBits: 32773 } as const;

/** One image (page) of a TIFF file: where its pixels are and how they are encoded. */
export interface TiffPage {
  readonly file: string;
  readonly index: number;
  readonly littleEndian: boolean;
  readonly width: number;
  readonly height: number;
  readonly dtype: DType;
  /** Bytes per sample in the file (1, 2 or 4). */
  readonly sampleBytes: number;
  readonly compression: number;
  readonly predictor: number;
  /** Strips, or tiles when `tileWidth` is set: offsets and byte counts in file order. */
  readonly offsets: readonly number[];
  readonly byteCounts: readonly number[];
  readonly rowsPerStrip: number;
  readonly tileWidth?: number;
  readonly tileHeight?: number;
  readonly description?: string;
  readonly xResolution?: number;
  readonly yResolution?: number;
  readonly resolutionUnit: number;
}

const TAG = {
  newSubfileType: 254,
  width: 256,
  height: 257,
  bitsPerSample: 258,
  compression: 259,
  photometric: 262,
  description: 270,
  stripOffsets: 273,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  xResolution: 282,
  yResolution: 283,
  planarConfig: 284,
  resolutionUnit: 296,
  predictor: 317,
  tileWidth: 322,
  tileLength: 323,
  tileOffsets: 324,
  tileByteCounts: 325,
  sampleFormat: 339,
} as const;

/** Byte size of one value of each TIFF field type. */
const TYPE_SIZE: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  16: 8,
  17: 8,
  18: 8,
};

interface Header {
  littleEndian: boolean;
  big: boolean;
  firstIfd: number;
}

async function readHeader(f: RangeFile): Promise<Header> {
  if (f.size < 8) throw new UnknownFormatError(f.path, `not a TIFF file: only ${f.size} bytes`);
  const h = await f.read(0, Math.min(16, f.size), 'TIFF header');
  const order = String.fromCharCode(h[0]!, h[1]!);
  if (order !== 'II' && order !== 'MM') {
    throw new UnknownFormatError(f.path, `not a TIFF file: byte-order mark is ${JSON.stringify(order)}, expected "II" or "MM"`);
  }
  const le = order === 'II';
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const magic = dv.getUint16(2, le);
  if (magic === 42) return { littleEndian: le, big: false, firstIfd: dv.getUint32(4, le) };
  if (magic === 43) {
    if (h.length < 16) throw new UnknownFormatError(f.path, 'BigTIFF header is cut short');
    return { littleEndian: le, big: true, firstIfd: Number(dv.getBigUint64(8, le)) };
  }
  throw new UnknownFormatError(f.path, `not a TIFF file: magic number ${magic}, expected 42 (or 43 for BigTIFF)`);
}

type Values = number[] | string;

async function readEntries(
  f: RangeFile,
  hdr: Header,
  ifdOffset: number,
  pageIndex: number,
): Promise<{ tags: Map<number, Values>; next: number }> {
  const le = hdr.littleEndian;
  const countSize = hdr.big ? 8 : 2;
  const entrySize = hdr.big ? 20 : 12;
  const inline = hdr.big ? 8 : 4;
  const where = `IFD of page ${pageIndex} at byte ${ifdOffset}`;
  const cb = await f.read(ifdOffset, countSize, where);
  const cdv = new DataView(cb.buffer);
  const n = hdr.big ? Number(cdv.getBigUint64(0, le)) : cdv.getUint16(0, le);
  if (n === 0 || n > 4096) throw new CorruptDataError(f.path, `${where} claims ${n} entries`);
  const body = await f.read(ifdOffset + countSize, n * entrySize + (hdr.big ? 8 : 4), where);
  const dv = new DataView(body.buffer);
  const tags = new Map<number, Values>();
  for (let i = 0; i < n; i++) {
    const e = i * entrySize;
    const tag = dv.getUint16(e, le);
    const type = dv.getUint16(e + 2, le);
    const count = hdr.big ? Number(dv.getBigUint64(e + 4, le)) : dv.getUint32(e + 4, le);
    const size = TYPE_SIZE[type];
    if (size === undefined) continue; // unknown field types are skipped, as the spec asks
    const total = size * count;
    let data: DataView;
    if (total <= inline) {
      data = new DataView(body.buffer, e + (hdr.big ? 12 : 8), inline);
    } else {
      const off = hdr.big ? Number(dv.getBigUint64(e + 12, le)) : dv.getUint32(e + 8, le);
      // Only the tags we use are fetched; large private blobs are left on disk.
      if (!isWanted(tag)) continue;
      const b = await f.read(off, total, `tag ${tag} of page ${pageIndex}`);
      data = new DataView(b.buffer);
    }
    tags.set(tag, decodeValues(data, type, count, le));
  }
  const nextAt = n * entrySize;
  const next = hdr.big ? Number(dv.getBigUint64(nextAt, le)) : dv.getUint32(nextAt, le);
  return { tags, next };
}

function isWanted(tag: number): boolean {
  return (Object.values(TAG) as number[]).includes(tag);
}

function decodeValues(dv: DataView, type: number, count: number, le: boolean): Values {
  if (type === 2) {
    let s = '';
    for (let i = 0; i < count; i++) {
      const c = dv.getUint8(i);
      if (c === 0) break;
      s += String.fromCharCode(c);
    }
    return s;
  }
  const out: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    switch (type) {
      case 1:
      case 7:
        out[i] = dv.getUint8(i);
        break;
      case 6:
        out[i] = dv.getInt8(i);
        break;
      case 3:
        out[i] = dv.getUint16(i * 2, le);
        break;
      case 8:
        out[i] = dv.getInt16(i * 2, le);
        break;
      case 4:
        out[i] = dv.getUint32(i * 4, le);
        break;
      case 9:
        out[i] = dv.getInt32(i * 4, le);
        break;
      case 5:
        out[i] = dv.getUint32(i * 8, le) / dv.getUint32(i * 8 + 4, le);
        break;
      case 10:
        out[i] = dv.getInt32(i * 8, le) / dv.getInt32(i * 8 + 4, le);
        break;
      case 11:
        out[i] = dv.getFloat32(i * 4, le);
        break;
      case 12:
        out[i] = dv.getFloat64(i * 8, le);
        break;
      case 16:
      case 18:
        out[i] = Number(dv.getBigUint64(i * 8, le));
        break;
      case 17:
        out[i] = Number(dv.getBigInt64(i * 8, le));
        break;
    }
  }
  return out;
}

function num(tags: Map<number, Values>, tag: number, dflt?: number): number | undefined {
  const v = tags.get(tag);
  if (v === undefined || typeof v === 'string') return dflt;
  return v[0];
}

function nums(tags: Map<number, Values>, tag: number): number[] | undefined {
  const v = tags.get(tag);
  return v === undefined || typeof v === 'string' ? undefined : v;
}

function pageFromTags(file: string, index: number, le: boolean, tags: Map<number, Values>): TiffPage {
  const where = `page ${index}`;
  const width = num(tags, TAG.width);
  const height = num(tags, TAG.height);
  if (!width || !height) throw new CorruptDataError(file, `${where} lacks ImageWidth/ImageLength`);
  const spp = num(tags, TAG.samplesPerPixel, 1)!;
  if (spp !== 1) throw new UnsupportedError(file, `${where} has ${spp} samples per pixel; only single-channel (grey) slices are read`);
  const photometric = num(tags, TAG.photometric, 1)!;
  if (photometric !== 1 && photometric !== 0) {
    throw new UnsupportedError(file, `${where} has photometric interpretation ${photometric}; only grey (1, BlackIsZero) is read`);
  }
  if (photometric === 0) throw new UnsupportedError(file, `${where} is WhiteIsZero (inverted grey); convert it to BlackIsZero first`);
  const bits = nums(tags, TAG.bitsPerSample) ?? [1];
  const bps = bits[0]!;
  const fmt = nums(tags, TAG.sampleFormat)?.[0] ?? 1;
  const dtype = dtypeFor(bps, fmt);
  if (!dtype) {
    throw new UnsupportedError(
      file,
      `${where} has ${bps}-bit samples of format ${fmt} (1 uint, 2 int, 3 float); read are uint8, uint16, int16 and float32`,
    );
  }
  const compression = num(tags, TAG.compression, 1)!;
  if (!(Object.values(TIFF_COMPRESSION) as number[]).includes(compression)) {
    throw new UnsupportedError(
      file,
      `${where} uses compression ${compression}; read are none (1), LZW (5), deflate (8, 32946) and PackBits (32773)`,
    );
  }
  const predictor = num(tags, TAG.predictor, 1)!;
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) throw new UnsupportedError(file, `${where} uses predictor ${predictor}`);
  const tileWidth = num(tags, TAG.tileWidth);
  const tileHeight = num(tags, TAG.tileLength);
  const offsets = nums(tags, tileWidth ? TAG.tileOffsets : TAG.stripOffsets);
  const byteCounts = nums(tags, tileWidth ? TAG.tileByteCounts : TAG.stripByteCounts);
  if (!offsets || !byteCounts || offsets.length !== byteCounts.length) {
    throw new CorruptDataError(file, `${where} has missing or mismatched strip/tile offsets and byte counts`);
  }
  const rowsPerStrip = Math.min(num(tags, TAG.rowsPerStrip, height)!, height);
  const expected =
    tileWidth && tileHeight ? Math.ceil(width / tileWidth) * Math.ceil(height / tileHeight) : Math.ceil(height / rowsPerStrip);
  if (offsets.length !== expected) {
    throw new CorruptDataError(file, `${where} has ${offsets.length} strips/tiles, expected ${expected}`);
  }
  const desc = tags.get(TAG.description);
  return {
    file,
    index,
    littleEndian: le,
    width,
    height,
    dtype,
    sampleBytes: bps / 8,
    compression,
    predictor,
    offsets,
    byteCounts,
    rowsPerStrip,
    ...(tileWidth && tileHeight ? { tileWidth, tileHeight } : {}),
    ...(typeof desc === 'string' ? { description: desc } : {}),
    ...(num(tags, TAG.xResolution) ? { xResolution: num(tags, TAG.xResolution)! } : {}),
    ...(num(tags, TAG.yResolution) ? { yResolution: num(tags, TAG.yResolution)! } : {}),
    resolutionUnit: num(tags, TAG.resolutionUnit, 2)!,
  };
}

function dtypeFor(bits: number, format: number): DType | undefined {
  if (bits === 8 && format === 1) return 'uint8';
  if (bits === 16 && format === 1) return 'uint16';
  if (bits === 16 && format === 2) return 'int16';
  if (bits === 32 && format === 3) return 'float32';
  return undefined;
}

/**
 * Reads the pages of a TIFF file (only the first when `firstOnly`). Reduced-resolution
 * pages (NewSubfileType bit 0) are skipped, so the result is the full-resolution stack.
 */
export async function readTiffPages(f: RangeFile, opts: { firstOnly?: boolean } = {}): Promise<TiffPage[]> {
  const hdr = await readHeader(f);
  const pages: TiffPage[] = [];
  const seen = new Set<number>();
  let off = hdr.firstIfd;
  let index = 0;
  while (off !== 0) {
    if (seen.has(off)) throw new CorruptDataError(f.path, `IFD chain loops back to byte ${off}`);
    seen.add(off);
    const { tags, next } = await readEntries(f, hdr, off, index);
    const subfile = num(tags, TAG.newSubfileType, 0)!;
    if ((subfile & 1) === 0) {
      pages.push(pageFromTags(f.path, index, hdr.littleEndian, tags));
      if (opts.firstOnly) break;
    }
    index++;
    off = next;
  }
  if (pages.length === 0) throw new CorruptDataError(f.path, 'TIFF file holds no full-resolution image');
  return pages;
}
