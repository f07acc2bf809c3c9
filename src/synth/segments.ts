import { type Box, type Vec3, boxEnd } from '../volume/box.js';
import type { RootSystem } from './architecture.js';
import { KIND_ROOT, type SoilObject } from './objects.js';

/** Floats per primitive: a.xyz, ra, b.xyz, rb, value, rough, kind, id. */
export const SEG_FLOATS = 12;

/**
 * Every primitive of the scene as round cones (the union of spheres swept from a to b with a
 * linearly varying radius), in mm from voxel (0, 0, 0)'s centre, plus each one's box of
 * influence in voxel indices.
 */
export interface SegmentSet {
  readonly data: Float32Array;
  readonly count: number;
  /** Voxel index bounds (inclusive) per primitive: x0, y0, z0, x1, y1, z1. */
  readonly bounds: Int32Array;
  readonly rootCount: number;
}

/**
 * Flattens roots (first, so they keep the lowest indices) and soil objects. A cone whose
 * radii differ by more than its length is one sphere inside the other; it is stored as the
 * larger sphere. `rootMargin` (mm) widens the roots' influence for the air gap around them.
 */
export function buildSegments(sys: RootSystem, objects: readonly SoilObject[], voxelSize: Vec3, rootMargin: number): SegmentSet {
  let n = 0;
  for (const r of sys.roots) n += r.points.length - 1;
  const rootCount = n;
  for (const o of objects) n += Math.max(1, o.points.length - 1);
  const data = new Float32Array(n * SEG_FLOATS);
  const bounds = new Int32Array(n * 6);
  const [vz, vy, vx] = voxelSize;
  const diag = 0.5 * Math.hypot(vx, vy, vz);
  let k = 0;
  const put = (
    a: readonly number[],
    ra: number,
    b: readonly number[],
    rb: number,
    value: number,
    rough: number,
    kind: number,
    id: number,
    margin: number,
  ): void => {
    let [ax, ay, az] = a as [number, number, number];
    let [bx, by, bz] = b as [number, number, number];
    const len = Math.hypot(bx - ax, by - ay, bz - az);
    if (len <= Math.abs(ra - rb) + 1e-9) {
      if (rb > ra) [ax, ay, az, ra] = [bx, by, bz, rb];
      [bx, by, bz, rb] = [ax, ay, az, ra];
    }
    const o = k * SEG_FLOATS;
    data.set([ax, ay, az, ra, bx, by, bz, rb, value, rough, kind, id], o);
    const m = Math.max(ra, rb) * (1 + rough) + margin + diag;
    const lo = [Math.min(ax, bx) - m, Math.min(ay, by) - m, Math.min(az, bz) - m];
    const hi = [Math.max(ax, bx) + m, Math.max(ay, by) + m, Math.max(az, bz) + m];
    const vs = [vx, vy, vz];
    for (let i = 0; i < 3; i++) {
      bounds[k * 6 + i] = Math.floor(lo[i]! / vs[i]!);
      bounds[k * 6 + 3 + i] = Math.ceil(hi[i]! / vs[i]!);
    }
    k++;
  };
  sys.roots.forEach((r, ri) => {
    for (let i = 0; i + 1 < r.points.length; i++) {
      put(
        r.points[i]!,
        r.radii[i]!,
        r.points[i + 1]!,
        r.radii[i + 1]!,
        0.5 * (r.values[i]! + r.values[i + 1]!),
        0,
        KIND_ROOT,
        ri,
        rootMargin,
      );
    }
  });
  objects.forEach((o, oi) => {
    if (o.points.length === 1) put(o.points[0]!, o.radii[0]!, o.points[0]!, o.radii[0]!, o.value, o.rough, o.kind, oi, 0);
    for (let i = 0; i + 1 < o.points.length; i++)
      put(o.points[i]!, o.radii[i]!, o.points[i + 1]!, o.radii[i + 1]!, o.value, o.rough, o.kind, oi, 0);
  });
  return { data, count: n, bounds, rootCount };
}

/** Primitives whose influence touches `box` (voxel indices z, y, x), in increasing index order. */
export function segmentsTouching(set: SegmentSet, box: Box, candidates?: Iterable<number>): number[] {
  const e = boxEnd(box);
  const out: number[] = [];
  const test = (i: number): void => {
    const b = set.bounds;
    const o = i * 6;
    if (b[o]! >= e[2] || b[o + 3]! < box.offset[2]) return;
    if (b[o + 1]! >= e[1] || b[o + 4]! < box.offset[1]) return;
    if (b[o + 2]! >= e[0] || b[o + 5]! < box.offset[0]) return;
    out.push(i);
  };
  if (candidates) for (const i of candidates) test(i);
  else for (let i = 0; i < set.count; i++) test(i);
  return out;
}

