import { type Box, type Vec3, fmtVec } from '../volume/box.js';
import type { Mesh } from '../io/mesh-formats.js';

/**
 * Marching cubes (Lorensen & Cline 1987) with its case table built here from one rule instead of
 * typed in: on each face of a cell, the crossing points are joined so that the face's outside
 * corners are cut off (on a face with two diagonal inside corners, the inside stays joined).
 * Because the choice on a face depends on that face's four corners only, the two cells sharing
 * a face cut it the same way, so the surface has no cracks: it is closed wherever the inside is
 * (the volume is padded with outside). The crossings of each cell chain into loops that are
 * triangulated as fans; triangles wind counter-clockwise seen from outside (normals point out of
 * the object).
 *
 * Cell corner c has offset (dz, dy, dx) = (c>>2 & 1, c>>1 & 1, c & 1).
 */

/** Cell edges as corner pairs; edge e joins EDGES[e][0] to EDGES[e][1] (lower corner first). */
export const EDGES: readonly (readonly [number, number])[] = (() => {
  const out: [number, number][] = [];
  for (const bit of [1, 2, 4]) for (let c = 0; c < 8; c++) if (!(c & bit)) out.push([c, c | bit]);
  return out;
})();

function edgeIndex(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  return EDGES.findIndex(([p, q]) => p === lo && q === hi);
}

function cornerPos(c: number): [number, number, number] {
  return [c & 1, (c >> 1) & 1, (c >> 2) & 1]; // x, y, z
}

/** The cell's faces, each as its 4 corners counter-clockwise seen from outside the cell. */
const FACES: number[][] = (() => {
  const out: number[][] = [];
  for (const [bit, axis] of [
    [1, 0],
    [2, 1],
    [4, 2],
  ] as const) {
    for (const side of [0, 1]) {
      const cs = [0, 1, 2, 3, 4, 5, 6, 7].filter((c) => ((c & bit) !== 0) === (side === 1));
      const n = [0, 0, 0];
      n[axis] = side ? 1 : -1;
      const ctr = [0, 1, 2].map((k) => cs.reduce((s, c) => s + cornerPos(c)[k]!, 0) / 4);
      // Basis (u, v) of the face plane with u × v = n.
      const u = [0, 0, 0];
      u[(axis + 1) % 3] = 1;
      const v = [n[1]! * u[2]! - n[2]! * u[1]!, n[2]! * u[0]! - n[0]! * u[2]!, n[0]! * u[1]! - n[1]! * u[0]!];
      const ang = (c: number): number => {
        const p = cornerPos(c);
        const d = [p[0] - ctr[0]!, p[1] - ctr[1]!, p[2] - ctr[2]!];
        return Math.atan2(d[0]! * v[0]! + d[1]! * v[1]! + d[2]! * v[2]!, d[0]! * u[0]! + d[1]! * u[1]! + d[2]! * u[2]!);
      };
      out.push(cs.sort((a, b) => ang(a) - ang(b)));
    }
  }
  return out;
})();

/** Edges on the same face of the cell (a diagonal between them would lie in that face). */
const SHARE_FACE: boolean[][] = (() => {
  const faceEdges = FACES.map((f) => f.map((c, k) => edgeIndex(c, f[(k + 1) % 4]!)));
  return EDGES.map((_, a) => EDGES.map((__, b) => a !== b && faceEdges.some((fe) => fe.includes(a) && fe.includes(b))));
})();

/**
 * TRIS[config]: vertex slots, three per triangle; bit c of config set ⇔ corner c inside. Slots
 * 0–11 are the crossings on the cell's edges; slot 12 + k is the centre of LOOPS[config][k], used
 * for a loop that passes twice through one face: a fan from one of its crossings would put a
 * diagonal in that face, which the neighbouring cell may also draw (an edge of four triangles);
 * a fan from the loop's centre keeps every edge of the surface on exactly two triangles.
 */
