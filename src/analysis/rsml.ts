import type { ArchRoot } from './architecture.js';
import type { XYZ } from './graph.js';

/**
 * RSML (Root System Markup Language, Lobet et al. 2015) for a measured root system: one plant,
 * laterals nested in their parent root, each root a 3D polyline (x, y, z) with a `diameter`
 * function sampled at its points (`<sample value="…"/>`, as the RSML schema has it). Coordinates
 * are in `unit` in the scan's physical frame: voxel (z, y, x)'s centre sits at
 * origin + index × voxel size; +z is the slice direction (down into the soil for a scan taken top
 * first). `resolution` is 1, so a reader gets the same numbers however it applies it.
 */
export interface RsmlWriteInfo {
  /** RSML unit name: 'mm', 'um', 'cm', 'm' or 'pixel' (when the scan has no voxel size). */
  readonly unit: string;
  readonly fileKey: string;
  readonly software: string;
  /** ISO 8601 date-time for last-modified (default: now). */
  readonly lastModified?: string;
  /** Extra plant-level properties. */
  readonly properties?: Record<string, string | number>;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number as RSML text: up to 6 significant decimals, no exponent, no trailing zeros. */
function num(v: number): string {
  if (!Number.isFinite(v)) return '0';
  const s = v.toFixed(6);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '').replace(/^-0$/, '0') : s;
}

export function writeRsml(roots: readonly ArchRoot[], info: RsmlWriteInfo): string {
  const children = new Map<number, number[]>();
  for (const r of roots) {
    if (r.parent < 0) continue;
    const l = children.get(r.parent) ?? [];
    l.push(r.id);
    children.set(r.parent, l);
  }
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push('<rsml xmlns:po="http://www.plantontology.org/xml-dtd/po.dtd">');
  out.push('  <metadata>');
  out.push('    <version>1</version>');
  out.push(`    <unit>${esc(info.unit)}</unit>`);
  out.push('    <resolution>1</resolution>');
  out.push(`    <last-modified>${esc(info.lastModified ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'))}</last-modified>`);
  out.push(`    <software>${esc(info.software)}</software>`);
  out.push('    <user>rhizoct</user>');
  out.push(`    <file-key>${esc(info.fileKey)}</file-key>`);
  out.push('    <property-definitions>');
  out.push('      <property-definition><label>order</label><type>integer</type></property-definition>');
  out.push(`      <property-definition><label>length</label><type>float</type><unit>${esc(info.unit)}</unit></property-definition>`);
  out.push('      <property-definition><label>branching-angle</label><type>float</type><unit>degree</unit></property-definition>');
  out.push('    </property-definitions>');
  out.push('  </metadata>');
  out.push('  <scene>');
  out.push('    <plant id="plant-1" label="measured">');
  if (info.properties && Object.keys(info.properties).length) {
    out.push('      <properties>');
    for (const [k, v] of Object.entries(info.properties)) out.push(`        <${k}>${esc(String(v))}</${k}>`);
    out.push('      </properties>');
  }
  const emit = (r: ArchRoot, depth: number): void => {
    const pad = '  '.repeat(depth);
    out.push(`${pad}<root id="root-${r.id + 1}" label="${r.order === 1 ? 'primary' : `lateral-${r.order - 1}`}">`);
    const angle = r.branchAngle !== undefined ? `<branching-angle>${num(r.branchAngle)}</branching-angle>` : '';
    out.push(`${pad}  <properties><order>${r.order}</order><length>${num(r.length)}</length>${angle}</properties>`);
    out.push(`${pad}  <geometry>`);
    out.push(`${pad}    <polyline>`);
    for (const p of r.points) out.push(`${pad}      <point x="${num(p[0])}" y="${num(p[1])}" z="${num(p[2])}"/>`);
    out.push(`${pad}    </polyline>`);
    out.push(`${pad}  </geometry>`);
    out.push(`${pad}  <functions>`);
    out.push(`${pad}    <function name="diameter" domain="polyline">`);
    for (const d of r.diameters) out.push(`${pad}      <sample value="${num(d)}"/>`);
    out.push(`${pad}    </function>`);
    out.push(`${pad}  </functions>`);
    for (const c of children.get(r.id) ?? []) emit(roots[c]!, depth + 1);
    out.push(`${pad}</root>`);
  };
  // The schema wants at least two points per polyline and one root per plant.
  const writable = roots.filter((r) => r.points.length >= 2);
  if (writable.length !== roots.length) throw new RangeError('writeRsml: every root needs at least two points');
  for (const r of roots) if (r.parent < 0) emit(r, 3);
  out.push('    </plant>');
  out.push('  </scene>');
  out.push('</rsml>');
  return `${out.join('\n')}\n`;
}

