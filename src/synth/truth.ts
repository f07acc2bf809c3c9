import type { RootSystem } from './architecture.js';
import { Random } from './random.js';
import type { SceneFrame } from './scene.js';
import type { V3 } from './vec.js';

/** A root as geometry only: a polyline with a radius at each point (mm), e.g. read back from RSML. */
export interface TubeRoot {
  readonly points: readonly V3[];
  readonly radii: readonly number[];
  /** Length (mm) at the base that lies inside the parent root and is not counted; default 0. */
  readonly baseInside?: number;
}

/** TubeRoots of a generated system, each lateral's base inside its parent marked. */
export function tubesFromSystem(sys: RootSystem): TubeRoot[] {
  return sys.roots.map((r) => ({
    points: r.points,
    radii: r.radii,
    baseInside: r.parent >= 0 ? sys.roots[r.parent]!.radii[r.branchPoint]! : 0,
  }));
}

/**
 * TubeRoots from parsed RSML, each lateral's base inside its parent marked (the parent's radius
 * where the lateral starts), so length and volume count each piece of root once.
 */
export function tubesFromRsml(
  roots: readonly { id: string; parentId: string | null; points: readonly V3[]; diameters: readonly number[] }[],
): TubeRoot[] {
  const byId = new Map(roots.map((r) => [r.id, r]));
  return roots.map((r) => {
    const radii = r.diameters.map((d) => d / 2);
    const parent = r.parentId ? byId.get(r.parentId) : undefined;
    let baseInside = 0;
    if (parent && r.points.length > 0) {
      const p0 = r.points[0]!;
      let best = Infinity;
      parent.points.forEach((q, i) => {
        const d = Math.hypot(q[0] - p0[0], q[1] - p0[1], q[2] - p0[2]);
        if (d < best) {
          best = d;
          baseInside = parent.diameters[i]! / 2;
        }
      });
    }
    return { points: r.points, radii, baseInside };
  });
}

/** The field of view as a box in mm: voxel centres at index × size, so it spans ±½ voxel around them. */
export function fovBox(frame: SceneFrame): { lo: V3; hi: V3 } {
  const [vz, vy, vx] = frame.voxelSize;
  const [nz, ny, nx] = frame.shape;
  return { lo: [-vx / 2, -vy / 2, -vz / 2], hi: [(nx - 0.5) * vx, (ny - 0.5) * vy, (nz - 0.5) * vz] };
}

/** The parameter interval [t0, t1] of a→b inside the box, or null. */
function clipSegment(a: V3, b: V3, lo: V3, hi: V3): [number, number] | null {
  let t0 = 0;
  let t1 = 1;
  for (let i = 0; i < 3; i++) {
    const d = b[i]! - a[i]!;
    if (Math.abs(d) < 1e-15) {
      if (a[i]! < lo[i]! || a[i]! > hi[i]!) return null;
    } else {
      const ta = (lo[i]! - a[i]!) / d;
      const tb = (hi[i]! - a[i]!) / d;
      t0 = Math.max(t0, Math.min(ta, tb));
      t1 = Math.min(t1, Math.max(ta, tb));
    }
  }
  return t0 < t1 ? [t0, t1] : null;
}

/**
 * Length and volume of a root system inside a box, from polylines and radii: each segment is a
 * truncated cone (frustum) whose axis is clipped to the box. Overlaps (a lateral's base inside
 * its parent, roots crossing) are counted twice and the spherical joints not at all, which is
 * what the RSML-based estimate a lab would make does too.
 */
export function tubeStats(roots: readonly TubeRoot[], lo: V3, hi: V3): { length: number; volume: number; totalLength: number } {
  // Lateral bases inside their parent (baseInside) are left out of length and volume alike.
  let length = 0;
  let volume = 0;
  let totalLength = 0;
  for (const r of roots) {
    let along = 0;
    const skip = r.baseInside ?? 0;
    for (let i = 0; i + 1 < r.points.length; i++) {
      const a = r.points[i]!;
      const b = r.points[i + 1]!;
      const L = Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
      const s0 = along;
      along += L;
      if (along <= skip || L === 0) continue;
      totalLength += along - Math.max(s0, skip);
      const c = clipSegment(a, b, lo, hi);
      if (!c) continue;
      c[0] = Math.max(c[0], (skip - s0) / L);
      if (c[1] <= c[0]) continue;
      const ra = r.radii[i]!;
      const rb = r.radii[i + 1]!;
      const r0 = ra + (rb - ra) * c[0];
      const r1 = ra + (rb - ra) * c[1];
      const h = L * (c[1] - c[0]);
      length += h;
      volume += (Math.PI / 3) * h * (r0 * r0 + r0 * r1 + r1 * r1);
    }
  }
  return { length, volume, totalLength };
}