export const TRIS: readonly Int8Array[] = [];
export const LOOPS: readonly (readonly number[])[][] = [];
(() => {
  for (let cfg = 0; cfg < 256; cfg++) {
    const inside = (c: number): boolean => ((cfg >> c) & 1) === 1;
    const next = new Int8Array(12).fill(-1);
    for (const f of FACES) {
      const cross: { e: number; exit: boolean }[] = [];
      for (let k = 0; k < 4; k++) {
        const a = f[k]!;
        const b = f[(k + 1) % 4]!;
        if (inside(a) !== inside(b)) cross.push({ e: edgeIndex(a, b), exit: inside(a) });
      }
      // Each exit (inside → outside, going counter-clockwise) joins the next entry.
      for (let k = 0; k < cross.length; k++) {
        if (!cross[k]!.exit) continue;
        for (let j = 1; j < cross.length; j++) {
          const c = cross[(k + j) % cross.length]!;
          if (!c.exit) {
            next[cross[k]!.e] = c.e;
            break;
          }
        }
      }
    }
    const tris: number[] = [];
    const centred: number[][] = [];
    const seen = new Uint8Array(12);
    for (let e = 0; e < 12; e++) {
      if (next[e] === -1 || seen[e]) continue;
      const loop: number[] = [];
      let cur = e;
      while (!seen[cur]) {
        seen[cur] = 1;
        loop.push(cur);
        cur = next[cur]!;
      }
      const n = loop.length;
      let chord = false;
      for (let i = 0; i < n && !chord; i++) {
        for (let j = i + 2; j < n; j++) {
          if ((j + 1) % n === i) continue;
          if (SHARE_FACE[loop[i]!]![loop[j]!]) chord = true;
        }
      }
      if (!chord) {
        for (let k = 1; k + 1 < n; k++) tris.push(loop[0]!, loop[k + 1]!, loop[k]!);
      } else {
        const c = 12 + centred.length;
        centred.push(loop);
        for (let k = 0; k < n; k++) tris.push(c, loop[(k + 1) % n]!, loop[k]!);
      }
    }
    (TRIS as Int8Array[]).push(Int8Array.from(tris));
    (LOOPS as number[][][]).push(centred);
  }
})();

/**
 * CELL_VOLUME[config]: the volume, in cell units, inside the surface that TRIS[config] draws in
 * one cell with every crossing at the middle of its edge (a binary field at iso 0.5). By the
 * divergence theorem with F = r/3 over the inside part of the cell [0, 1]³: its triangles add
 * det(a, b, c)/6 each, the cell faces at x, y or z = 0 add nothing (r·n = 0 there), and those at
 * 1 add a third of their inside area (corners inside: 1 → 1/8, 2 adjacent → 1/2, 2 diagonal →
 * 3/4 as the face rule keeps them joined, 3 → 7/8, 4 → 1).
 */
export const CELL_VOLUME: Float64Array = (() => {
  const out = new Float64Array(256);
  const mid = EDGES.map(([a, b]) => cornerPos(a).map((v, k) => (v + cornerPos(b)[k]!) / 2));
  const det = (a: number[], b: number[], c: number[]): number =>
    a[0]! * (b[1]! * c[2]! - b[2]! * c[1]!) - a[1]! * (b[0]! * c[2]! - b[2]! * c[0]!) + a[2]! * (b[0]! * c[1]! - b[1]! * c[0]!);
  for (let cfg = 0; cfg < 256; cfg++) {
    const inside = (c: number): boolean => ((cfg >> c) & 1) === 1;
    const slot = (e: number): number[] => {
      if (e < 12) return mid[e]!;
      const loop = LOOPS[cfg]![e - 12]!;
      return [0, 1, 2].map((k) => loop.reduce((s, q) => s + mid[q]![k]!, 0) / loop.length);
    };
    let v = 0;
    const t = TRIS[cfg]!;
    for (let i = 0; i < t.length; i += 3) v += det(slot(t[i]!), slot(t[i + 1]!), slot(t[i + 2]!)) / 6;
    for (const f of FACES) {
      if (![0, 1, 2].some((k) => f.every((c) => cornerPos(c)[k] === 1))) continue;
      const k = f.filter(inside).length;
      const diagonal = k === 2 && inside(f[0]!) === inside(f[2]!);
      v += [0, 1 / 8, diagonal ? 3 / 4 : 1 / 2, 7 / 8, 1][k]! / 3;
    }
    out[cfg] = v;
  }
  return out;
})();

