import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';

/**
 * Serving files from a folder without ever leaving it. Pure checks on the request path come
 * first (they need no disk); the real path of the file is checked last, so a symbolic link
 * that points out of the folder is refused too.
 */

/** Why a request path was refused, as the HTTP status to answer. */
export type Refusal = { status: 400 | 403 | 404; reason: string };

/**
 * Splits the part of a raw request path below a mount point (e.g. "0/1/2/3" for a chunk) into
 * decoded segments. Refuses: undecodable escapes; segments that are "..", ".", empty (so "//x",
 * an absolute path, is refused) or hold "/", "\\" or NUL once decoded (encoded traversal).
 */
export function splitRequestPath(raw: string): string[] | Refusal {
  if (raw === '') return [];
  const parts = raw.split('/');
  const out: string[] = [];
  for (const p of parts) {
    let d: string;
    try {
      d = decodeURIComponent(p);
    } catch {
      return { status: 400, reason: `undecodable path segment ${JSON.stringify(p)}` };
    }
    if (d === '' || d === '.' || d === '..') return { status: 403, reason: `path segment ${JSON.stringify(p)} is not allowed` };
    if (/[/\\\0]/.test(d)) return { status: 403, reason: `path segment ${JSON.stringify(p)} holds a separator or NUL` };
    if (/^[A-Za-z]:/.test(d)) return { status: 403, reason: `path segment ${JSON.stringify(p)} looks like a drive` };
    out.push(d);
  }
  return out;
}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The real path of the regular file at `segments` below `root`, or why not. `root` need not be a
 * real path; both are resolved through symbolic links before they are compared.
 */
export async function resolveFileInside(
  root: string,
  segments: readonly string[],
): Promise<{ file: string; size: number; mtime: Date } | Refusal> {
  const candidate = join(root, ...segments);
  if (!inside(root, candidate)) return { status: 403, reason: 'path leaves the served folder' };
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(candidate);
  } catch {
    return { status: 404, reason: 'not found' };
  }
  if (!inside(realRoot, real)) return { status: 403, reason: 'path leads out of the served folder' };
  const st = await stat(real).catch(() => undefined);
  if (!st || !st.isFile()) return { status: 404, reason: 'not found' };
  return { file: real, size: st.size, mtime: st.mtime };
}

export function isRefusal(v: unknown): v is Refusal {
  return typeof v === 'object' && v !== null && 'status' in v && 'reason' in v;
}

/** A byte range [start, end] (inclusive) of a file of `size` bytes. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a Range header for a file of `size` bytes: undefined means serve the whole file
 * (no header, another unit, or several ranges, which RFC 9110 lets a server ignore);
 * 'unsatisfiable' means answer 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header.trim());
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return 'unsatisfiable';
  return { start, end };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.vtp': 'application/xml',
  '.xml': 'application/xml',
  '.rsml': 'application/xml',
  '.zattrs': 'application/json',
  '.zarray': 'application/json',
  '.zgroup': 'application/json',
  '.zmetadata': 'application/json',
};

/** The Content-Type for a file name; Zarr chunks (no known extension) are octet streams. */
export function contentType(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  if (base === 'zarr.json') return 'application/json';
  const dot = base.lastIndexOf('.');
  const ext = dot >= 0 ? base.slice(dot).toLowerCase() : '';
  return TYPES[ext] ?? 'application/octet-stream';
}