/**
 * A coarse spatial index: the primitives touching each cell of a grid of `cell`-sized boxes
 * (grown by `halo`), so a chunk looks only at its own list.
 */
export class SegmentIndex {
  private readonly cells = new Map<string, number[]>();

  constructor(
    readonly set: SegmentSet,
    readonly cell: Vec3,
    readonly halo: Vec3,
  ) {
    const b = set.bounds;
    for (let i = 0; i < set.count; i++) {
      const o = i * 6;
      const lo = [b[o + 2]! - halo[0], b[o + 1]! - halo[1], b[o]! - halo[2]];
      const hi = [b[o + 5]! + halo[0], b[o + 4]! + halo[1], b[o + 3]! + halo[2]];
      const c0 = lo.map((v, a) => Math.floor(v / cell[a]!));
      const c1 = hi.map((v, a) => Math.floor(v / cell[a]!));
      for (let z = c0[0]!; z <= c1[0]!; z++) {
        for (let y = c0[1]!; y <= c1[1]!; y++) {
          for (let x = c0[2]!; x <= c1[2]!; x++) {
            const key = `${z},${y},${x}`;
            let l = this.cells.get(key);
            if (!l) this.cells.set(key, (l = []));
            l.push(i);
          }
        }
      }
    }
  }

  /** Candidates for the write box `box` (its halo is accounted for by the index). */
  candidates(box: Box): number[] {
    const c = [0, 1, 2].map((a) => Math.floor(box.offset[a]! / this.cell[a]!));
    const last = [0, 1, 2].map((a) => Math.floor((box.offset[a]! + box.shape[a]! - 1) / this.cell[a]!));
    if (c.every((v, a) => v === last[a])) return this.cells.get(c.join(',')) ?? [];
    // A box spanning cells: merge their lists.
    const seen = new Set<number>();
    for (let z = c[0]!; z <= last[0]!; z++)
      for (let y = c[1]!; y <= last[1]!; y++)
        for (let x = c[2]!; x <= last[2]!; x++) for (const i of this.cells.get(`${z},${y},${x}`) ?? []) seen.add(i);
    return [...seen].sort((p, q) => p - q);
  }
}

export interface Binned {
  /** The chunk's primitives (global order kept), SEG_FLOATS each. */
  readonly segs: Float32Array;
  /** Per bin: start into `list`; one extra entry at the end. */
  readonly offsets: Uint32Array;
  readonly list: Uint32Array;
  readonly bins: Vec3;
}

/**
 * Sorts the primitives touching `box` into bins of `binSize` voxels so each voxel tests only
 * the primitives near it. Bins are laid out z, y, x over the box.
 */
export function binSegments(set: SegmentSet, ids: readonly number[], box: Box, binSize: number): Binned {
  const bins: Vec3 = [Math.ceil(box.shape[0] / binSize), Math.ceil(box.shape[1] / binSize), Math.ceil(box.shape[2] / binSize)];
  const nBins = bins[0] * bins[1] * bins[2];
  const counts = new Uint32Array(nBins + 1);
  const ranges: number[][] = [];
  const b = set.bounds;
  for (const i of ids) {
    const o = i * 6;
    const r = [
      clampBin(b[o + 2]! - box.offset[0], binSize, bins[0]),
      clampBin(b[o + 5]! - box.offset[0], binSize, bins[0]),
      clampBin(b[o + 1]! - box.offset[1], binSize, bins[1]),
      clampBin(b[o + 4]! - box.offset[1], binSize, bins[1]),
      clampBin(b[o]! - box.offset[2], binSize, bins[2]),
      clampBin(b[o + 3]! - box.offset[2], binSize, bins[2]),
    ];
    ranges.push(r);
    for (let z = r[0]!; z <= r[1]!; z++)
      for (let y = r[2]!; y <= r[3]!; y++) for (let x = r[4]!; x <= r[5]!; x++) counts[(z * bins[1] + y) * bins[2] + x]!++;
  }
  const offsets = new Uint32Array(nBins + 1);
  for (let i = 0; i < nBins; i++) offsets[i + 1] = offsets[i]! + counts[i]!;
  const fillAt = offsets.slice(0, nBins);
  const list = new Uint32Array(Math.max(1, offsets[nBins]!));
  const segs = new Float32Array(Math.max(1, ids.length) * SEG_FLOATS);
  ids.forEach((gi, li) => {
    segs.set(set.data.subarray(gi * SEG_FLOATS, (gi + 1) * SEG_FLOATS), li * SEG_FLOATS);
    const r = ranges[li]!;
    for (let z = r[0]!; z <= r[1]!; z++)
      for (let y = r[2]!; y <= r[3]!; y++) for (let x = r[4]!; x <= r[5]!; x++) list[fillAt[(z * bins[1] + y) * bins[2] + x]!++] = li;
  });
  return { segs, offsets, list, bins };
}

function clampBin(v: number, size: number, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.floor(v / size)));
}
