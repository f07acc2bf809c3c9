import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { isBmpName, openBmpFolder } from './bmp-stack.js';
import { InconsistentError, NotFoundError, UnknownFormatError, UnsupportedError } from './errors.js';
import { withRangeFile } from './file-range.js';
import { isMetaImageText, openMetaImage } from './metaimage.js';
import { openNifti } from './nifti.js';
import { isNrrdMagic, openNrrd } from './nrrd.js';
import { isPngName, openPngFolder } from './png-stack.js';
import { RawVolumeSource } from './raw-volume.js';
import { isVgiText, isXtekText, openRawFile, openVgi, openXtekVolume, type RawSpec } from './scanner-raw.js';
import { findSkyScanLog, openSkyScanFolder } from './skyscan.js';
import { isTiffName, openTiffFile, openTiffFolder } from './tiff-stack.js';
import type { VolumeSource } from './volume.js';
import { isUrl, openZarr, type ZarrOpenOptions } from './zarr-source.js';

export interface OpenOptions extends ZarrOpenOptions {
  /** Read the file as headerless raw voxels laid out so (a file with a header of its own is refused). */
  readonly raw?: RawSpec;
}

/** Formats of single files, told from their first bytes (or, for text headers, their name). */
export type FileFormat = 'nifti' | 'tiff' | 'png' | 'bmp' | 'nrrd' | 'metaimage' | 'nikon-xtek' | 'nikon-vgi';

const ZARR_KEYS = ['zarr.json', '.zgroup', '.zarray'];

const OPENERS: Record<FileFormat, (path: string) => Promise<VolumeSource>> = {
  nifti: openNifti,
  tiff: openTiffFile,
  png: (p) => openPngFolder(dirname(p), [basename(p)]),
  bmp: (p) => openBmpFolder(dirname(p), [basename(p)]),
  nrrd: openNrrd,
  metaimage: openMetaImage,
  'nikon-xtek': openXtekVolume,
  'nikon-vgi': openVgi,
};

/** The format of a file from its first bytes and name; undefined when it is none we read. */
export async function sniffFile(path: string): Promise<FileFormat | undefined> {
  const head = await withRangeFile(path, (f) => f.read(0, Math.min(64, f.size), 'magic bytes'));
  const h = Array.from(head.subarray(0, 4));
  const lower = path.toLowerCase();
  if (isNrrdMagic(head)) return 'nrrd';
  if ((h[0] === 0x1f && h[1] === 0x8b) || lower.endsWith('.nii') || lower.endsWith('.nii.gz')) return 'nifti';
  const le = head.length >= 4 ? new DataView(head.buffer).getUint32(0, true) : 0;
  if (le === 348 || le === 540 || le === 0x5c010000 || le === 0x1c020000) return 'nifti';
  if ((h[0] === 0x49 && h[1] === 0x49 && h[3] === 0) || (h[0] === 0x4d && h[1] === 0x4d && h[2] === 0)) return 'tiff';
  if (h[0] === 0x89 && h[1] === 0x50 && h[2] === 0x4e && h[3] === 0x47) return 'png';
  if (h[0] === 0x42 && h[1] === 0x4d && lower.endsWith('.bmp')) return 'bmp';
  if (isMetaImageText(head) || /\.(mha|mhd)$/.test(lower)) return 'metaimage';
  if (isXtekText(head) || /\.xtekvolume$/.test(lower)) return 'nikon-xtek';
  if (isVgiText(head) || lower.endsWith('.vgi')) return 'nikon-vgi';
  return undefined;
}

/** Headers that may sit beside a data file (scan.vol, scan.raw, scan.zraw) and name it. */
const SIBLING_HEADERS: [string, FileFormat][] = [
  ['.xtekVolume', 'nikon-xtek'],
  ['.vgi', 'nikon-vgi'],
  ['.mhd', 'metaimage'],
  ['.nhdr', 'nrrd'],
];

/** A header beside `path` (same stem) whose data file is `path`, opened; undefined when none is. */
async function openBySiblingHeader(path: string): Promise<VolumeSource | undefined> {
  const stem = join(dirname(path), basename(path, extname(path)).replace(/\.raw$/i, ''));
  for (const [ext, fmt] of SIBLING_HEADERS) {
    for (const header of [stem + ext, stem + ext.toLowerCase()]) {
      if (
        !(await stat(header).then(
          (s) => s.isFile(),
          () => false,
        ))
      )
        continue;
      const src = await OPENERS[fmt](header).catch(() => undefined);
      if (src instanceof RawVolumeSource && resolve(src.layout.file) === resolve(path)) return src;
      await src?.close();
    }
  }
  return undefined;
}