/**
 * Where a surface goes. Vertex ids are given in order 0, 1, 2, … as vertices are made; each
 * triangle comes after its vertices, with their positions (voxel index space, z, y, x) so a
 * format that repeats positions per triangle (STL) can be written without looking them up.
 */
export interface SurfaceSink {
  vertex(z: number, y: number, x: number): void;
  triangle(a: number, b: number, c: number, pa: ArrayLike<number>, pb: ArrayLike<number>, pc: ArrayLike<number>): void;
}

export interface AssemblerOptions {
  /**
   * Decimate by vertex clustering: vertices that are not on a seam between blocks and fall in
   * the same cube of this many voxels merge into their mean; triangles that collapse go.
   * 0 (default) keeps every vertex. Seam vertices are never merged, so blocks still join.
   */
  readonly cluster?: number;
  /**
   * Taubin λ|μ smoothing passes (λ = 0.5, μ = −0.53; shrinks far less than plain Laplacian
   * smoothing). 0 (default) keeps marching-cubes positions. Seam vertices stay where they are,
   * so the surface still joins across blocks (left a little less smooth along the seams).
   */
  readonly smooth?: number;
  /**
   * For a binary field at iso 0.5: move each vertex along its normal so that the surface
   * encloses, cell by cell, the volume of the voxels (marching cubes cuts convex corners off:
   * −4.6% of a tube 2 voxels in radius). Each cell's shortfall (CELL_VOLUME against an eighth of
   * a voxel per inside corner) is shared among its vertices, and each vertex moves by its share
   * over its volume gradient (a third of its area-weighted normal), at most `maxShift` voxels.
   * Seam vertices stay where they are (their cells' shortfall goes to the cells' other vertices).
   * Default false.
   */
  readonly preserveVolume?: boolean;
}

/** Largest vertex shift of the volume correction (voxels): keeps surfaces a voxel apart from meeting. */
const MAX_SHIFT = 0.35;

/**
 * Joins the surfaces of blocks into one mesh: a vertex on a cell edge that cells of two blocks
 * share (an edge on a plane between blocks) is made once and remembered; every other vertex is
 * remembered only while its block is marched. The cells of the volume have lower corners −1..N−1
 * on each axis (the volume is padded with outside, so the surface closes at the scan's faces);
 * the block with write box [o, o+s) owns the cells with lower corner in [o, o+s), the first
 * block on an axis also the cell at −1. Memory: one block's surface plus the seam vertices.
 */
export class SurfaceAssembler {
  private readonly seam = new Map<number, number>();
  private readonly seamPos = new Map<number, Float64Array>();
  private nVertices = 0;
  private nTriangles = 0;
  private readonly dims: Vec3;
  private readonly cluster: number;
  private readonly smooth: number;
  private readonly preserveVolume: boolean;

  constructor(
    readonly shape: Vec3,
    readonly blockShape: Vec3,
    private readonly sink: SurfaceSink,
    opts: AssemblerOptions = {},
  ) {
    this.dims = [shape[0] + 2, shape[1] + 2, shape[2] + 2];
    this.cluster = opts.cluster ?? 0;
    this.smooth = opts.smooth ?? 0;
    this.preserveVolume = opts.preserveVolume ?? false;
  }

  get vertexCount(): number {
    return this.nVertices;
  }

  get triangleCount(): number {
    return this.nTriangles;
  }

  /** Seam vertices remembered across blocks (what streaming costs beyond one block). */
  get seamVertices(): number {
    return this.seam.size;
  }

  private isSeam(p: readonly number[], axis: number): boolean {
    for (let b = 0; b < 3; b++) {
      if (b === axis) continue;
      const v = p[b]!;
      if (v > 0 && v < this.shape[b]! && v % this.blockShape[b]! === 0) return true;
    }
    return false;
  }

