import type { Vec3 } from './levels.js';

/**
 * The three orthogonal slices, composed on the CPU: grey values through a display range, the
 * root mask blended on top in its label colour. The mask may be of another pyramid level than
 * the scan: each scan voxel takes the mask voxel whose centre is nearest in physical space.
 * No DOM and no GPU, so it is tested in Node.
 */

export interface Grid {
  data: ArrayLike<number>;
  /** z, y, x. */
  shape: Vec3;
  spacing: Vec3;
  origin: Vec3;
}

/** 0: a z slice (the y–x plane), 1: a y slice (z–x), 2: an x slice (z–y). */
export type Axis = 0 | 1 | 2;

export interface SliceStyle {
  lo: number;
  hi: number;
  /** RGB 0–255. */
  color: [number, number, number];
  /** Opacity of the mask colour, 0 hides the overlay. */
  alpha: number;
}

/** For each index of the scan along one axis, the index of the mask voxel nearest it, or −1. */
export function nearestIndexMap(scan: Grid, mask: Grid, axis: 0 | 1 | 2): Int32Array {
  const n = scan.shape[axis];
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = scan.origin[axis] + i * scan.spacing[axis];
    const m = Math.round((p - mask.origin[axis]) / mask.spacing[axis]);
    out[i] = m >= 0 && m < mask.shape[axis] ? m : -1;
  }
  return out;
}

export interface SliceImage {
  /** RGB, x fastest, laid out as a vtkImageData with the sliced axis of size 1. */
  rgb: Uint8Array;
  /** vtkImageData dimensions [x, y, z]. */
  dims: Vec3;
  /** [x, y, z]. */
  spacing: Vec3;
  /** [x, y, z], the physical centre of the slice's first voxel. */
  origin: Vec3;
  /** How many of its pixels carry the mask colour. */
  maskPixels: number;
}

/** Composes slice `k` along `axis` of the scan (index in the scan's level). */
export function composeSlice(
  scan: Grid,
  mask: Grid | undefined,
  axis: Axis,
  k: number,
  style: SliceStyle,
  maps?: Int32Array[],
): SliceImage {
  const [nz, ny, nx] = scan.shape;
  const kk = Math.max(0, Math.min(scan.shape[axis] - 1, Math.round(k)));
  const zr = axis === 0 ? [kk, kk + 1] : [0, nz];
  const yr = axis === 1 ? [kk, kk + 1] : [0, ny];
  const xr = axis === 2 ? [kk, kk + 1] : [0, nx];
  const count = (zr[1]! - zr[0]!) * (yr[1]! - yr[0]!) * (xr[1]! - xr[0]!);
  const rgb = new Uint8Array(count * 3);
  const span = style.hi - style.lo;
  const scale = span > 0 ? 255 / span : 0;
  const useMask = mask !== undefined && style.alpha > 0;
  const m = useMask
    ? (maps ?? [nearestIndexMap(scan, mask, 0), nearestIndexMap(scan, mask, 1), nearestIndexMap(scan, mask, 2)])
    : undefined;
  const [mz, my, mx] = m ?? [];
  const mny = mask?.shape[1] ?? 0;
  const mnx = mask?.shape[2] ?? 0;
  const a = Math.min(1, Math.max(0, style.alpha));
  const [cr, cg, cb] = style.color;
  const data = scan.data;
  let o = 0;
  let maskPixels = 0;
  for (let z = zr[0]!; z < zr[1]!; z++) {
    for (let y = yr[0]!; y < yr[1]!; y++) {
      const row = (z * ny + y) * nx;
      const mzy = useMask && mz![z]! >= 0 && my![y]! >= 0 ? (mz![z]! * mny + my![y]!) * mnx : -1;
      for (let x = xr[0]!; x < xr[1]!; x++) {
        let g = (data[row + x]! - style.lo) * scale;
        g = g < 0 ? 0 : g > 255 ? 255 : g;
        if (mzy >= 0 && mx![x]! >= 0 && mask!.data[mzy + mx![x]!]! > 0) {
          rgb[o++] = g + a * (cr - g);
          rgb[o++] = g + a * (cg - g);
          rgb[o++] = g + a * (cb - g);
          maskPixels++;
        } else {
          rgb[o++] = g;
          rgb[o++] = g;
          rgb[o++] = g;
        }
      }
    }
  }
  const [sz, sy, sx] = scan.spacing;
  const [oz, oy, ox] = scan.origin;
  return {
    rgb,
    dims: [xr[1]! - xr[0]!, yr[1]! - yr[0]!, zr[1]! - zr[0]!],
    spacing: [sx, sy, sz],
    origin: [ox + xr[0]! * sx, oy + yr[0]! * sy, oz + zr[0]! * sz],
    maskPixels,
  };
}

/** Physical position of index k along an axis, and back (nearest index, clamped). */
export function indexToPhysical(g: Pick<Grid, 'origin' | 'spacing'>, axis: Axis, k: number): number {
  return g.origin[axis] + k * g.spacing[axis];
}

export function physicalToIndex(g: Pick<Grid, 'origin' | 'spacing' | 'shape'>, axis: Axis, p: number): number {
  return Math.max(0, Math.min(g.shape[axis] - 1, Math.round((p - g.origin[axis]) / g.spacing[axis])));
}
