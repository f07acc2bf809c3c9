import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Vec3 } from '../volume/box.js';
import { type LengthUnit, parseUnit } from '../volume/voxel-size.js';
import { InconsistentError, NotFoundError } from './errors.js';
import { RangeFile, withRangeFile } from './file-range.js';
import { mapLimit } from './limit.js';
import { naturalSort } from './natural-sort.js';
import { type SliceFolderOptions, type SliceSet, SliceStackSource, type StackPlacement } from './slice-stack.js';
import { readPageRegion } from './tiff-decode.js';
import { readTiffPages, type TiffPage } from './tiff-ifd.js';
import type { VoxelArray } from './volume.js';

export const TIFF_EXTENSIONS = ['.tif', '.tiff'];

export function isTiffName(name: string): boolean {
  const n = name.toLowerCase();
  return !name.startsWith('.') && TIFF_EXTENSIONS.some((e) => n.endsWith(e));
}

/** Throws unless every page has the first page's size and type. */
function checkUniform(what: string, pages: readonly TiffPage[]): void {
  const p0 = pages[0]!;
  for (const p of pages) {
    if (p.width !== p0.width || p.height !== p0.height) {
      throw new InconsistentError(
        p.file,
        `page ${p.index} is ${p.width}×${p.height} but ${p0.file} page ${p0.index} is ${p0.width}×${p0.height}; ${what} must hold slices of one size`,
      );
    }
    if (p.dtype !== p0.dtype) {
      throw new InconsistentError(
        p.file,
        `page ${p.index} holds ${p.dtype} but ${p0.file} page ${p0.index} holds ${p0.dtype}; ${what} must hold slices of one type`,
      );
    }
  }
}

/**
 * Voxel size from the first page: ImageJ writes `unit=` and `spacing=` (z) in its description
 * and pixels per unit as X/YResolution; otherwise a resolution in pixels per centimetre is
 * trusted. Anything else (e.g. the 72 dpi many writers put by default) counts as unknown.
 */
export function tiffPlacement(page: TiffPage): StackPlacement {
  const unknown: StackPlacement = { voxelSize: [1, 1, 1], unit: '' };
  const ij = parseImageJ(page.description);
  let unit: LengthUnit | undefined;
  let scale = 1;
  if (ij.unit !== undefined) {
    unit = parseUnit(ij.unit);
  } else if (page.resolutionUnit === 3) {
    unit = 'micrometer';
    scale = 1e4;
  }
  if (!unit || !page.xResolution || !page.yResolution) return unknown;
  const x = scale / page.xResolution;
  const y = scale / page.yResolution;
  const z = ij.spacing !== undefined ? ij.spacing * scale : x;
  return { voxelSize: [z, y, x] as Vec3, unit };
}

function parseImageJ(desc: string | undefined): { unit?: string; spacing?: number } {
  if (!desc || !desc.startsWith('ImageJ=')) return {};
  const out: { unit?: string; spacing?: number } = {};
  for (const line of desc.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const k = line.slice(0, eq).trim();
    const v = line.slice(eq + 1).trim();
    if (k === 'unit') out.unit = v.replace(/\\u00B5/g, 'µ');
    if (k === 'spacing' && Number.isFinite(Number(v))) out.spacing = Number(v);
  }
  return out;
}

class TiffFolderSlices implements SliceSet {
  readonly count: number;
  readonly width: number;
  readonly height: number;
  readonly dtype;
  constructor(private readonly pages: readonly TiffPage[]) {
    const p = pages[0]!;
    this.count = pages.length;
    this.width = p.width;
    this.height = p.height;
    this.dtype = p.dtype;
  }
  readSlice(z: number, y0: number, y1: number, x0: number, x1: number): Promise<VoxelArray> {
    const page = this.pages[z]!;
    return withRangeFile(page.file, (f) => readPageRegion(f, page, y0, y1, x0, x1));
  }
  async close(): Promise<void> {}
}

class TiffPagesSlices implements SliceSet {
  readonly count: number;
  readonly width: number;
  readonly height: number;
  readonly dtype;
  constructor(
    private readonly file: RangeFile,
    private readonly pages: readonly TiffPage[],
  ) {
    const p = pages[0]!;
    this.count = pages.length;
    this.width = p.width;
    this.height = p.height;
    this.dtype = p.dtype;
  }
  readSlice(z: number, y0: number, y1: number, x0: number, x1: number): Promise<VoxelArray> {
    return readPageRegion(this.file, this.pages[z]!, y0, y1, x0, x1);
  }
  close(): Promise<void> {
    return this.file.close();
  }
}

/** Opens a folder of 2D TIFF slices, z in natural name order; only headers are read here. */
export async function openTiffFolder(dir: string, names?: readonly string[], opts: SliceFolderOptions = {}): Promise<SliceStackSource> {
  const files = naturalSort(names ?? (await readdir(dir)).filter(isTiffName));
  if (files.length === 0) throw new NotFoundError(dir, 'folder holds no .tif/.tiff files');
  const pages = await mapLimit(files, 8, (name) =>
    withRangeFile(join(dir, name), async (f) => (await readTiffPages(f, { firstOnly: true }))[0]!),
  );
  checkUniform('a TIFF stack folder', pages);
  return new SliceStackSource(
    opts.format ?? 'tiff-stack',
    dir,
    new TiffFolderSlices(pages),
    opts.placement ?? tiffPlacement(pages[0]!),
    opts.report,
  );
}

/** Opens a multi-page TIFF file, one page per z slice. */
export async function openTiffFile(path: string): Promise<SliceStackSource> {
  const f = await RangeFile.open(path);
  try {
    const pages = await readTiffPages(f);
    checkUniform('a multi-page TIFF', pages);
    return new SliceStackSource('tiff', path, new TiffPagesSlices(f, pages), tiffPlacement(pages[0]!));
  } catch (err) {
    await f.close();
    throw err;
  }
}
