import { readdir, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { InconsistentError, NotFoundError, UnknownFormatError } from './errors.js';
import { withRangeFile } from './file-range.js';
import { openNifti } from './nifti.js';
import { isPngName, openPngFolder } from './png-stack.js';
import { isTiffName, openTiffFile, openTiffFolder } from './tiff-stack.js';
import type { VolumeSource } from './volume.js';
import { isUrl, openZarr, type ZarrOpenOptions } from './zarr-source.js';

export type OpenOptions = ZarrOpenOptions;

const ZARR_KEYS = ['zarr.json', '.zgroup', '.zarray'];

/**
 * Opens any volume we read, telling the format from what is there (not only the name):
 * an http(s) URL or a folder with Zarr metadata is Zarr; a folder of .tif/.tiff or .png
 * files is a slice stack; a file is NIfTI (.nii, .nii.gz), TIFF (one or many pages) or a
 * single PNG slice. Only metadata is read here.
 */
export async function openVolume(path: string, opts: OpenOptions = {}): Promise<VolumeSource> {
  if (isUrl(path)) return openZarr(path, opts);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new NotFoundError(path, 'no such file or folder');
  if (st.isDirectory()) {
    const names = await readdir(path);
    if (names.some((n) => ZARR_KEYS.includes(n))) return openZarr(path, opts);
    const tifs = names.filter(isTiffName);
    const pngs = names.filter(isPngName);
    if (tifs.length > 0 && pngs.length > 0) {
      throw new InconsistentError(path, `folder holds both TIFF (${tifs.length}) and PNG (${pngs.length}) files; keep one slice stack per folder`);
    }
    if (tifs.length > 0) return openTiffFolder(path, tifs);
    if (pngs.length > 0) return openPngFolder(path, pngs);
    throw new UnknownFormatError(path, 'folder holds no Zarr metadata, .tif/.tiff or .png slices');
  }
  const head = await withRangeFile(path, (f) => f.read(0, Math.min(4, f.size), 'magic bytes'));
  const h = Array.from(head);
  const lower = path.toLowerCase();
  if ((h[0] === 0x1f && h[1] === 0x8b) || lower.endsWith('.nii') || lower.endsWith('.nii.gz')) return openNifti(path);
  const le = head.length >= 4 ? new DataView(head.buffer).getUint32(0, true) : 0;
  if (le === 348 || le === 540 || le === 0x5c010000 || le === 0x1c020000) return openNifti(path);
  if ((h[0] === 0x49 && h[1] === 0x49) || (h[0] === 0x4d && h[1] === 0x4d)) return openTiffFile(path);
  if (h[0] === 0x89 && h[1] === 0x50 && h[2] === 0x4e && h[3] === 0x47) return openPngFolder(dirname(path), [basename(path)]);
  throw new UnknownFormatError(
    path,
    `format not recognised (first bytes ${h.map((b) => b.toString(16).padStart(2, '0')).join(' ')}); read are NIfTI, TIFF, PNG slice folders and OME-Zarr`,
  );
}
