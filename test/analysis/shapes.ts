import type { Vec3 } from '../../src/volume/box.js';
import { rng } from '../helpers/random.js';

/** A test mask with its shape. */
export interface Mask {
  readonly data: Uint8Array;
  readonly shape: Vec3;
}

/** Random blobs: uniform noise box-blurred `passes` times, thresholded at `level`. */
export function blobs(shape: Vec3, seed: number, passes = 2, level = 0.55): Mask {
  const [nz, ny, nx] = shape;
  const r = rng(seed);
  let a = new Float32Array(nz * ny * nx);
  for (let i = 0; i < a.length; i++) a[i] = r();
  for (let p = 0; p < passes; p++) {
    for (const [stride, n] of [
      [1, nx],
      [nx, ny],
      [nx * ny, nz],
    ] as const) {
      const b = new Float32Array(a.length);
      for (let i = 0; i < a.length; i++) {
        const c = Math.floor(i / stride) % n;
        let s = a[i]!;
        let k = 1;
        if (c > 0) {
          s += a[i - stride]!;
          k++;
        }
        if (c < n - 1) {
          s += a[i + stride]!;
          k++;
        }
        b[i] = s / k;
      }
      a = b;
    }
  }
  // Rescale to [0, 1] so `level` means the same for any number of passes.
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const data = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) data[i] = (a[i]! - lo) / (hi - lo || 1) > level ? 1 : 0;
  return { data, shape };
}

/** Distance from point p to the segment a–b (all z, y, x in voxels). */
function segDist(p: Vec3, a: Vec3, b: Vec3): { d: number; t: number } {
  const ab = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const ap = [p[0] - a[0], p[1] - a[1], p[2] - a[2]];
  const L2 = ab[0]! * ab[0]! + ab[1]! * ab[1]! + ab[2]! * ab[2]!;
  const t = L2 > 0 ? Math.max(0, Math.min(1, (ap[0]! * ab[0]! + ap[1]! * ab[1]! + ap[2]! * ab[2]!) / L2)) : 0;
  const d = [ap[0]! - t * ab[0]!, ap[1]! - t * ab[1]!, ap[2]! - t * ab[2]!];
  return { d: Math.hypot(d[0]!, d[1]!, d[2]!), t };
}

export interface Tube {
  /** End points (z, y, x, voxel index space). */
  readonly a: Vec3;
  readonly b: Vec3;
  /** Radius in voxels. */
  readonly r: number;
}

/**
 * Capsules (segment ± radius with round ends) drawn into a mask, voxels whose centre is within
 * r of the segment. Physical length and volume of each are known exactly
 * (|b − a|, π r² L + 4/3 π r³), up to voxelisation.
 */
export function drawTubes(shape: Vec3, tubes: readonly Tube[], capped: 'round' | 'flat' = 'round'): Mask {
  const [nz, ny, nx] = shape;
  const data = new Uint8Array(nz * ny * nx);
  for (const tb of tubes) {
    const lo = [0, 1, 2].map((k) => Math.max(0, Math.floor(Math.min(tb.a[k]!, tb.b[k]!) - tb.r - 1)));
    const hi = [0, 1, 2].map((k) => Math.min(shape[k]! - 1, Math.ceil(Math.max(tb.a[k]!, tb.b[k]!) + tb.r + 1)));
    for (let z = lo[0]!; z <= hi[0]!; z++) {
      for (let y = lo[1]!; y <= hi[1]!; y++) {
        for (let x = lo[2]!; x <= hi[2]!; x++) {
          const { d, t } = segDist([z, y, x], tb.a, tb.b);
          if (d > tb.r) continue;
          if (capped === 'flat') {
            const ab = [tb.b[0] - tb.a[0], tb.b[1] - tb.a[1], tb.b[2] - tb.a[2]];
            const L = Math.hypot(ab[0]!, ab[1]!, ab[2]!);
            const s = ((z - tb.a[0]) * ab[0]! + (y - tb.a[1]) * ab[1]! + (x - tb.a[2]) * ab[2]!) / L;
            if (s < 0 || s > L || (t <= 0 && s < 0) || (t >= 1 && s > L)) continue;
          }
          data[(z * ny + y) * nx + x] = 1;
        }
      }
    }
  }
  return { data, shape };
}

export function countOnes(a: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i]) n++;
  return n;
}

/**
 * A random root-like system: a main tube down z and laterals leaving it at random depths, radii
 * between 1.5 and 3.5 voxels, seeded.
 */
export function randomTubes(shape: Vec3, seed: number, laterals = 4): Mask {
  const r = rng(seed);
  const [nz, ny, nx] = shape;
  const top: Vec3 = [2, ny / 2 + (r() - 0.5) * 4, nx / 2 + (r() - 0.5) * 4];
  const bottom: Vec3 = [nz - 3, ny / 2 + (r() - 0.5) * 10, nx / 2 + (r() - 0.5) * 10];
  const tubes: Tube[] = [{ a: top, b: bottom, r: 2.5 + r() }];
  for (let k = 0; k < laterals; k++) {
    const t = 0.15 + 0.7 * r();
    const a: Vec3 = [top[0] + t * (bottom[0] - top[0]), top[1] + t * (bottom[1] - top[1]), top[2] + t * (bottom[2] - top[2])];
    const ang = 2 * Math.PI * r();
    const len = Math.min(ny, nx) * (0.25 + 0.2 * r());
    const b: Vec3 = [
      Math.min(nz - 3, a[0] + len * (0.2 + 0.5 * r())),
      Math.max(3, Math.min(ny - 4, a[1] + len * Math.sin(ang))),
      Math.max(3, Math.min(nx - 4, a[2] + len * Math.cos(ang))),
    ];
    tubes.push({ a, b, r: 1.5 + r() });
  }
  return drawTubes(shape, tubes);
}
