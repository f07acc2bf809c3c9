import { join } from 'node:path';
import { CorruptDataError, InconsistentError, NotFoundError, UnknownFormatError, UnsupportedError } from './errors.js';
import { withRangeFile } from './file-range.js';
import { mapLimit } from './limit.js';
import { naturalSort } from './natural-sort.js';
import { type SliceFolderOptions, type SliceSet, SliceStackSource } from './slice-stack.js';
import type { VoxelArray } from './volume.js';

/**
 * Folders of BMP slices, as Bruker SkyScan's NRecon writes its reconstructions: 8-bit
 * palette images with a grey palette (or 24-bit grey), uncompressed, rows bottom-up unless
 * the height is negative. Each slice's rows are read by byte range.
 */

export function isBmpName(name: string): boolean {
  return !name.startsWith('.') && name.toLowerCase().endsWith('.bmp');
}

export interface BmpHeader {
  readonly file: string;
  readonly width: number;
  readonly height: number;
  /** Rows stored top row first (negative height in the header). */
  readonly topDown: boolean;
  readonly bitCount: 8 | 24;
  readonly dataOffset: number;
  readonly stride: number;
  /** Grey value of each palette index (8-bit images). */
  readonly palette?: Uint8Array;
}

/** Reads and checks a BMP's headers and palette. */
export async function readBmpHeader(file: string): Promise<BmpHeader> {
  return withRangeFile(file, async (f) => {
    if (f.size < 54) throw new UnknownFormatError(file, `not a BMP file: only ${f.size} bytes`);
    const b = await f.read(0, 54, 'BMP header');
    if (b[0] !== 0x42 || b[1] !== 0x4d) throw new UnknownFormatError(file, 'not a BMP file: it does not start with "BM"');
    const v = new DataView(b.buffer);
    const dataOffset = v.getUint32(10, true);
    const dibSize = v.getUint32(14, true);
    if (dibSize < 40) throw new UnsupportedError(file, `BMP with a ${dibSize}-byte (OS/2) info header is not read`);
    const width = v.getInt32(18, true);
    const rawHeight = v.getInt32(22, true);
    const bitCount = v.getUint16(28, true);
    const compression = v.getUint32(30, true);
    const colorsUsed = v.getUint32(46, true);
    if (width <= 0 || rawHeight === 0) throw new CorruptDataError(file, `BMP size ${width}×${rawHeight} is not valid`);
    if (compression !== 0)
      throw new UnsupportedError(file, `BMP compression ${compression} is not read; only uncompressed (BI_RGB) slices are`);
    if (bitCount !== 8 && bitCount !== 24)
      throw new UnsupportedError(file, `BMP of ${bitCount} bits per pixel is not read; 8-bit grey and 24-bit grey are`);
    const height = Math.abs(rawHeight);
    const stride = Math.floor((bitCount * width + 31) / 32) * 4;
    if (dataOffset + stride * height > f.size) {
      throw new CorruptDataError(
        file,
        `BMP of ${width}×${height} pixels needs ${dataOffset + stride * height} bytes but the file has ${f.size}: it is truncated`,
      );
    }
    let palette: Uint8Array | undefined;
    if (bitCount === 8) {
      const count = colorsUsed || 256;
      const at = 14 + dibSize;
      if (at + 4 * count > dataOffset) throw new CorruptDataError(file, `BMP palette of ${count} colours overlaps the pixels`);
      const p = await f.read(at, 4 * count, 'BMP palette');
      palette = new Uint8Array(256);
      for (let i = 0; i < count; i++) {
        const [bl, g, r] = [p[4 * i]!, p[4 * i + 1]!, p[4 * i + 2]!];
        if (bl !== g || g !== r)
          throw new UnsupportedError(
            file,
            `BMP palette entry ${i} is a colour (${r},${g},${bl}), not grey; only greyscale slices are read`,
          );
        palette[i] = r;
      }
    }
    return { file, width, height, topDown: rawHeight < 0, bitCount, dataOffset, stride, ...(palette ? { palette } : {}) };
  });
}

/** Rows [y0, y1) and columns [x0, x1) of a BMP slice (y = 0 is the top row). */
export async function readBmpRegion(h: BmpHeader, y0: number, y1: number, x0: number, x1: number): Promise<Uint8Array> {
  const w = x1 - x0;
  const out = new Uint8Array((y1 - y0) * w);
  if (out.length === 0) return out;
  // The stored rows covering [y0, y1) are contiguous whichever way the image runs.
  const first = h.topDown ? y0 : h.height - y1;
  const block = await withRangeFile(h.file, (f) => f.read(h.dataOffset + first * h.stride, (y1 - y0) * h.stride, 'BMP pixels'));
  const bpp = h.bitCount / 8;
  for (let y = y0; y < y1; y++) {
    const row = (h.topDown ? y - y0 : y1 - 1 - y) * h.stride;
    const o = (y - y0) * w;
    for (let x = 0; x < w; x++) {
      const at = row + (x0 + x) * bpp;
      if (h.palette) {
        out[o + x] = h.palette[block[at]!]!;
      } else {
        const bl = block[at]!;
        if (block[at + 1] !== bl || block[at + 2] !== bl) {
          throw new UnsupportedError(h.file, `pixel ${x0 + x},${y} is not grey (R, G, B differ); only greyscale slices are read`);
        }
        out[o + x] = bl;
      }
    }
  }
  return out;
}

class BmpSlices implements SliceSet {
  readonly count: number;
  readonly width: number;
  readonly height: number;
  readonly dtype = 'uint8' as const;
  constructor(private readonly headers: readonly BmpHeader[]) {
    this.count = headers.length;
    this.width = headers[0]!.width;
    this.height = headers[0]!.height;
  }
  readSlice(z: number, y0: number, y1: number, x0: number, x1: number): Promise<VoxelArray> {
    return readBmpRegion(this.headers[z]!, y0, y1, x0, x1);
  }
  async close(): Promise<void> {}
}

/** Opens a folder of BMP slices, z in natural name order; only headers are read here. */
export async function openBmpFolder(dir: string, names: readonly string[], opts: SliceFolderOptions = {}): Promise<SliceStackSource> {
  const files = naturalSort(names);
  if (files.length === 0) throw new NotFoundError(dir, 'folder holds no .bmp files');
  const headers = await mapLimit(files, 8, (n) => readBmpHeader(join(dir, n)));
  const h0 = headers[0]!;
  for (const h of headers) {
    if (h.width !== h0.width || h.height !== h0.height) {
      throw new InconsistentError(
        h.file,
        `slice is ${h.width}×${h.height} but ${h0.file} is ${h0.width}×${h0.height}; a BMP stack must hold slices of one size`,
      );
    }
  }
  return new SliceStackSource(
    opts.format ?? 'bmp-stack',
    dir,
    new BmpSlices(headers),
    opts.placement ?? { voxelSize: [1, 1, 1], unit: '' },
    opts.report,
  );
}
