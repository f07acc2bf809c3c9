import type { Vec3 } from '../volume/box.js';
import { type LengthUnit, levelOrigin, levelVoxelSize, parseUnit } from '../volume/voxel-size.js';
import { InvalidMetadataError } from './errors.js';

/** OME-NGFF versions written: 0.4 lives in Zarr v2, 0.5 in Zarr v3. */
export type NgffVersion = '0.4' | '0.5';

export interface NgffAxis {
  name: string;
  type?: string;
  unit?: string;
}

export interface NgffLevel {
  path: string;
  /** Physical voxel size of this level along each axis of `axes`. */
  scale: number[];
  translation: number[];
}

export interface ParsedMultiscale {
  version: string;
  name?: string;
  axes: NgffAxis[];
  levels: NgffLevel[];
  /** Positions of z, y, x within `axes`. */
  spatial: [number, number, number];
  unit: LengthUnit;
  type?: string;
}

export interface MultiscaleSpec {
  name: string;
  unit: LengthUnit;
  voxelSize: Vec3;
  origin: Vec3;
  levelCount: number;
  /** How the levels were reduced: 'mean', 'max' or 'mode'. */
  method: string;
}

function axesOf(unit: LengthUnit): NgffAxis[] {
  return ['z', 'y', 'x'].map((name) => ({ name, type: 'space', ...(unit ? { unit } : {}) }));
}

/** One multiscales entry: axes z, y, x and per-level scale + translation (level l halves level l−1). */
export function buildMultiscale(version: NgffVersion, spec: MultiscaleSpec): Record<string, unknown> {
  const datasets = Array.from({ length: spec.levelCount }, (_, l) => ({
    path: String(l),
    coordinateTransformations: [
      { type: 'scale', scale: [...levelVoxelSize(spec.voxelSize, l)] },
      { type: 'translation', translation: [...levelOrigin(spec.origin, spec.voxelSize, l)] },
    ],
  }));
  return {
    ...(version === '0.4' ? { version } : {}),
    name: spec.name,
    axes: axesOf(spec.unit),
    datasets,
    type: spec.method,
    metadata: { method: `rhizoct downsample2x (${spec.method} of 2x2x2 blocks)` },
  };
}

/** Group attributes of an image: v0.4 puts `multiscales` at the top, v0.5 under `ome`. */
export function imageAttributes(
  version: NgffVersion,
  multiscale: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  if (version === '0.4') return { multiscales: [multiscale], ...extra };
  return { ome: { version, multiscales: [multiscale] }, ...extra };
}

export interface LabelColor {
  'label-value': number;
  rgba: [number, number, number, number];
}

/** Group attributes of one label image (labels/NAME): multiscales plus `image-label`. */
export function labelImageAttributes(
  version: NgffVersion,
  multiscale: Record<string, unknown>,
  colors: LabelColor[],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const imageLabel = { ...(version === '0.4' ? { version } : {}), colors, source: { image: '../../' } };
  if (version === '0.4') return { multiscales: [multiscale], 'image-label': imageLabel, ...extra };
  return { ome: { version, multiscales: [multiscale], 'image-label': imageLabel }, ...extra };
}

/** Attributes of the `labels` group listing its label images. */
export function labelsGroupAttributes(version: NgffVersion, names: string[]): Record<string, unknown> {
  if (version === '0.4') return { labels: names };
  return { ome: { version, labels: names } };
}

/** The label names listed in a `labels` group's attributes, whichever version wrote them. */
export function labelNames(attrs: Record<string, unknown>): string[] {
  const ome = attrs.ome as Record<string, unknown> | undefined;
  const list = (ome?.labels ?? attrs.labels) as unknown;
  return Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numbers(v: unknown, n: number): number[] | undefined {
  return Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (v as number[]) : undefined;
}

/** Applies a coordinateTransformations list to (scale, translation). */
function applyTransforms(file: string, list: unknown, scale: number[], translation: number[]): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw new InvalidMetadataError(file, 'coordinateTransformations is not a list');
  for (const t of list) {
    if (!isRecord(t)) throw new InvalidMetadataError(file, 'a coordinateTransformation is not an object');
    if (t.type === 'scale') {
      const s = numbers(t.scale, scale.length);
      if (!s) throw new InvalidMetadataError(file, `scale ${JSON.stringify(t.scale)} does not have ${scale.length} numbers`);
      for (let i = 0; i < s.length; i++) {
        scale[i]! *= s[i]!;
        translation[i]! *= s[i]!;
      }
    } else if (t.type === 'translation') {
      const v = numbers(t.translation, translation.length);
      if (!v)
        throw new InvalidMetadataError(file, `translation ${JSON.stringify(t.translation)} does not have ${translation.length} numbers`);
      for (let i = 0; i < v.length; i++) translation[i]! += v[i]!;
    } else if (t.type !== 'identity') {
      throw new InvalidMetadataError(file, `coordinateTransformation type ${JSON.stringify(t.type)} is not read`);
    }
  }
}

/**
 * Reads the first multiscales entry of group attributes (v0.4 at the top, v0.5 under `ome`).
 * Returns undefined when there is none. `file` names the attributes file for errors.
 */
export function parseMultiscales(file: string, attrs: Record<string, unknown>): ParsedMultiscale | undefined {
  const ome = isRecord(attrs.ome) ? attrs.ome : undefined;
  const list = ome?.multiscales ?? attrs.multiscales;
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.length === 0 || !isRecord(list[0])) {
    throw new InvalidMetadataError(file, 'multiscales is not a non-empty list of objects');
  }
  const ms = list[0];
  const version = String(ome?.version ?? ms.version ?? '');
  let axes: NgffAxis[];
  if (Array.isArray(ms.axes)) {
    // v0.3 listed axes as bare names.
    axes = ms.axes.map((a) => (typeof a === 'string' ? { name: a } : isRecord(a) ? (a as unknown as NgffAxis) : { name: '?' }));
  } else {
    throw new InvalidMetadataError(file, 'multiscales[0].axes is missing');
  }
  const names = axes.map((a) => a.name);
  const spatial = (['z', 'y', 'x'] as const).map((n) => names.indexOf(n));
  if (spatial.some((i) => i < 0)) throw new InvalidMetadataError(file, `axes ${JSON.stringify(names)} lack one of z, y, x`);
  if (!Array.isArray(ms.datasets) || ms.datasets.length === 0) throw new InvalidMetadataError(file, 'multiscales[0].datasets is empty');
  const n = axes.length;
  const levels = ms.datasets.map((d, i): NgffLevel => {
    if (!isRecord(d) || typeof d.path !== 'string') throw new InvalidMetadataError(file, `datasets[${i}] has no path`);
    const scale = new Array<number>(n).fill(1);
    const translation = new Array<number>(n).fill(0);
    applyTransforms(file, d.coordinateTransformations, scale, translation);
    applyTransforms(file, ms.coordinateTransformations, scale, translation);
    return { path: d.path, scale, translation };
  });
  const units = spatial.map((i) => axes[i]!.unit ?? '');
  const unit = parseUnit(units[2]!) ?? '';
  return {
    version,
    ...(typeof ms.name === 'string' ? { name: ms.name } : {}),
    axes,
    levels,
    spatial: spatial as [number, number, number],
    unit,
    ...(typeof ms.type === 'string' ? { type: ms.type } : {}),
  };
}