/**
 * Distance from p to the surface of the sphere-swept cone a→b (radii ra→rb), negative inside,
 * by minimising |p − c(t)| − r(t) over t (a convex function of t) with a golden-section search.
 * Deliberately not the closed form the GPU uses, so it can serve as an independent oracle.
 */
export function sweptDistance(p: V3, a: V3, b: V3, ra: number, rb: number): number {
  const f = (t: number): number =>
    Math.hypot(p[0] - a[0] - (b[0] - a[0]) * t, p[1] - a[1] - (b[1] - a[1]) * t, p[2] - a[2] - (b[2] - a[2]) * t) - (ra + (rb - ra) * t);
  let lo = 0;
  let hi = 1;
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = hi - g * (hi - lo);
  let x2 = lo + g * (hi - lo);
  let f1 = f(x1);
  let f2 = f(x2);
  for (let k = 0; k < 60; k++) {
    if (f1 < f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - g * (hi - lo);
      f1 = f(x1);
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + g * (hi - lo);
      f2 = f(x2);
    }
  }
  return Math.min(f(0), f(1), f1, f2);
}

/**
 * Monte-Carlo estimate of the volume of the union of all root tubes inside a box, with its
 * standard error: the quantity the supersampled coverage integrates.
 */
export function unionVolumeMC(roots: readonly TubeRoot[], lo: V3, hi: V3, samples: number, seed = 1): { volume: number; stderr: number } {
  const segs: { a: V3; b: V3; ra: number; rb: number; lo: V3; hi: V3 }[] = [];
  for (const r of roots) {
    for (let i = 0; i + 1 < r.points.length; i++) {
      const a = r.points[i]!;
      const b = r.points[i + 1]!;
      const m = Math.max(r.radii[i]!, r.radii[i + 1]!);
      segs.push({
        a,
        b,
        ra: r.radii[i]!,
        rb: r.radii[i + 1]!,
        lo: [Math.min(a[0], b[0]) - m, Math.min(a[1], b[1]) - m, Math.min(a[2], b[2]) - m],
        hi: [Math.max(a[0], b[0]) + m, Math.max(a[1], b[1]) + m, Math.max(a[2], b[2]) + m],
      });
    }
  }
  // Bin segments on a coarse grid so each sample tests only its neighbours.
  const G = 24;
  const cell = [0, 1, 2].map((i) => (hi[i]! - lo[i]!) / G);
  const bins = new Map<number, number[]>();
  segs.forEach((s, k) => {
    const c0 = [0, 1, 2].map((i) => Math.max(0, Math.floor((s.lo[i]! - lo[i]!) / cell[i]!)));
    const c1 = [0, 1, 2].map((i) => Math.min(G - 1, Math.floor((s.hi[i]! - lo[i]!) / cell[i]!)));
    for (let z = c0[2]!; z <= c1[2]!; z++)
      for (let y = c0[1]!; y <= c1[1]!; y++)
        for (let x = c0[0]!; x <= c1[0]!; x++) {
          const key = (z * G + y) * G + x;
          const l = bins.get(key) ?? [];
          l.push(k);
          bins.set(key, l);
        }
  });
  const rnd = new Random(seed, 'union-mc');
  let hits = 0;
  for (let n = 0; n < samples; n++) {
    const p: V3 = [rnd.uniform(lo[0], hi[0]), rnd.uniform(lo[1], hi[1]), rnd.uniform(lo[2], hi[2])];
    const c = [0, 1, 2].map((i) => Math.min(G - 1, Math.floor((p[i]! - lo[i]!) / cell[i]!)));
    for (const k of bins.get((c[2]! * G + c[1]!) * G + c[0]!) ?? []) {
      const s = segs[k]!;
      if (p[0] < s.lo[0] || p[0] > s.hi[0] || p[1] < s.lo[1] || p[1] > s.hi[1] || p[2] < s.lo[2] || p[2] > s.hi[2]) continue;
      if (sweptDistance(p, s.a, s.b, s.ra, s.rb) < 0) {
        hits++;
        break;
      }
    }
  }
  const boxVol = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
  const f = hits / samples;
  return { volume: f * boxVol, stderr: Math.sqrt((f * (1 - f)) / samples) * boxVol };
}
