import type { Vec3 } from './levels.js';
import type { Grid } from './slices.js';

/**
 * Prepares a root mask for marching cubes: crops it to the box around its voxels with two voxels
 * of background around (so surfaces that touch the edge of the scan are closed), as float, with
 * a mild [1, 6, 1]/8 smoothing along each axis so normals are not staircase-like while a root one
 * voxel thin still reaches the 0.5 iso-level (0.75² > 0.5). No DOM, no GPU.
 */
export interface FloatGrid {
  data: Float32Array;
  shape: Vec3;
  spacing: Vec3;
  origin: Vec3;
  /** Mask voxels counted. */
  voxels: number;
}

export function maskBounds(mask: Grid): { lo: Vec3; hi: Vec3; count: number } | undefined {
  const [nz, ny, nx] = mask.shape;
  const lo: Vec3 = [nz, ny, nx];
  const hi: Vec3 = [-1, -1, -1];
  let count = 0;
  const d = mask.data;
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        if (d[i]! > 0) {
          count++;
          if (z < lo[0]) lo[0] = z;
          if (z > hi[0]) hi[0] = z;
          if (y < lo[1]) lo[1] = y;
          if (y > hi[1]) hi[1] = y;
          if (x < lo[2]) lo[2] = x;
          if (x > hi[2]) hi[2] = x;
        }
      }
    }
  }
  return count ? { lo, hi, count } : undefined;
}

export function prepareMask(mask: Grid, pad = 2): FloatGrid | undefined {
  const b = maskBounds(mask);
  if (!b) return undefined;
  const shape: Vec3 = [b.hi[0] - b.lo[0] + 1 + 2 * pad, b.hi[1] - b.lo[1] + 1 + 2 * pad, b.hi[2] - b.lo[2] + 1 + 2 * pad];
  const [sz, sy, sx] = shape;
  const [, my, mx] = mask.shape;
  let a = new Float32Array(sz * sy * sx);
  for (let z = b.lo[0]; z <= b.hi[0]; z++) {
    for (let y = b.lo[1]; y <= b.hi[1]; y++) {
      const src = (z * my + y) * mx;
      const dst = ((z - b.lo[0] + pad) * sy + (y - b.lo[1] + pad)) * sx + pad - b.lo[2];
      for (let x = b.lo[2]; x <= b.hi[2]; x++) if (mask.data[src + x]! > 0) a[dst + x] = 1;
    }
  }
  let t = new Float32Array(a.length);
  const strides = [sy * sx, sx, 1];
  for (let axis = 0; axis < 3; axis++) {
    const s = strides[axis]!;
    const n = shape[axis]!;
    for (let i = 0; i < a.length; i++) {
      const c = Math.floor(i / s) % n;
      const prev = c > 0 ? a[i - s]! : 0;
      const next = c < n - 1 ? a[i + s]! : 0;
      t[i] = (prev + 6 * a[i]! + next) / 8;
    }
    [a, t] = [t, a];
  }
  const origin: Vec3 = [0, 1, 2].map((k) => mask.origin[k]! + (b.lo[k]! - pad) * mask.spacing[k]!) as Vec3;
  return { data: a, shape, spacing: [...mask.spacing] as Vec3, origin, voxels: b.count };
}