/** A root as read from RSML. */
export interface RsmlReadRoot {
  readonly id: string;
  /** Index (in the returned list) of the enclosing root, −1 at the top. */
  readonly parent: number;
  readonly points: XYZ[];
  readonly diameters: number[];
}

export class RsmlError extends Error {
  override readonly name = 'RsmlError';
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

/**
 * Reads every root of an RSML document: polylines (z optional, 0 when absent) and the
 * `diameter` function (samples as `value` attributes or as text). Coordinates are multiplied by
 * 1/resolution so they come back in `unit`.
 */
export function readRsml(text: string, file = 'RSML'): { unit: string; resolution: number; roots: RsmlReadRoot[] } {
  const unit = /<unit>\s*([^<]*?)\s*<\/unit>/.exec(text)?.[1] ?? '';
  const resText = /<resolution>\s*([^<]*?)\s*<\/resolution>/.exec(text)?.[1];
  const resolution = resText === undefined ? 1 : Number(resText);
  if (!(resolution > 0)) throw new RsmlError(file, `resolution "${resText}" is not a positive number`);
  const roots: RsmlReadRoot[] = [];
  interface Open {
    id: string;
    parent: number;
    points: XYZ[];
    diameters: number[];
    slot: number;
  }
  const stack: Open[] = [];
  let inPolyline = false;
  let fn: string | undefined;
  let inSample = false;
  const lineAt = (idx: number): number => text.slice(0, idx).split('\n').length;
  const re = /<(\/?)([A-Za-z_][\w:.-]*)([^>]*?)(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const top = stack[stack.length - 1];
    if (m[5] !== undefined) {
      if (inSample && top && fn === 'diameter' && m[5].trim()) {
        const v = Number(m[5].trim());
        if (!Number.isFinite(v)) throw new RsmlError(file, `line ${lineAt(m.index)}: sample "${m[5].trim()}" is not a number`);
        top.diameters.push(v);
      }
      continue;
    }
    const closing = m[1] === '/';
    const name = m[2]!;
    const attrs = m[3] ?? '';
    const selfClosing = m[4] === '/';
    const attr = (k: string): string | undefined => new RegExp(`(?:^|\\s)${k}="([^"]*)"`).exec(attrs)?.[1];
    if (name === 'root') {
      if (closing) {
        const r = stack.pop();
        if (!r) throw new RsmlError(file, `line ${lineAt(m.index)}: </root> without <root>`);
        roots[r.slot] = { id: r.id, parent: r.parent, points: r.points, diameters: r.diameters };
      } else {
        const slot = roots.length;
        roots.push({ id: '', parent: -1, points: [], diameters: [] });
        stack.push({ id: attr('id') ?? `root@${lineAt(m.index)}`, parent: top ? top.slot : -1, points: [], diameters: [], slot });
      }
    } else if (name === 'polyline') {
      inPolyline = !closing && !selfClosing;
    } else if (name === 'point' && inPolyline && top && !closing) {
      const x = Number(attr('x'));
      const y = Number(attr('y'));
      const zt = attr('z');
      const z = zt === undefined ? 0 : Number(zt);
      if (![x, y, z].every(Number.isFinite)) throw new RsmlError(file, `line ${lineAt(m.index)}: point without numeric x/y/z`);
      top.points.push([x / resolution, y / resolution, z / resolution]);
    } else if (name === 'function') {
      fn = closing ? undefined : attr('name');
    } else if (name === 'sample') {
      if (closing) inSample = false;
      else {
        const v = attr('value');
        if (v !== undefined && top && fn === 'diameter') {
          const n = Number(v);
          if (!Number.isFinite(n)) throw new RsmlError(file, `line ${lineAt(m.index)}: sample value "${v}" is not a number`);
          top.diameters.push(n);
        } else inSample = !selfClosing;
      }
    }
  }
  if (stack.length) throw new RsmlError(file, `${stack.length} <root> element(s) never closed`);
  return { unit, resolution, roots };
}