/** Layouts for headerless files named on the command line, by resolved path (see describeRawInputs). */
const rawInputs = new Map<string, RawSpec>();

/**
 * Tells later openVolume calls (in any pipeline) to read these paths, where they are files
 * with no header rhizoct recognises, as raw voxels laid out by `spec` (the command line's
 * --raw). Returns the paths taken; the others keep their own format.
 */
export async function describeRawInputs(paths: readonly string[], spec: RawSpec): Promise<string[]> {
  const taken: string[] = [];
  for (const p of paths) {
    if (
      isUrl(p) ||
      !(await stat(p).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      continue;
    if ((await sniffFile(p)) !== undefined) continue;
    rawInputs.set(resolve(p), spec);
    taken.push(p);
  }
  return taken;
}

/** Forgets every layout given by describeRawInputs (tests). */
export function forgetRawInputs(): void {
  rawInputs.clear();
}

async function openFolder(path: string, opts: OpenOptions): Promise<VolumeSource> {
  const names = await readdir(path);
  if (names.some((n) => ZARR_KEYS.includes(n))) return openZarr(path, opts);
  const slices = { tif: names.filter(isTiffName), png: names.filter(isPngName), bmp: names.filter(isBmpName) };
  const kinds = (Object.keys(slices) as (keyof typeof slices)[]).filter((k) => slices[k].length > 0);
  if (kinds.length === 0) throw new UnknownFormatError(path, 'folder holds no Zarr metadata, .tif/.tiff, .png or .bmp slices');
  const log = await findSkyScanLog(path, names);
  if (log) return openSkyScanFolder(path, log, slices);
  if (kinds.length > 1) {
    throw new InconsistentError(
      path,
      `folder holds ${kinds.map((k) => `${k.toUpperCase()} (${slices[k].length})`).join(' and ')} files; keep one slice stack per folder`,
    );
  }
  if (kinds[0] === 'tif') return openTiffFolder(path, slices.tif);
  if (kinds[0] === 'png') return openPngFolder(path, slices.png);
  return openBmpFolder(path, slices.bmp);
}

/**
 * Opens any volume we read, telling the format from what is there (not only the name):
 * an http(s) URL or a folder with Zarr metadata is Zarr; a folder of .tif/.tiff, .png or
 * .bmp files is a slice stack (a SkyScan reconstruction when its log is there); a file is
 * NIfTI, NRRD (.nrrd, .nhdr), MetaImage (.mha, .mhd), TIFF, a PNG or BMP slice, a Nikon
 * header (.xtekVolume, .vgi) or a data file one of those headers beside it names; a
 * headerless file is read with a layout from `opts.raw` or describeRawInputs. Only
 * metadata is read here.
 */
export async function openVolume(path: string, opts: OpenOptions = {}): Promise<VolumeSource> {
  if (isUrl(path)) return openZarr(path, opts);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new NotFoundError(path, 'no such file or folder');
  if (st.isDirectory()) {
    if (opts.raw) throw new UnsupportedError(path, '--raw describes a single headerless file, and this is a folder');
    return openFolder(path, opts);
  }
  const format = await sniffFile(path);
  if (opts.raw) {
    if (format) throw new UnsupportedError(path, `is a ${format} file, read from its own header; --raw is for headerless files`);
    return openRawFile(path, opts.raw);
  }
  if (format) return OPENERS[format](path);
  const described = rawInputs.get(resolve(path));
  if (described) return openRawFile(path, described);
  const bySibling = await openBySiblingHeader(path);
  if (bySibling) return bySibling;
  const head = await withRangeFile(path, (f) => f.read(0, Math.min(4, f.size), 'magic bytes'));
  throw new UnknownFormatError(
    path,
    `format not recognised (first bytes ${Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' ')}); read are NIfTI, NRRD, MetaImage, TIFF, PNG, BMP, Nikon .xtekVolume/.vgi, slice folders (SkyScan ones with their .log) and OME-Zarr; for headerless raw voxels give their layout with --raw Z,Y,X,TYPE,little|big`,
  );
}
