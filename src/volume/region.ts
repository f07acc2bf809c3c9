import { type Box, type Vec3, boxEnd } from './box.js';

/**
 * A region of a scan to segment: a box of full-resolution (level-0) voxels, written as half-open
 * ranges per axis, z0:z1,y0:y1,x0:x1 on the command line (as a Python slice: z0 included, z1 not)
 * and [[z0, z1], [y0, y1], [x0, x1]] in JSON (the viewer's request, the output's metadata).
 */

/** The JSON form: [[z0, z1], [y0, y1], [x0, x1]], half-open. */
export type RegionRanges = [[number, number], [number, number], [number, number]];

const AXES = ['z', 'y', 'x'] as const;

export function regionRanges(b: Box): RegionRanges {
  const e = boxEnd(b);
  return [
    [b.offset[0], e[0]],
    [b.offset[1], e[1]],
    [b.offset[2], e[2]],
  ];
}

/** "z0:z1,y0:y1,x0:x1", the command line's form. */
export function formatRegion(b: Box): string {
  return regionRanges(b)
    .map(([lo, hi]) => `${lo}:${hi}`)
    .join(',');
}

/** Why `ranges` is not a region of a volume of `shape` (or of any volume, without one); null when it is. */
export function regionProblem(ranges: unknown, shape?: Vec3): string | null {
  if (!Array.isArray(ranges) || ranges.length !== 3) return 'must be three ranges, z, y and x';
  for (let a = 0; a < 3; a++) {
    const r: unknown = ranges[a];
    const name = AXES[a];
    if (!Array.isArray(r) || r.length !== 2) return `${name} must be a range [start, end]`;
    const [lo, hi] = r as unknown[];
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi))
      return `${name} ${JSON.stringify(lo)}:${JSON.stringify(hi)} must be whole numbers`;
    if ((lo as number) < 0) return `${name} starts at ${String(lo)}, before the scan's first voxel 0`;
    if ((hi as number) <= (lo as number))
      return `${name} ${String(lo)}:${String(hi)} is empty (the end is excluded, so it must be above the start)`;
    if (shape && (hi as number) > shape[a]!)
      return `${name} ${String(lo)}:${String(hi)} ends past the scan's ${shape[a]} voxels along ${name} (0:${shape[a]})`;
  }
  return null;
}

/** The box of checked ranges; throws a RangeError saying what is wrong, prefixed by `what`. */
export function regionBox(ranges: unknown, shape: Vec3 | undefined, what: string): Box {
  const p = regionProblem(ranges, shape);
  if (p) throw new RangeError(`${what}: ${p}, got ${JSON.stringify(ranges)}`);
  const r = ranges as RegionRanges;
  return { offset: [r[0][0], r[1][0], r[2][0]], shape: [r[0][1] - r[0][0], r[1][1] - r[1][0], r[2][1] - r[2][0]] };
}

/**
 * A cube of side `side` (or the whole axis where the scan is smaller) around `centre`, shifted to
 * lie inside the scan rather than cut by its edge, so it keeps its size wherever the cursor is.
 */
export function boxAround(centre: Vec3, side: number, shape: Vec3): Box {
  const offset = [0, 0, 0];
  const size = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const n = Math.max(1, Math.min(shape[a]!, Math.round(side)));
    const lo = Math.round(centre[a]! - n / 2);
    offset[a] = Math.max(0, Math.min(shape[a]! - n, lo));
    size[a] = n;
  }
  return { offset: offset as unknown as Vec3, shape: size as unknown as Vec3 };
}
