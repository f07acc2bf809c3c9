/**
 * RSML (Root System Markup Language, Lobet et al. 2015): one plant whose roots nest as in the
 * format (laterals inside their parent), each a 3D polyline (x, y, z; the spec makes z optional)
 * with a `diameter` function sampled at its points (`<sample value="…"/>`, as the RSML schema has
 * it). Coordinates are in `unit`; `resolution` is written as 1, so a reader gets the same
 * numbers however it applies it. The generator's ground truth and the traits of a segmentation
 * are both written here, and both read back here.
 */

export type XYZ = [number, number, number];

export interface RsmlPropertyDefinition {
  readonly label: string;
  readonly type: 'integer' | 'float' | 'string';
  readonly unit?: string;
}

/** A root to write: `parent` is the index of its parent in the list (−1 for a root of the plant). */
export interface RsmlRootOut {
  readonly id: string;
  readonly label: string;
  readonly parent: number;
  readonly points: readonly (readonly number[])[];
  readonly diameters: readonly number[];
  /** Root properties in the order written (numbers). */
  readonly properties: Readonly<Record<string, number>>;
}

export interface RsmlDocument {
  /** RSML unit name: 'mm', 'um', 'cm', 'm' or 'pixel'. */
  readonly unit: string;
  readonly fileKey: string;
  readonly software: string;
  /** ISO 8601 date-time for last-modified. */
  readonly lastModified: string;
  readonly plantLabel: string;
  readonly propertyDefinitions: readonly RsmlPropertyDefinition[];
  /** Plant-level properties (written when there are any). */
  readonly plantProperties?: Readonly<Record<string, string | number>>;
  /** Decimals written for coordinates, diameters and properties (trailing zeros dropped). */
  readonly decimals: number;
  readonly roots: readonly RsmlRootOut[];
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A number as RSML text: `decimals` decimals at most, no exponent, no trailing zeros. */
function fmt(v: number, decimals: number): string {
  if (!Number.isFinite(v)) return '0';
  const s = v.toFixed(decimals);
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '').replace(/^-0$/, '0') : s;
}

export function writeRsml(doc: RsmlDocument): string {
  const num = (v: number): string => fmt(v, doc.decimals);
  if (doc.roots.some((r) => r.points.length < 2)) throw new RangeError('writeRsml: every root needs at least two points');
  const children = new Map<number, number[]>();
  doc.roots.forEach((r, i) => {
    if (r.parent < 0) return;
    const l = children.get(r.parent) ?? [];
    l.push(i);
    children.set(r.parent, l);
  });
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push('<rsml xmlns:po="http://www.plantontology.org/xml-dtd/po.dtd">');
  out.push('  <metadata>');
  out.push('    <version>1</version>');
  out.push(`    <unit>${esc(doc.unit)}</unit>`);
  out.push('    <resolution>1</resolution>');
  out.push(`    <last-modified>${esc(doc.lastModified)}</last-modified>`);
  out.push(`    <software>${esc(doc.software)}</software>`);
  out.push('    <user>rhizoct</user>');
  out.push(`    <file-key>${esc(doc.fileKey)}</file-key>`);
  out.push('    <property-definitions>');
  for (const d of doc.propertyDefinitions) {
    out.push(
      `      <property-definition><label>${esc(d.label)}</label><type>${d.type}</type>${d.unit !== undefined ? `<unit>${esc(d.unit)}</unit>` : ''}</property-definition>`,
    );
  }
  out.push('    </property-definitions>');
  out.push('  </metadata>');
  out.push('  <scene>');
  out.push(`    <plant id="plant-1" label="${esc(doc.plantLabel)}">`);
  if (doc.plantProperties && Object.keys(doc.plantProperties).length) {
    out.push('      <properties>');
    for (const [k, v] of Object.entries(doc.plantProperties)) out.push(`        <${k}>${esc(String(v))}</${k}>`);
    out.push('      </properties>');
  }
  const emit = (i: number, depth: number): void => {
    const r = doc.roots[i]!;
    const pad = '  '.repeat(depth);
    out.push(`${pad}<root id="${esc(r.id)}" label="${esc(r.label)}">`);
    out.push(
      `${pad}  <properties>${Object.entries(r.properties)
        .map(([k, v]) => `<${k}>${num(v)}</${k}>`)
        .join('')}</properties>`,
    );
    out.push(`${pad}  <geometry>`);
    out.push(`${pad}    <polyline>`);
    for (const p of r.points) out.push(`${pad}      <point x="${num(p[0]!)}" y="${num(p[1]!)}" z="${num(p[2]!)}"/>`);
    out.push(`${pad}    </polyline>`);
    out.push(`${pad}  </geometry>`);
    out.push(`${pad}  <functions>`);
    out.push(`${pad}    <function name="diameter" domain="polyline">`);
    for (const d of r.diameters) out.push(`${pad}      <sample value="${num(d)}"/>`);
    out.push(`${pad}    </function>`);
    out.push(`${pad}  </functions>`);
    for (const c of children.get(i) ?? []) emit(c, depth + 1);
    out.push(`${pad}</root>`);
  };
  doc.roots.forEach((r, i) => {
    if (r.parent < 0) emit(i, 3);
  });
  out.push('    </plant>');
  out.push('  </scene>');
  out.push('</rsml>');
  return `${out.join('\n')}\n`;
}