  /**
   * Marches the cells a block owns. `field` holds values over `fieldBox` (global voxel
   * coordinates), which must cover the block's write box plus one voxel past its far faces
   * (where inside the volume); voxels outside the volume read as `outside`.
   */
  march(write: Box, field: ArrayLike<number>, fieldBox: Box, iso: number, outside = 0): void {
    const [fz, fy, fx] = fieldBox.shape;
    if (field.length !== fz * fy * fx)
      throw new RangeError(`march: field has ${field.length} values for box shape ${fmtVec(fieldBox.shape)}`);
    const [NZ, NY, NX] = this.shape;
    const lo = [0, 1, 2].map((a) => (write.offset[a] === 0 ? -1 : write.offset[a]!));
    const hi = [0, 1, 2].map((a) => write.offset[a]! + write.shape[a]!); // exclusive
    for (let a = 0; a < 3; a++) {
      const need0 = Math.max(0, lo[a]!);
      const need1 = Math.min(this.shape[a]!, hi[a]! + 1);
      if (fieldBox.offset[a]! > need0 || fieldBox.offset[a]! + fieldBox.shape[a]! < need1) {
        throw new RangeError(`march: field box misses voxels ${need0}..${need1 - 1} on axis ${a}`);
      }
    }
    const value = (z: number, y: number, x: number): number => {
      if (z < 0 || y < 0 || x < 0 || z >= NZ || y >= NY || x >= NX) return outside;
      return field[((z - fieldBox.offset[0]) * fy + (y - fieldBox.offset[1])) * fx + (x - fieldBox.offset[2])]!;
    };
    // This block's own vertices get local numbers (−1, −2, …) until the block is done.
    const local = new Map<number, number>();
    const localPos: number[] = [];
    const shortfall: number[] = []; // per local vertex: the volume it is to add
    const tri: number[] = [];
    const vals = new Float64Array(8);
    const ids = new Int32Array(16);
    const pos = Array.from({ length: 12 }, () => [0, 0, 0]);
    const [, DY, DX] = this.dims;
    // Rows (z, y) of the field holding any inside voxel: a cell row touching none is skipped.
    const rowAny = new Uint8Array(fz * fy);
    for (let r = 0; r < fz * fy; r++) {
      for (let x = 0; x < fx; x++) {
        if (field[r * fx + x]! > iso) {
          rowAny[r] = 1;
          break;
        }
      }
    }
    const rowHas = (z: number, y: number): boolean => {
      const zz = z - fieldBox.offset[0];
      const yy = y - fieldBox.offset[1];
      return zz >= 0 && yy >= 0 && zz < fz && yy < fy && rowAny[zz * fy + yy] === 1;
    };
    const anyInside = outside > iso;
    for (let z = lo[0]!; z < hi[0]!; z++) {
      for (let y = lo[1]!; y < hi[1]!; y++) {
        if (!anyInside && !rowHas(z, y) && !rowHas(z, y + 1) && !rowHas(z + 1, y) && !rowHas(z + 1, y + 1)) continue;
        for (let x = lo[2]!; x < hi[2]!; x++) {
          let cfg = 0;
          for (let c = 0; c < 8; c++) {
            const v = value(z + ((c >> 2) & 1), y + ((c >> 1) & 1), x + (c & 1));
            vals[c] = v;
            if (v > iso) cfg |= 1 << c;
          }
          if (cfg === 0 || cfg === 255) continue;
          const tris = TRIS[cfg]!;
          ids.fill(0);
          for (let t = 0; t < tris.length; t++) {
            const e = tris[t]!;
            if (ids[e] !== 0 || e >= 12) continue;
            const [c0, c1] = EDGES[e]!;
            const axis = c1 - c0 === 1 ? 2 : c1 - c0 === 2 ? 1 : 0; // z=0, y=1, x=2
            const pz = z + ((c0 >> 2) & 1);
            const py = y + ((c0 >> 1) & 1);
            const px = x + (c0 & 1);
            const v0 = vals[c0]!;
            const v1 = vals[c1]!;
            const tt = v1 === v0 ? 0.5 : Math.min(1, Math.max(0, (iso - v0) / (v1 - v0)));
            const q = pos[e]!;
            q[0] = pz + (axis === 0 ? tt : 0);
            q[1] = py + (axis === 1 ? tt : 0);
            q[2] = px + (axis === 2 ? tt : 0);
            const key = (((pz + 1) * DY + (py + 1)) * DX + (px + 1)) * 3 + axis;
            let id: number | undefined;
            if (this.isSeam([pz, py, px], axis)) {
              id = this.seam.get(key);
              if (id === undefined) {
                id = this.nVertices++;
                this.seam.set(key, id);
                this.seamPos.set(id, Float64Array.from(q));
                this.sink.vertex(q[0]!, q[1]!, q[2]!);
              }
              id += 1; // stored +1 so 0 means "not yet"
            } else {
              id = local.get(key);
              if (id === undefined) {
                localPos.push(q[0]!, q[1]!, q[2]!);
                id = -(localPos.length / 3);
                local.set(key, id);
              }
            }
            ids[e] = id;
          }
          const loops = LOOPS[cfg]!;
          for (let k = 0; k < loops.length; k++) {
            const loop = loops[k]!;
            let cz = 0;
            let cy = 0;
            let cx = 0;
            for (const e of loop) {
              cz += pos[e]![0]! / loop.length;
              cy += pos[e]![1]! / loop.length;
              cx += pos[e]![2]! / loop.length;
            }
            localPos.push(cz, cy, cx);
            ids[12 + k] = -(localPos.length / 3);
          }
          for (let t = 0; t < tris.length; t++) tri.push(ids[tris[t]!]!);
          if (this.preserveVolume) {
            let inside = 0;
            for (let c = 0; c < 8; c++) inside += (cfg >> c) & 1;
            const need = inside / 8 - CELL_VOLUME[cfg]!;
            const own: number[] = [];
            for (let t = 0; t < tris.length; t++) {
              const id = ids[tris[t]!]!;
              if (id < 0 && !own.includes(id)) own.push(id);
            }
            for (const id of own) shortfall[-id - 1] = (shortfall[-id - 1] ?? 0) + need / own.length;
          }
        }
      }
    }
    this.flush(localPos, tri, shortfall);
  }

