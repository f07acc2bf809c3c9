import type { ArchRoot } from './architecture.js';
import { writeRsml as writeRsmlDocument } from '../io/rsml.js';

/**
 * RSML for a measured root system (the document is written by `io/rsml`): laterals nested in
 * their parent root, coordinates in `unit` in the scan's physical frame (voxel (z, y, x)'s centre
 * at origin + index × voxel size; +z is the slice direction, down into the soil for a scan taken
 * top first), each root with its order, length and branching angle.
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

export function writeRsml(roots: readonly ArchRoot[], info: RsmlWriteInfo): string {
  const index = new Map(roots.map((r, i) => [r.id, i]));
  return writeRsmlDocument({
    unit: info.unit,
    fileKey: info.fileKey,
    software: info.software,
    lastModified: info.lastModified ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    plantLabel: 'measured',
    propertyDefinitions: [
      { label: 'order', type: 'integer' },
      { label: 'length', type: 'float', unit: info.unit },
      { label: 'branching-angle', type: 'float', unit: 'degree' },
    ],
    ...(info.properties ? { plantProperties: info.properties } : {}),
    decimals: 6,
    roots: roots.map((r) => ({
      id: `root-${r.id + 1}`,
      label: r.order === 1 ? 'primary' : `lateral-${r.order - 1}`,
      parent: r.parent < 0 ? -1 : index.get(r.parent)!,
      points: r.points,
      diameters: r.diameters,
      properties: { order: r.order, length: r.length, ...(r.branchAngle !== undefined ? { 'branching-angle': r.branchAngle } : {}) },
    })),
  });
}
