/**
 * Where a voxel of a full-resolution slice is on screen and back, and which voxels a brush
 * covers: pure arithmetic, no DOM, tested in Node. Index order is z, y, x throughout. A slice
 * along `axis` is shown with the lower of its two other axes as rows (top to bottom) and the
 * higher as columns (left to right): a z slice has rows y and columns x, a y slice rows z and
 * columns x, an x slice rows z and columns y. Voxels are drawn with their physical aspect, so a
 * voxel of 0.05 × 0.04 mm is 1.25 times as tall as it is wide.
 */

export type Vec3 = [number, number, number];
export type Axis = 0 | 1 | 2;

/** The axes shown as rows and columns of a slice along `axis`. */
export function planeAxes(axis: Axis): [row: Axis, col: Axis] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
}

/** How one slice is placed on its canvas: CSS pixels per physical unit, and the pixel of the corner of voxel (row 0, column 0). */
export interface PlaneView {
  axis: Axis;
  /** Level-0 shape and voxel size, z, y, x. */
  shape: Vec3;
  spacing: Vec3;
  scale: number;
  left: number;
  top: number;
}

export function rowsCols(v: Pick<PlaneView, 'axis' | 'shape' | 'spacing'>): {
  rows: number;
  cols: number;
  rowSize: number;
  colSize: number;
} {
  const [r, c] = planeAxes(v.axis);
  return { rows: v.shape[r], cols: v.shape[c], rowSize: v.spacing[r], colSize: v.spacing[c] };
}

/** The whole slice centred in a canvas of width × height CSS pixels, with a small margin. */
export function fitView(axis: Axis, shape: Vec3, spacing: Vec3, width: number, height: number): PlaneView {
  const { rows, cols, rowSize, colSize } = rowsCols({ axis, shape, spacing });
  const scale = 0.96 * Math.min(width / (cols * colSize), height / (rows * rowSize));
  return { axis, shape, spacing, scale, left: (width - cols * colSize * scale) / 2, top: (height - rows * rowSize * scale) / 2 };
}

/** Zooms by `factor` keeping the point under (px, py) where it is. */
export function zoomAt(v: PlaneView, px: number, py: number, factor: number): PlaneView {
  return { ...v, scale: v.scale * factor, left: px - (px - v.left) * factor, top: py - (py - v.top) * factor };
}

export function pan(v: PlaneView, dx: number, dy: number): PlaneView {
  return { ...v, left: v.left + dx, top: v.top + dy };
}

/** A point of the slice in continuous (row, column) voxel units: voxel (r, c) spans [r, r+1) × [c, c+1). */
export function screenToPlane(v: PlaneView, px: number, py: number): [number, number] {
  const { rowSize, colSize } = rowsCols(v);
  return [(py - v.top) / (rowSize * v.scale), (px - v.left) / (colSize * v.scale)];
}

/** The screen pixel of the centre of voxel (row, col). */
export function planeToScreen(v: PlaneView, row: number, col: number): [number, number] {
  const { rowSize, colSize } = rowsCols(v);
  return [v.left + (col + 0.5) * colSize * v.scale, v.top + (row + 0.5) * rowSize * v.scale];
}

/** The z, y, x index of voxel (row, col) of slice k along the view's axis. */
export function planeToVoxel(axis: Axis, k: number, row: number, col: number): Vec3 {
  const [ra, ca] = planeAxes(axis);
  const out: Vec3 = [0, 0, 0];
  out[axis] = k;
  out[ra] = row;
  out[ca] = col;
  return out;
}

/** The voxel under a screen pixel of slice k, or undefined off the slice. */
export function screenToVoxel(v: PlaneView, k: number, px: number, py: number): Vec3 | undefined {
  const [rf, cf] = screenToPlane(v, px, py);
  const r = Math.floor(rf);
  const c = Math.floor(cf);
  const { rows, cols } = rowsCols(v);
  if (r < 0 || c < 0 || r >= rows || c >= cols) return undefined;
  return planeToVoxel(v.axis, k, r, c);
}

/** Where voxel (z, y, x) is drawn on the view of its slice along the view's axis. */
export function voxelToScreen(v: PlaneView, voxel: Vec3): [number, number] {
  const [ra, ca] = planeAxes(v.axis);
  return planeToScreen(v, voxel[ra], voxel[ca]);
}

/**
 * The (row, col) of the voxels a round brush covers when dragged in a straight line from `a` to
 * `b` (continuous plane points, see screenToPlane). The brush is a disc of `radius` voxels of the
 * finer in-plane axis, round in physical space; radius 0 paints the voxels the line passes.
 * Returned as row * cols + col, each once, in the slice's bounds.
 */
export function brushLine(
  v: Pick<PlaneView, 'axis' | 'shape' | 'spacing'>,
  a: [number, number],
  b: [number, number],
  radius: number,
): number[] {
  const { rows, cols, rowSize, colSize } = rowsCols(v);
  const unit = Math.min(rowSize, colSize);
  const R = Math.max(0, radius) * unit;
  const len = Math.hypot((b[0] - a[0]) * rowSize, (b[1] - a[1]) * colSize);
  // Samples closer than the smallest voxel side, so a line of radius 0 misses no voxel it crosses.
  const n = Math.max(1, Math.ceil(len / (0.25 * unit)));
  const seen = new Set<number>();
  const rr = Math.ceil(R / rowSize);
  const rc = Math.ceil(R / colSize);
  for (let i = 0; i <= n; i++) {
    const t = i / n;
    const pr = a[0] + (b[0] - a[0]) * t;
    const pc = a[1] + (b[1] - a[1]) * t;
    const r0 = Math.floor(pr);
    const c0 = Math.floor(pc);
    if (r0 >= 0 && c0 >= 0 && r0 < rows && c0 < cols) seen.add(r0 * cols + c0);
    if (R === 0) continue;
    for (let r = r0 - rr; r <= r0 + rr; r++) {
      if (r < 0 || r >= rows) continue;
      const dr = (r + 0.5 - pr) * rowSize;
      for (let c = c0 - rc; c <= c0 + rc; c++) {
        if (c < 0 || c >= cols) continue;
        const dc = (c + 0.5 - pc) * colSize;
        if (dr * dr + dc * dc <= R * R) seen.add(r * cols + c);
      }
    }
  }
  return [...seen];
}

/** Flat z, y, x triples of plane cells (row * cols + col) of slice k. */
export function cellsToVoxels(v: Pick<PlaneView, 'axis' | 'shape'>, k: number, cells: readonly number[]): number[] {
  const [ra, ca] = planeAxes(v.axis);
  const cols = v.shape[ca];
  const out: number[] = [];
  for (const cell of cells) {
    const p: Vec3 = [0, 0, 0];
    p[v.axis] = k;
    p[ra] = Math.floor(cell / cols);
    p[ca] = cell % cols;
    out.push(p[0], p[1], p[2]);
  }
  return out;
}