/** A root as read from RSML. */
export interface RsmlRoot {
  readonly id: string;
  readonly label: string;
  /** Index (in the returned list) of the enclosing root, −1 at the top. */
  readonly parent: number;
  readonly parentId: string | null;
  /** Nesting depth: 0 for roots directly in the plant. */
  readonly depth: number;
  /** Polyline in `unit` (coordinates divided by the resolution); z is 0 where absent. */
  readonly points: XYZ[];
  /** Diameters at the points, when the file has a diameter function. */
  readonly diameters: number[];
}

export class RsmlError extends Error {
  override readonly name = 'RsmlError';
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

/**
 * Reads every root of an RSML document: polylines and the `diameter` function (samples as
 * `value` attributes or as text). Small and strict: it names the line of anything malformed.
 * Roots are listed in document order (a parent before its laterals).
 */
export function readRsml(text: string, file = 'RSML'): { unit: string; resolution: number; roots: RsmlRoot[] } {
  const unit = /<unit>\s*([^<]*?)\s*<\/unit>/.exec(text)?.[1] ?? '';
  const resText = /<resolution>\s*([^<]*?)\s*<\/resolution>/.exec(text)?.[1];
  const resolution = resText === undefined ? 1 : Number(resText);
  if (!(resolution > 0)) throw new RsmlError(file, `resolution "${resText}" is not a positive number`);
  const roots: RsmlRoot[] = [];
  interface Open {
    id: string;
    label: string;
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
        const parentId = r.parent >= 0 ? roots[r.parent]!.id : null;
        roots[r.slot] = {
          id: r.id,
          label: r.label,
          parent: r.parent,
          parentId,
          depth: stack.length,
          points: r.points,
          diameters: r.diameters,
        };
      } else {
        const slot = roots.length;
        const id = attr('id') ?? `root@${lineAt(m.index)}`;
        roots.push({ id, label: '', parent: -1, parentId: null, depth: 0, points: [], diameters: [] });
        stack.push({ id, label: attr('label') ?? '', parent: top ? top.slot : -1, points: [], diameters: [], slot });
      }
    } else if (name === 'polyline') {
      inPolyline = !closing && !selfClosing;
    } else if (name === 'point' && !closing) {
      if (!top) throw new RsmlError(file, `line ${lineAt(m.index)}: <point> outside a <root>`);
      if (!inPolyline) continue;
      const x = Number(attr('x'));
      const y = Number(attr('y'));
      const zt = attr('z');
      const z = zt === undefined ? 0 : Number(zt);
      if (![x, y, z].every(Number.isFinite))
        throw new RsmlError(file, `line ${lineAt(m.index)}: <point${attrs}> needs numeric x, y (and z)`);
      top.points.push([x / resolution, y / resolution, z / resolution]);
    } else if (name === 'function') {
      fn = closing || selfClosing ? undefined : attr('name');
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
  if (stack.length) throw new RsmlError(file, `${stack.length} <root> element(s) not closed`);
  return { unit, resolution, roots };
}