  /** Position of a vertex as a block's triangles name it: a seam vertex (id + 1 > 0) or one of the block's own (−1, −2, …). */
  private position(v: number, posOf: Float64Array): ArrayLike<number> {
    return v > 0 ? this.seamPos.get(v - 1)! : posOf.subarray(3 * (-v - 1), 3 * (-v - 1) + 3);
  }

  /**
   * Moves each of the block's own vertices along its volume gradient g (∂V/∂p, a third of the
   * area-weighted normal of its triangles) by shortfall · g/|g|², which adds that volume to
   * first order.
   */
  private inflate(posOf: Float64Array, tri: number[], shortfall: number[]): void {
    const n = posOf.length / 3;
    const g = new Float64Array(3 * n);
    for (let t = 0; t < tri.length; t += 3) {
      const a = this.position(tri[t]!, posOf);
      const b = this.position(tri[t + 1]!, posOf);
      const c = this.position(tri[t + 2]!, posOf);
      // Positions are (z, y, x): the outward normal of (a, b, c) is (c − a) × (b − a) in this order.
      const u0 = c[0]! - a[0]!;
      const u1 = c[1]! - a[1]!;
      const u2 = c[2]! - a[2]!;
      const w0 = b[0]! - a[0]!;
      const w1 = b[1]! - a[1]!;
      const w2 = b[2]! - a[2]!;
      const nz = (u1 * w2 - u2 * w1) / 6;
      const ny = (u2 * w0 - u0 * w2) / 6;
      const nx = (u0 * w1 - u1 * w0) / 6;
      for (let k = 0; k < 3; k++) {
        const v = tri[t + k]!;
        if (v > 0) continue;
        const i = 3 * (-v - 1);
        g[i]! += nz;
        g[i + 1]! += ny;
        g[i + 2]! += nx;
      }
    }
    for (let i = 0; i < n; i++) {
      const need = shortfall[i] ?? 0;
      const g2 = g[3 * i]! ** 2 + g[3 * i + 1]! ** 2 + g[3 * i + 2]! ** 2;
      if (need === 0 || g2 === 0) continue;
      let f = need / g2;
      const shift = Math.abs(f) * Math.sqrt(g2);
      if (shift > MAX_SHIFT) f *= MAX_SHIFT / shift;
      posOf[3 * i]! += f * g[3 * i]!;
      posOf[3 * i + 1]! += f * g[3 * i + 1]!;
      posOf[3 * i + 2]! += f * g[3 * i + 2]!;
    }
  }

