import { type Axis, planeAxes, type PlaneView, rowsCols, screenToPlane, type Vec3 } from './paint-geometry.js';

/**
 * The region the Segment button runs over by default, "region in view": along each axis, the
 * voxels the slice views show (while annotating, the two full-resolution slices that have that
 * axis, as zoomed and panned; otherwise the whole axis). Where that is more than `maxSide` (128)
 * voxels, the block of 128 holding the cursor (where the three slices cross), aligned to 128 on
 * the server's 64-voxel chunk grid: a press costs at most 2 × 2 × 2 chunks of 64³ (the server
 * segments whole chunks), and on a scan large enough that `segment` predicts 128³ tiles, one
 * network patch instead of the eight a block across the tiles' lattice would need. The cost is
 * shown before the button is pressed. Pure arithmetic.
 */

/** Half-open voxel ranges [[z0, z1], [y0, y1], [x0, x1]], the form POST /api/segment takes. */
export type Ranges = [[number, number], [number, number], [number, number]];

/** The chunk side `rhizoct view` segments with (src/pipeline/annotation-jobs.ts). */
export const SEGMENT_CHUNK = 64;
/** Largest side of the default region: 128³ voxels, 8 chunks or fewer — minutes on a CPU, seconds on a GPU. */
export const REGION_MAX_SIDE = 128;

/** The voxels of the slice a plane view shows on a canvas of width × height: rows and columns, half-open, or undefined when none. */
export function visibleRanges(v: PlaneView, width: number, height: number): { rows: [number, number]; cols: [number, number] } | undefined {
  const { rows, cols } = rowsCols(v);
  const [r0, c0] = screenToPlane(v, 0, 0);
  const [r1, c1] = screenToPlane(v, width, height);
  const rr: [number, number] = [Math.max(0, Math.floor(r0)), Math.min(rows, Math.ceil(r1))];
  const cc: [number, number] = [Math.max(0, Math.floor(c0)), Math.min(cols, Math.ceil(c1))];
  if (rr[1] <= rr[0] || cc[1] <= cc[0]) return undefined;
  return { rows: rr, cols: cc };
}

/**
 * The region in view: `views` are the slice views shown now (axis, view, canvas size); each axis
 * takes the union of what the views having it show (the whole axis where none does); where that
 * is wider than `maxSide`, the aligned block of `maxSide` voxels of whole chunks holding the cursor.
 */
export function regionInView(
  shape: Vec3,
  cursor: Vec3,
  views: { axis: Axis; view: PlaneView; width: number; height: number }[],
  maxSide = REGION_MAX_SIDE,
  chunk = SEGMENT_CHUNK,
): Ranges {
  const seen: ([number, number] | undefined)[] = [undefined, undefined, undefined];
  const add = (a: Axis, r: [number, number]): void => {
    const s = seen[a];
    seen[a] = s ? [Math.min(s[0], r[0]), Math.max(s[1], r[1])] : r;
  };
  for (const { axis, view, width, height } of views) {
    const vis = visibleRanges(view, width, height);
    if (!vis) continue;
    const [ra, ca] = planeAxes(axis);
    add(ra, vis.rows);
    add(ca, vis.cols);
  }
  return [0, 1, 2].map((a) => {
    const [lo, hi] = seen[a] ?? [0, shape[a]!];
    if (hi - lo <= maxSide) return [lo, hi];
    // The aligned block of whole chunks holding the cursor (moved into view first).
    const c = Math.max(lo, Math.min(hi - 1, cursor[a]!));
    const side = Math.max(1, Math.floor(maxSide / chunk)) * chunk;
    const first = Math.floor(c / side) * side;
    return [first, Math.min(shape[a]!, first + side)];
  }) as Ranges;
}

/** Voxels of the region, and of the chunks it meets (what the server computes). */
export function regionCost(r: Ranges, shape: Vec3, chunk = SEGMENT_CHUNK): { voxels: number; chunks: number; chunkVoxels: number } {
  let voxels = 1;
  let chunks = 1;
  let chunkVoxels = 1;
  for (let a = 0; a < 3; a++) {
    const [lo, hi] = r[a]!;
    voxels *= hi - lo;
    const c0 = Math.floor(lo / chunk);
    const c1 = Math.ceil(hi / chunk);
    chunks *= c1 - c0;
    chunkVoxels *= Math.min(shape[a]!, c1 * chunk) - c0 * chunk;
  }
  return { voxels, chunks, chunkVoxels };
}

/** "z 0–63, y 16–143, x 0–127" (first and last voxel, as the slice sliders count). */
export function formatRanges(r: Ranges): string {
  return r.map(([lo, hi], a) => `${'zyx'[a]} ${lo}–${hi - 1}`).join(', ');
}

/** The panel's line under the Segment button: what a press would segment and how much. */
export function describeRegion(r: Ranges, shape: Vec3, whole: boolean): string {
  const total = shape[0] * shape[1] * shape[2];
  const mv = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${Math.round(n / 1e3)} k`);
  if (whole) return `Whole scan: ${shape.join('×')} voxels (${mv(total)}), as long as rhizoct segment takes.`;
  const c = regionCost(r, shape);
  return `Region in view (what the slices show; where that is over ${REGION_MAX_SIDE} voxels, the block of ${REGION_MAX_SIDE} holding the cursor; zoom in to narrow it): ${formatRanges(r)} (${r.map(([lo, hi]) => hi - lo).join('×')} voxels); segments the ${c.chunks} chunk${c.chunks === 1 ? '' : 's'} of ${SEGMENT_CHUNK}³ it meets, ${mv(c.chunkVoxels)} voxels, ${((100 * c.chunkVoxels) / total).toFixed(c.chunkVoxels / total < 0.1 ? 1 : 0)}% of the scan.`;
}
