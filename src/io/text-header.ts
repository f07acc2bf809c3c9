import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { InvalidMetadataError, NotFoundError, TruncatedError } from './errors.js';
import type { RangeFile } from './file-range.js';

/** Text headers longer than this are not headers (NRRD's and MetaImage's are a few kB). */
export const MAX_HEADER_BYTES = 1 << 20;

/**
 * The first bytes of a file as Latin-1 text, so that string offsets are byte offsets:
 * at most MAX_HEADER_BYTES, and at least up to the place `end` finds (it returns the byte
 * just past the header, or undefined while the header has not ended).
 */
export async function readHeaderText(
  f: RangeFile,
  what: string,
  end: (text: string) => number | undefined,
): Promise<{ text: string; end: number | undefined }> {
  let n = Math.min(f.size, 64 << 10);
  for (;;) {
    const text = Buffer.from(await f.read(0, n, what)).toString('latin1');
    const e = end(text);
    if (e !== undefined || n >= Math.min(f.size, MAX_HEADER_BYTES)) return { text, end: e };
    n = Math.min(f.size, MAX_HEADER_BYTES);
  }
}

/** Byte just past line `count` from `start` (lines end in \n), reading forwards. */
export async function skipLines(f: RangeFile, start: number, count: number, what: string): Promise<number> {
  let at = start;
  let left = count;
  while (left > 0) {
    if (at >= f.size) throw new TruncatedError(f.path, `${what}: the file ends before the ${count} lines to skip`);
    const chunk = await f.read(at, Math.min(64 << 10, f.size - at), what);
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 0x0a && --left === 0) return at + i + 1;
    }
    at += chunk.length;
  }
  return at;
}

/** Parses a finite number, or throws naming the file, the field and its text. */
export function headerNumber(file: string, field: string, text: string, opts: { integer?: boolean; min?: number } = {}): number {
  const t = text.trim();
  const v = t === '' ? NaN : Number(t);
  const bad = !Number.isFinite(v) || (opts.integer && !Number.isInteger(v)) || (opts.min !== undefined && v < opts.min);
  if (bad) {
    const want = `${opts.integer ? 'a whole number' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}`;
    throw new InvalidMetadataError(file, `header field ${field} is "${text.trim()}", expected ${want}`);
  }
  return v;
}

/** Parses `count` whitespace-separated numbers (or any count when omitted). */
export function headerNumbers(
  file: string,
  field: string,
  text: string,
  count?: number,
  opts: { integer?: boolean; min?: number } = {},
): number[] {
  const parts = text.trim().split(/\s+/).filter(Boolean);
  if (count !== undefined && parts.length !== count) {
    throw new InvalidMetadataError(file, `header field ${field} is "${text.trim()}", expected ${count} numbers`);
  }
  return parts.map((p) => headerNumber(file, field, p, opts));
}

/**
 * Finds a data file named in a header: relative names are relative to the header's folder.
 * A Windows path written by scanner software (C:\scans\a.vol), or an absolute path that is
 * not there (the folder was moved), falls back to its last component beside the header.
 */
export async function findDataFile(headerPath: string, name: string, field: string): Promise<string> {
  const n = name.trim();
  const dir = dirname(headerPath);
  const candidates: string[] = [];
  const windows = /^[A-Za-z]:[\\/]/.test(n) || n.includes('\\');
  if (!windows) candidates.push(isAbsolute(n) ? n : join(dir, n));
  const last = basename(n.replace(/\\/g, '/'));
  if (windows || isAbsolute(n)) candidates.push(join(dir, last));
  for (const c of candidates) {
    if (
      await stat(c).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return c;
  }
  throw new NotFoundError(
    candidates[0]!,
    `data file named by ${field} in ${headerPath} does not exist${candidates.length > 1 ? ` (nor does ${candidates.slice(1).join(', ')})` : ''}`,
  );
}

/** An INI-like text: sections "[name]" inside optional blocks "{name}"; keys "k=v" or "k = v". */
export interface Ini {
  /** Entries in file order: block, section, key (as written), value. */
  readonly entries: { block: string; section: string; key: string; value: string }[];
}

export function parseIni(text: string): Ini {
  const entries: Ini['entries'] = [];
  let block = '';
  let section = '';
  for (const raw of text.replace(/^(\uFEFF|\xEF\xBB\xBF)/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const b = /^\{(.*)\}$/.exec(line);
    if (b) {
      block = b[1]!.trim();
      section = '';
      continue;
    }
    const s = /^\[(.*)\]$/.exec(line);
    if (s) {
      section = s[1]!.trim();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    entries.push({ block, section, key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  return { entries };
}

/** The value of `key` (any case) in `section` (any case), preferring `block` when given. */
export function iniGet(ini: Ini, section: string | undefined, key: string, block?: string): string | undefined {
  const k = key.toLowerCase();
  const match = (e: Ini['entries'][number]): boolean =>
    e.key.toLowerCase() === k && (section === undefined || e.section.toLowerCase() === section.toLowerCase());
  const inBlock = block !== undefined ? ini.entries.find((e) => e.block.toLowerCase() === block.toLowerCase() && match(e)) : undefined;
  return (inBlock ?? ini.entries.find(match))?.value;
}

/** A small text file (a scanner header or log) as Latin-1; refuses files too large to be one. */
export async function readSmallText(path: string, what: string): Promise<string> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new NotFoundError(path, 'no such file');
  if (st.size > MAX_HEADER_BYTES) throw new InvalidMetadataError(path, `is ${st.size} bytes: too large for a ${what}`);
  return (await readFile(path)).toString('latin1');
}
