import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decode as decodePng } from 'fast-png';
import { CorruptDataError, InconsistentError, NotFoundError, UnknownFormatError, UnsupportedError } from './errors.js';
import { withRangeFile } from './file-range.js';
import { mapLimit } from './limit.js';
import { naturalSort } from './natural-sort.js';
import { type SliceFolderOptions, type SliceSet, SliceStackSource, type StackPlacement } from './slice-stack.js';
import type { DType, VoxelArray } from './volume.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPngName(name: string): boolean {
  return !name.startsWith('.') && name.toLowerCase().endsWith('.png');
}

interface PngHeader {
  file: string;
  width: number;
  height: number;
  depth: number;
  colorType: number;
}

const COLOR_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

async function readHeader(file: string): Promise<PngHeader> {
  const b = await withRangeFile(file, async (f) => {
    if (f.size < 33) throw new UnknownFormatError(file, `not a PNG file: only ${f.size} bytes`);
    return f.read(0, 33, 'PNG header');
  });
  if (!SIGNATURE.every((v, i) => b[i] === v)) throw new UnknownFormatError(file, 'not a PNG file: wrong signature');
  const dv = new DataView(b.buffer);
  if (String.fromCharCode(...b.subarray(12, 16)) !== 'IHDR') throw new CorruptDataError(file, 'PNG does not start with an IHDR chunk');
  const h = { file, width: dv.getUint32(16), height: dv.getUint32(20), depth: b[24]!, colorType: b[25]! };
  if (h.colorType === 3) throw new UnsupportedError(file, 'palette PNGs are not read; save the slices as greyscale');
  if (COLOR_CHANNELS[h.colorType] === undefined) throw new CorruptDataError(file, `PNG colour type ${h.colorType} is invalid`);
  if (h.depth !== 8 && h.depth !== 16) throw new UnsupportedError(file, `PNG bit depth ${h.depth}; read are 8 and 16 bits`);
  return h;
}

/**
 * Slices decoded whole (PNG cannot be read a rectangle at a time); the last few decoded
 * slices are kept, so reading a volume block by block does not decode a slice per block.
 */
class PngSlices implements SliceSet {
  readonly count: number;
  readonly width: number;
  readonly height: number;
  readonly dtype: DType;
  private readonly cache = new Map<number, Promise<VoxelArray>>();
  private readonly cacheSize: number;

  constructor(private readonly headers: readonly PngHeader[]) {
    const h = headers[0]!;
    this.count = headers.length;
    this.width = h.width;
    this.height = h.height;
    this.dtype = h.depth === 8 ? 'uint8' : 'uint16';
    const sliceBytes = h.width * h.height * (h.depth / 8);
    this.cacheSize = Math.max(2, Math.min(16, Math.floor((64 << 20) / sliceBytes)));
  }

  private decoded(z: number): Promise<VoxelArray> {
    const hit = this.cache.get(z);
    if (hit) {
      this.cache.delete(z);
      this.cache.set(z, hit);
      return hit;
    }
    const p = decodeSlice(this.headers[z]!);
    p.catch(() => this.cache.delete(z));
    this.cache.set(z, p);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return p;
  }

  async readSlice(z: number, y0: number, y1: number, x0: number, x1: number): Promise<VoxelArray> {
    const img = await this.decoded(z);
    const w = x1 - x0;
    const out = img instanceof Uint8Array ? new Uint8Array((y1 - y0) * w) : new Uint16Array((y1 - y0) * w);
    for (let y = y0; y < y1; y++) {
      out.set(img.subarray(y * this.width + x0, y * this.width + x1) as never, (y - y0) * w);
    }
    return out;
  }

  async close(): Promise<void> {
    this.cache.clear();
  }
}

async function decodeSlice(h: PngHeader): Promise<VoxelArray> {
  const bytes = await readFile(h.file);
  let png;
  try {
    png = decodePng(bytes);
  } catch (err) {
    throw new CorruptDataError(h.file, `PNG does not decode: ${(err as Error).message}`, { cause: err });
  }
  if (png.width !== h.width || png.height !== h.height) {
    throw new CorruptDataError(h.file, `decoded ${png.width}×${png.height}, header said ${h.width}×${h.height}`);
  }
  const n = h.width * h.height;
  const ch = png.channels;
  const data = png.data;
  const out = h.depth === 8 ? new Uint8Array(n) : new Uint16Array(n);
  if (ch === 1) {
    out.set(data as never);
    return out;
  }
  // Colour or grey+alpha slices are accepted only when they hold grey (R = G = B).
  const colour = ch >= 3;
  for (let i = 0; i < n; i++) {
    const r = data[i * ch]!;
    if (colour && (data[i * ch + 1] !== r || data[i * ch + 2] !== r)) {
      throw new UnsupportedError(
        h.file,
        `pixel ${i % h.width},${Math.floor(i / h.width)} is not grey (R, G, B differ); only greyscale slices are read`,
      );
    }
    out[i] = r;
  }
  return out;
}

async function placementOf(h: PngHeader): Promise<StackPlacement> {
  const png = decodePng(await readFile(h.file));
  const r = png.resolution;
  if (r && r.unit === 1 && r.x > 0 && r.y > 0) {
    const x = 1e6 / r.x;
    return { voxelSize: [x, 1e6 / r.y, x], unit: 'micrometer' };
  }
  return { voxelSize: [1, 1, 1], unit: '' };
}

/** Opens a folder of 2D PNG slices (8- or 16-bit grey), z in natural name order. */
export async function openPngFolder(dir: string, names?: readonly string[], opts: SliceFolderOptions = {}): Promise<SliceStackSource> {
  const files = naturalSort(names ?? (await readdir(dir)).filter(isPngName));
  if (files.length === 0) throw new NotFoundError(dir, 'folder holds no .png files');
  const headers = await mapLimit(files, 8, (n) => readHeader(join(dir, n)));
  const h0 = headers[0]!;
  for (const h of headers) {
    if (h.width !== h0.width || h.height !== h0.height) {
      throw new InconsistentError(
        h.file,
        `slice is ${h.width}×${h.height} but ${h0.file} is ${h0.width}×${h0.height}; a PNG stack must hold slices of one size`,
      );
    }
    if (h.depth !== h0.depth) {
      throw new InconsistentError(
        h.file,
        `slice is ${h.depth}-bit but ${h0.file} is ${h0.depth}-bit; a PNG stack must hold slices of one type`,
      );
    }
  }
  let placement: StackPlacement;
  try {
    placement = opts.placement ?? (await placementOf(h0));
  } catch (err) {
    throw new CorruptDataError(h0.file, `PNG does not decode: ${(err as Error).message}`, { cause: err });
  }
  return new SliceStackSource(opts.format ?? 'png-stack', dir, new PngSlices(headers), placement, opts.report);
}
