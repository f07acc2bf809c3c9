import type { RsmlRoot } from '../io/rsml.js';
import { dist, lerp, segmentParam, type V3 } from './vec.js';

/** The generator's root tips inside a field of view, by what a mask of them can show. */
export interface TipCounts {
  /** Free tips: a mask shows them as tips. */
  readonly free: number;
  /** Tips lying against another root (roots grow into contact): in a mask, junctions. */
  readonly touching: number;
  /** Tips within their radius plus a voxel of a face: in a mask, ends cut by the field of view. */
  readonly atFace: number;
}

/**
 * Classifies the last point of every root of a ground-truth RSML (coordinates in mm from the
 * scan's corner, 0 … extent along x, y, z) as `traits` can see it: near a face (the rule `traits`
 * uses for cut ends), touching another root (its surface within a voxel of another root's), or
 * free. Tips outside the field of view are not counted.
 */
export function classifyTips(roots: readonly RsmlRoot[], extentMm: readonly [number, number, number], voxelMm: number): TipCounts {
  let free = 0;
  let touching = 0;
  let atFace = 0;
  for (const root of roots) {
    const p = root.points[root.points.length - 1]!;
    if (p.some((v, k) => v < 0 || v > extentMm[k]!)) continue;
    const r = (root.diameters[root.diameters.length - 1] ?? 0) / 2;
    if (p.some((v, k) => v - r - voxelMm <= 0 || extentMm[k]! - v - r - voxelMm <= 0)) atFace++;
    else if (surfaceGap(p, r, roots, root) <= voxelMm) touching++;
    else free++;
  }
  return { free, touching, atFace };
}

/** Smallest distance between the sphere (p, r) and the tapered tubes of the other roots. */
function surfaceGap(p: V3, r: number, roots: readonly RsmlRoot[], self: RsmlRoot): number {
  let best = Infinity;
  for (const o of roots) {
    if (o === self) continue;
    for (let i = 0; i + 1 < o.points.length; i++) {
      const a = o.points[i]!;
      const b = o.points[i + 1]!;
      const t = segmentParam(p, a, b);
      const da = o.diameters[i] ?? 0;
      const db = o.diameters[i + 1] ?? 0;
      best = Math.min(best, dist(p, lerp(a, b, t)) - (da + (db - da) * t) / 2 - r);
    }
  }
  return best;
}
