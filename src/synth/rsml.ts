import { writeRsml as writeRsmlDocument } from '../io/rsml.js';
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

export function writeRsml(sys: RootSystem, info: RsmlInfo): string {
  const o = info.origin;
  return writeRsmlDocument({
    unit: 'mm',
    fileKey: info.fileKey,
    software: info.software,
    // Fixed, not the clock: the same seed must give the same bytes (the generator version's date).
    lastModified: '2026-11-25T00:00:00Z',
    plantLabel: 'synthetic',
    propertyDefinitions: [
      { label: 'order', type: 'integer' },
      { label: 'length', type: 'float', unit: 'mm' },
    ],
    ...(info.properties ? { plantProperties: info.properties } : {}),
    decimals: 5, // 10 nm; points are quantised to it, so the file is exactly the geometry rendered
    roots: sys.roots.map((r: Root) => {
      const s = arcLengths(r.points);
      return {
        id: `root-${r.id}`,
        label: ORDER_LABEL[r.order] ?? `lateral-${r.order}`,
        parent: r.parent,
        points: r.points.map((p) => [p[0] + o[0], p[1] + o[1], p[2] + o[2]]),
        diameters: r.radii.map((x) => 2 * x),
        properties: { order: r.order + 1, length: s[s.length - 1]! },
      };
    }),
  });
}

/** Length of a polyline (mm). */
export function polylineLength(pts: readonly V3[]): number {
  const s = arcLengths(pts);
  return s[s.length - 1] ?? 0;
}

export type { Root };