  /** Taubin smoothing of the block's own vertices (their every triangle is in this block). */
  private taubin(posOf: Float64Array, tri: number[]): void {
    const n = posOf.length / 3;
    const nbrs: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
    for (let t = 0; t < tri.length; t += 3) {
      for (let k = 0; k < 3; k++) {
        const a = tri[t + k]!;
        const b = tri[t + ((k + 1) % 3)]!;
        if (a < 0) nbrs[-a - 1]!.add(b);
        if (b < 0) nbrs[-b - 1]!.add(a);
      }
    }
    const lists = nbrs.map((s) => [...s]);
    const tmp = new Float64Array(posOf.length);
    for (let it = 0; it < this.smooth; it++) {
      for (const f of [0.5, -0.53]) {
        for (let i = 0; i < n; i++) {
          const l = lists[i]!;
          let sz = 0;
          let sy = 0;
          let sx = 0;
          for (const v of l) {
            const p = this.position(v, posOf);
            sz += p[0]!;
            sy += p[1]!;
            sx += p[2]!;
          }
          const m = l.length || 1;
          tmp[3 * i] = posOf[3 * i]! + f * (l.length ? sz / m - posOf[3 * i]! : 0);
          tmp[3 * i + 1] = posOf[3 * i + 1]! + f * (l.length ? sy / m - posOf[3 * i + 1]! : 0);
          tmp[3 * i + 2] = posOf[3 * i + 2]! + f * (l.length ? sx / m - posOf[3 * i + 2]! : 0);
        }
        posOf.set(tmp);
      }
    }
  }

  /** Numbers the block's vertices (merging them first when decimating) and emits its triangles. */
  private flush(localPos: number[], tri: number[], shortfall: number[]): void {
    const nLocal = localPos.length / 3;
    const globalOf = new Int32Array(nLocal);
    const posOf = new Float64Array(localPos);
    if (this.preserveVolume) this.inflate(posOf, tri, shortfall);
    if (this.smooth > 0) this.taubin(posOf, tri);
    if (this.cluster > 0) {
      const k = this.cluster;
      const cells = new Map<string, number>();
      const sums: number[] = [];
      const rep = new Int32Array(nLocal);
      for (let i = 0; i < nLocal; i++) {
        const key = `${Math.floor(posOf[3 * i]! / k)},${Math.floor(posOf[3 * i + 1]! / k)},${Math.floor(posOf[3 * i + 2]! / k)}`;
        let c = cells.get(key);
        if (c === undefined) {
          c = sums.length / 4;
          cells.set(key, c);
          sums.push(0, 0, 0, 0);
        }
        rep[i] = c;
        sums[4 * c]! += posOf[3 * i]!;
        sums[4 * c + 1]! += posOf[3 * i + 1]!;
        sums[4 * c + 2]! += posOf[3 * i + 2]!;
        sums[4 * c + 3]!++;
      }
      const cid = new Int32Array(sums.length / 4);
      for (let c = 0; c < cid.length; c++) {
        const n = sums[4 * c + 3]!;
        cid[c] = this.nVertices++;
        this.sink.vertex(sums[4 * c]! / n, sums[4 * c + 1]! / n, sums[4 * c + 2]! / n);
      }
      for (let i = 0; i < nLocal; i++) {
        const c = rep[i]!;
        globalOf[i] = cid[c]!;
        const n = sums[4 * c + 3]!;
        posOf[3 * i] = sums[4 * c]! / n;
        posOf[3 * i + 1] = sums[4 * c + 1]! / n;
        posOf[3 * i + 2] = sums[4 * c + 2]! / n;
      }
    } else {
      for (let i = 0; i < nLocal; i++) {
        globalOf[i] = this.nVertices++;
        this.sink.vertex(posOf[3 * i]!, posOf[3 * i + 1]!, posOf[3 * i + 2]!);
      }
    }
    const resolve = (v: number): number => (v > 0 ? v - 1 : globalOf[-v - 1]!);
    for (let t = 0; t < tri.length; t += 3) {
      const a = resolve(tri[t]!);
      const b = resolve(tri[t + 1]!);
      const c = resolve(tri[t + 2]!);
      if (a === b || b === c || a === c) continue;
      this.sink.triangle(a, b, c, this.position(tri[t]!, posOf), this.position(tri[t + 1]!, posOf), this.position(tri[t + 2]!, posOf));
      this.nTriangles++;
    }
  }
}

