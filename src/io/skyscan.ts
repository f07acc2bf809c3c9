import { join } from 'node:path';
import { openBmpFolder } from './bmp-stack.js';
import { InvalidMetadataError } from './errors.js';
import { naturalSort } from './natural-sort.js';
import { openPngFolder } from './png-stack.js';
import type { SliceFolderOptions, SliceStackSource } from './slice-stack.js';
import { headerNumber, iniGet, parseIni, readSmallText } from './text-header.js';
import { openTiffFolder } from './tiff-stack.js';

/**
 * Bruker SkyScan reconstructions: NRecon writes the slices (BMP, TIFF or PNG, named
 * PREFIX_rec00000123.bmp) beside a text log (an INI file) whose [Reconstruction] section
 * gives the slices' pixel size in µm ("Pixel Size (um)"); the [Acquisition] section's
 * "Image Pixel Size (um)" is the projections', the same unless the reconstruction was resized.
 */

export interface SkyScanLog {
  readonly file: string;
  /** µm, the same along every axis (the slices are as thick as their pixels are wide). */
  readonly voxelSize: number;
  readonly header: Record<string, string>;
  /** "Result File Type", lower case (bmp, tif, png, jpg), where the log gives it. */
  readonly resultType?: string;
  /** First and last section reconstructed, where given. */
  readonly sections?: [number, number];
}

const SHOWN: [string, string][] = [
  ['System', 'Scanner'],
  ['Reconstruction', 'Reconstruction Program'],
  ['Reconstruction', 'Result File Type'],
  ['Reconstruction', 'Result Image Width (pixels)'],
  ['Reconstruction', 'Result Image Height (pixels)'],
  ['Reconstruction', 'First Section'],
  ['Reconstruction', 'Last Section'],
];

/** Parses a SkyScan log; undefined when it is not one (no pixel size in µm). */
export function parseSkyScanLog(file: string, text: string): SkyScanLog | undefined {
  const ini = parseIni(text);
  const candidates: [string, string][] = [
    ['Reconstruction', 'Pixel Size (um)'],
    ['Acquisition', 'Image Pixel Size (um)'],
    ['Acquisition', 'Scaled Image Pixel Size (um)'],
  ];
  const found = candidates.map(([s, k]) => ({ s, k, v: iniGet(ini, s, k) })).find((c) => c.v !== undefined);
  if (!found) return undefined;
  const voxelSize = headerNumber(file, `[${found.s}] ${found.k}`, found.v!);
  if (!(voxelSize > 0))
    throw new InvalidMetadataError(file, `SkyScan log's [${found.s}] ${found.k} is ${found.v}: a pixel size must be positive`);
  const header: Record<string, string> = { log: file };
  for (const [s, k] of SHOWN) {
    const v = iniGet(ini, s, k);
    if (v !== undefined) header[`[${s}] ${k}`] = v;
  }
  header[`[${found.s}] ${found.k}`] = found.v!;
  const type = iniGet(ini, 'Reconstruction', 'Result File Type')?.toLowerCase();
  const first = Number(iniGet(ini, 'Reconstruction', 'First Section'));
  const last = Number(iniGet(ini, 'Reconstruction', 'Last Section'));
  return {
    file,
    voxelSize,
    header,
    ...(type ? { resultType: type === 'tiff' ? 'tif' : type } : {}),
    ...(Number.isInteger(first) && Number.isInteger(last) && last >= first ? { sections: [first, last] as [number, number] } : {}),
  };
}

/** The SkyScan log among a folder's files, if one is: reconstruction logs (*_rec.log) first. */
export async function findSkyScanLog(dir: string, names: readonly string[]): Promise<SkyScanLog | undefined> {
  const logs = names.filter((n) => !n.startsWith('.') && n.toLowerCase().endsWith('.log'));
  logs.sort((a, b) => Number(/_rec/i.test(b)) - Number(/_rec/i.test(a)) || a.localeCompare(b));
  for (const n of logs) {
    const text = await readSmallText(join(dir, n), 'SkyScan log').catch(() => undefined);
    if (text === undefined || !/pixel size \(um\)/i.test(text)) continue;
    const log = parseSkyScanLog(join(dir, n), text);
    if (log) return log;
  }
  return undefined;
}

/** The numbered series among slice names: the largest group of PREFIX + digits + extension. */
export function sliceSeries(names: readonly string[]): { series: string[]; left: string[] } {
  const groups = new Map<string, string[]>();
  for (const n of names) {
    const m = /^(.*?)(\d+)(\.[^.]+)$/.exec(n);
    const key = m ? `${m[1]}#${m[3]!.toLowerCase()}` : `\0${n}`;
    groups.set(key, [...(groups.get(key) ?? []), n]);
  }
  const best = [...groups.values()].reduce((a, b) => (b.length > a.length ? b : a), [] as string[]);
  return { series: naturalSort(best), left: names.filter((n) => !best.includes(n)) };
}

const READERS: Record<string, (dir: string, names: readonly string[], opts: SliceFolderOptions) => Promise<SliceStackSource>> = {
  bmp: openBmpFolder,
  tif: openTiffFolder,
  png: openPngFolder,
};

/**
 * Opens a SkyScan reconstruction folder: the slices of one kind (the log's Result File Type,
 * else the most numerous of BMP, TIFF, PNG), only those of its numbered series, with the
 * log's pixel size as an isotropic voxel size in µm.
 */
export async function openSkyScanFolder(
  dir: string,
  log: SkyScanLog,
  slices: Record<'bmp' | 'tif' | 'png', string[]>,
): Promise<SliceStackSource> {
  const kinds = (Object.keys(slices) as ('bmp' | 'tif' | 'png')[]).filter((k) => slices[k].length > 0);
  const kind = kinds.find((k) => k === log.resultType) ?? kinds.reduce((a, b) => (slices[b].length > slices[a].length ? b : a));
  const { series, left } = sliceSeries(slices[kind]);
  const notes = [`voxel size ${log.voxelSize} µm from the log, the same along z (SkyScan slices are one pixel thick)`];
  if (left.length)
    notes.push(
      `not part of the numbered slice series, left out: ${left.slice(0, 5).join(', ')}${left.length > 5 ? ` and ${left.length - 5} more` : ''}`,
    );
  const others = kinds.filter((k) => k !== kind);
  if (others.length)
    notes.push(`${others.map((k) => `${slices[k].length} .${k}`).join(', ')} file(s) beside the ${kind.toUpperCase()} slices left out`);
  if (log.sections && log.sections[1] - log.sections[0] + 1 !== series.length) {
    notes.push(
      `the log lists sections ${log.sections[0]}–${log.sections[1]} (${log.sections[1] - log.sections[0] + 1} slices); the folder holds ${series.length}`,
    );
  }
  const v = log.voxelSize;
  return READERS[kind]!(dir, series, {
    format: `skyscan-${kind}`,
    placement: { voxelSize: [v, v, v], unit: 'micrometer' },
    report: { header: log.header, notes },
  });
}
