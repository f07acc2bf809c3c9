import { type Root, type RootSystem, arcLengths } from './architecture.js';
import type { V3 } from './vec.js';

/**
 * RSML (Root System Markup Language, Lobet et al. 2015) for the ground truth: one plant whose
 * roots nest as in the file format (laterals inside their parent), each a 3D polyline (points
 * with x, y and z; the spec makes z optional) and a `diameter` function sampled at the points.
 * Coordinates are millimetres in the scan's physical frame: voxel (z, y, x) has its centre at
 * (origin + index × voxel size), x, y, z in that order; +z is the slice direction, down.
 * `unit` is mm and `resolution` 1, so coordinates read as mm whichever way a reader applies
 * the resolution.
 */
export interface RsmlInfo {
  /** Written into metadata: what produced the file and from what. */
  readonly fileKey: string;
  readonly software: string;
  /** Physical position of voxel (0, 0, 0)'s centre [x, y, z] (mm). */
  readonly origin: V3;
  /** Extra key/value pairs stored as <property> entries of the plant. */
  readonly properties?: Record<string, string | number>;
}

const ORDER_LABEL = ['primary', 'lateral-1', 'lateral-2', 'lateral-3', 'lateral-4', 'lateral-5'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number as RSML text: up to 5 decimals (10 nm), no trailing zeros. */
function num(v: number): string {
  const s = v.toFixed(5);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

export function writeRsml(sys: RootSystem, info: RsmlInfo): string {
  const children = new Map<number, number[]>();
  sys.roots.forEach((r, i) => {
    if (r.parent >= 0) {
      const l = children.get(r.parent) ?? [];
      l.push(i);
      children.set(r.parent, l);
    }
  });
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push('<rsml xmlns:po="http://www.plantontology.org/xml-dtd/po.dtd">');
  out.push('  <metadata>');
  out.push('    <version>1</version>');
  out.push('    <unit>mm</unit>');
  out.push('    <resolution>1</resolution>');
  // Fixed, not the clock: the same seed must give the same bytes (the generator version's date).
  out.push('    <last-modified>2026-11-25T00:00:00Z</last-modified>');
  out.push(`    <software>${esc(info.software)}</software>`);
  out.push('    <user>rhizoct</user>');
  out.push(`    <file-key>${esc(info.fileKey)}</file-key>`);
  out.push('    <property-definitions>');
  out.push('      <property-definition><label>order</label><type>integer</type></property-definition>');
  out.push('      <property-definition><label>length</label><type>float</type><unit>mm</unit></property-definition>');
  out.push('    </property-definitions>');
  out.push('  </metadata>');
  out.push('  <scene>');
  out.push('    <plant id="plant-1" label="synthetic">');
  if (info.properties) {
    out.push('      <properties>');
    for (const [k, v] of Object.entries(info.properties)) out.push(`        <${k}>${esc(String(v))}</${k}>`);
    out.push('      </properties>');
  }
  const o = info.origin;
  const emit = (i: number, depth: number): void => {
    const r = sys.roots[i]!;
    const pad = '  '.repeat(depth);
    const s = arcLengths(r.points);
    out.push(`${pad}<root id="root-${r.id}" label="${ORDER_LABEL[r.order] ?? `lateral-${r.order}`}">`);
    out.push(`${pad}  <properties><order>${r.order + 1}</order><length>${num(s[s.length - 1]!)}</length></properties>`);
    out.push(`${pad}  <geometry>`);
    out.push(`${pad}    <polyline>`);
    for (const p of r.points) out.push(`${pad}      <point x="${num(p[0] + o[0])}" y="${num(p[1] + o[1])}" z="${num(p[2] + o[2])}"/>`);
    out.push(`${pad}    </polyline>`);
    out.push(`${pad}  </geometry>`);
    out.push(`${pad}  <functions>`);
    out.push(`${pad}    <function name="diameter" domain="polyline">`);
    for (const rad of r.radii) out.push(`${pad}      <sample value="${num(2 * rad)}"/>`);
    out.push(`${pad}    </function>`);
    out.push(`${pad}  </functions>`);
    for (const c of children.get(i) ?? []) emit(c, depth + 1);
    out.push(`${pad}</root>`);
  };
  sys.roots.forEach((r, i) => {
    if (r.parent < 0) emit(i, 3);
  });
  out.push('    </plant>');
  out.push('  </scene>');
  out.push('</rsml>');
  return `${out.join('\n')}\n`;
}

/** A root as read back from RSML. */
export interface RsmlRoot {
  readonly id: string;
  readonly label: string;
  /** Nesting depth: 0 for roots directly in the plant. */
  readonly depth: number;
  readonly parentId: string | null;
  readonly points: V3[];
  /** Diameters at the points (mm), when the file has a diameter function. */
  readonly diameters: number[];
}

export class RsmlParseError extends Error {
  override readonly name = 'RsmlParseError';
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

/**
 * Reads the roots of an RSML document (every <root> with its polyline and diameter function).
 * Small and strict: it understands the subset `writeRsml` produces plus attribute or text
 * forms of <sample>, and names the line of anything malformed.
 */
export function parseRsml(text: string, file = 'RSML'): { unit: string; roots: RsmlRoot[] } {
  const unit = /<unit>\s*([^<]*?)\s*<\/unit>/.exec(text)?.[1] ?? '';
  const roots: RsmlRoot[] = [];
  const stack: { id: string; label: string; points: V3[]; diameters: number[]; inDiameter: boolean }[] = [];
  const tagRe = /<(\/?)([A-Za-z_][\w:.-]*)([^>]*?)(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  let inSample = false;
  const lineAt = (idx: number): number => text.slice(0, idx).split('\n').length;
  while ((m = tagRe.exec(text))) {
    if (m[5] !== undefined) {
      if (inSample && stack.length > 0 && stack[stack.length - 1]!.inDiameter) {
        const v = Number(m[5].trim());
        if (!Number.isFinite(v)) throw new RsmlParseError(file, `line ${lineAt(m.index)}: sample "${m[5].trim()}" is not a number`);
        stack[stack.length - 1]!.diameters.push(v);
      }
      continue;
    }
    const closing = m[1] === '/';
    const name = m[2]!;
    const attrs = m[3] ?? '';
    const selfClosing = m[4] === '/';
    const attr = (k: string): string | undefined => new RegExp(`\\b${k}="([^"]*)"`).exec(attrs)?.[1];
    if (name === 'root') {
      if (closing) {
        const r = stack.pop();
        if (!r) throw new RsmlParseError(file, `line ${lineAt(m.index)}: </root> without <root>`);
        roots.push({ id: r.id, label: r.label, depth: stack.length, parentId: stack.length > 0 ? stack[stack.length - 1]!.id : null, points: r.points, diameters: r.diameters });
      } else {
        stack.push({ id: attr('id') ?? `root@${lineAt(m.index)}`, label: attr('label') ?? '', points: [], diameters: [], inDiameter: false });
      }
    } else if (name === 'point' && !closing) {
      const top = stack[stack.length - 1];
      if (!top) throw new RsmlParseError(file, `line ${lineAt(m.index)}: <point> outside a <root>`);
      const x = Number(attr('x'));
      const y = Number(attr('y'));
      const z = attr('z') === undefined ? 0 : Number(attr('z'));
      if (![x, y, z].every(Number.isFinite)) throw new RsmlParseError(file, `line ${lineAt(m.index)}: <point${attrs}> needs numeric x, y (and z)`);
      top.points.push([x, y, z]);
    } else if (name === 'function') {
      const top = stack[stack.length - 1];
      if (top) top.inDiameter = !closing && !selfClosing && attr('name') === 'diameter';
    } else if (name === 'sample') {
      const top = stack[stack.length - 1];
      const v = attr('value');
      if (!closing && v !== undefined && top?.inDiameter) top.diameters.push(Number(v));
      inSample = !closing && !selfClosing;
    }
  }
  if (stack.length > 0) throw new RsmlParseError(file, `${stack.length} <root> element(s) not closed`);
  return { unit, roots };
}

/** Length of a polyline (mm). */
export function polylineLength(pts: readonly V3[]): number {
  const s = arcLengths(pts);
  return s[s.length - 1] ?? 0;
}

export type { Root };