/** An indexed triangle mesh held in memory (positions x, y, z per vertex), as io/mesh-formats encodes it. */
export type { Mesh };

/** Collects a surface in memory, converting voxel index space to physical x, y, z. */
export class MemorySink implements SurfaceSink {
  private pos: number[] = [];
  private tri: number[] = [];
  constructor(
    private readonly spacing: Vec3 = [1, 1, 1],
    private readonly origin: Vec3 = [0, 0, 0],
  ) {}
  vertex(z: number, y: number, x: number): void {
    this.pos.push(this.origin[2] + x * this.spacing[2], this.origin[1] + y * this.spacing[1], this.origin[0] + z * this.spacing[0]);
  }
  triangle(a: number, b: number, c: number): void {
    this.tri.push(a, b, c);
  }
  mesh(): Mesh {
    return { positions: Float32Array.from(this.pos), triangles: Uint32Array.from(this.tri) };
  }
}

/** The surface of a whole (small) volume at `iso`, in physical coordinates. */
export function marchingCubes(
  field: ArrayLike<number>,
  shape: Vec3,
  iso = 0.5,
  spacing: Vec3 = [1, 1, 1],
  origin: Vec3 = [0, 0, 0],
  opts: AssemblerOptions = {},
): Mesh {
  const sink = new MemorySink(spacing, origin);
  const asm = new SurfaceAssembler(shape, shape, sink, opts);
  asm.march({ offset: [0, 0, 0], shape }, field, { offset: [0, 0, 0], shape }, iso);
  return sink.mesh();
}

/** Enclosed volume by the divergence theorem (positive for outward-facing triangles). */
export function meshVolume(m: Mesh): number {
  const p = m.positions;
  let v = 0;
  for (let t = 0; t < m.triangles.length; t += 3) {
    const a = m.triangles[t]! * 3;
    const b = m.triangles[t + 1]! * 3;
    const c = m.triangles[t + 2]! * 3;
    v +=
      p[a]! * (p[b + 1]! * p[c + 2]! - p[b + 2]! * p[c + 1]!) -
      p[a + 1]! * (p[b]! * p[c + 2]! - p[b + 2]! * p[c]!) +
      p[a + 2]! * (p[b]! * p[c + 1]! - p[b + 1]! * p[c]!);
  }
  return v / 6;
}

export function meshArea(m: Mesh): number {
  const p = m.positions;
  let s = 0;
  for (let t = 0; t < m.triangles.length; t += 3) {
    const a = m.triangles[t]! * 3;
    const b = m.triangles[t + 1]! * 3;
    const c = m.triangles[t + 2]! * 3;
    const u = [p[b]! - p[a]!, p[b + 1]! - p[a + 1]!, p[b + 2]! - p[a + 2]!];
    const w = [p[c]! - p[a]!, p[c + 1]! - p[a + 1]!, p[c + 2]! - p[a + 2]!];
    s += Math.hypot(u[1]! * w[2]! - u[2]! * w[1]!, u[2]! * w[0]! - u[0]! * w[2]!, u[0]! * w[1]! - u[1]! * w[0]!) / 2;
  }
  return s;
}

/**
 * Edge check: a closed, consistently oriented surface uses every directed edge exactly once and
 * its reverse exactly once. Returns the number of edges that break this (0 = watertight).
 */
export function openEdges(triangles: Uint32Array): number {
  const count = new Map<string, number>();
  for (let t = 0; t < triangles.length; t += 3) {
    for (let k = 0; k < 3; k++) {
      const a = triangles[t + k]!;
      const b = triangles[t + ((k + 1) % 3)]!;
      const key = `${a},${b}`;
      count.set(key, (count.get(key) ?? 0) + 1);
    }
  }
  let bad = 0;
  for (const [key, n] of count) {
    const [a, b] = key.split(',');
    if (n !== 1 || count.get(`${b},${a}`) !== 1) bad++;
  }
  return bad;
}
