/** Convex hulls: 2D (monotone chain) and 3D (incremental, with horizon), and their measures. */

export type P2 = [number, number];
export type P3 = [number, number, number];

function cross2(o: P2, a: P2, b: P2): number {
  return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

/** Vertices of the 2D convex hull, counter-clockwise, collinear points dropped. */
export function hull2d(points: readonly P2[]): P2[] {
  const p = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length <= 2) return p;
  const lower: P2[] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross2(lower[lower.length - 2]!, lower[lower.length - 1]!, q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper: P2[] = [];
  for (let i = p.length - 1; i >= 0; i--) {
    const q = p[i]!;
    while (upper.length >= 2 && cross2(upper[upper.length - 2]!, upper[upper.length - 1]!, q) <= 0) upper.pop();
    upper.push(q);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/** Largest distance between two points of a set (via its hull). */
export function diameter2d(points: readonly P2[]): number {
  const h = hull2d(points);
  let best = 0;
  for (let i = 0; i < h.length; i++) {
    for (let j = i + 1; j < h.length; j++) best = Math.max(best, Math.hypot(h[i]![0] - h[j]![0], h[i]![1] - h[j]![1]));
  }
  return best;
}

export interface Hull3 {
  readonly vertices: P3[];
  /** Triangles (indices into vertices), outward-facing counter-clockwise. */
  readonly faces: [number, number, number][];
  readonly volume: number;
  readonly area: number;
}

function sub(a: P3, b: P3): P3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}
function cross(a: P3, b: P3): P3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
function dot(a: P3, b: P3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/**
 * 3D convex hull by incremental insertion: each point outside the current hull removes the faces
 * it sees and is joined to their horizon. Returns undefined when the points span no volume (all
 * on a plane, a line or one point).
 */
export function hull3d(input: readonly P3[]): Hull3 | undefined {
  if (input.length < 4) return undefined;
  const pts = input;
  let scale = 0;
  for (const p of pts) scale = Math.max(scale, Math.abs(p[0]), Math.abs(p[1]), Math.abs(p[2]));
  const eps = 1e-9 * Math.max(1, scale) ** 2;
  // Initial tetrahedron from extreme points.
  let i0 = 0;
  let i1 = 0;
  for (let i = 0; i < pts.length; i++) {
    if (pts[i]![0] < pts[i0]![0]) i0 = i;
    if (pts[i]![0] > pts[i1]![0]) i1 = i;
  }
  if (i0 === i1) {
    for (let i = 0; i < pts.length; i++)
      if (dot(sub(pts[i]!, pts[i0]!), sub(pts[i]!, pts[i0]!)) > dot(sub(pts[i1]!, pts[i0]!), sub(pts[i1]!, pts[i0]!))) i1 = i;
  }
  const a = pts[i0]!;
  const ab = sub(pts[i1]!, a);
  if (dot(ab, ab) <= eps) return undefined;
  let i2 = -1;
  let best = eps;
  for (let i = 0; i < pts.length; i++) {
    const c = cross(ab, sub(pts[i]!, a));
    const d = dot(c, c);
    if (d > best) {
      best = d;
      i2 = i;
    }
  }
  if (i2 < 0) return undefined;
  const nrm = cross(ab, sub(pts[i2]!, a));
  let i3 = -1;
  best = 0;
  const nl = Math.sqrt(dot(nrm, nrm));
  for (let i = 0; i < pts.length; i++) {
    const d = Math.abs(dot(nrm, sub(pts[i]!, a))) / nl;
    if (d > best) {
      best = d;
      i3 = i;
    }
  }
  if (i3 < 0 || best <= 1e-9 * Math.max(1, scale)) return undefined;
  interface Face {
    v: [number, number, number];
    n: P3;
    off: number;
    alive: boolean;
  }
  const faces: Face[] = [];
  const makeFace = (x: number, y: number, z: number): Face => {
    const n = cross(sub(pts[y]!, pts[x]!), sub(pts[z]!, pts[x]!));
    const f = { v: [x, y, z] as [number, number, number], n, off: dot(n, pts[x]!), alive: true };
    faces.push(f);
    return f;
  };
  const centroid: P3 = [0, 0, 0];
  for (const k of [i0, i1, i2, i3]) for (let c = 0; c < 3; c++) centroid[c]! += pts[k]![c]! / 4;
  const orient = (x: number, y: number, z: number): void => {
    const n = cross(sub(pts[y]!, pts[x]!), sub(pts[z]!, pts[x]!));
    if (dot(n, sub(centroid, pts[x]!)) > 0) makeFace(x, z, y);
    else makeFace(x, y, z);
  };
  orient(i0, i1, i2);
  orient(i0, i1, i3);
  orient(i0, i2, i3);
  orient(i1, i2, i3);
  const used = new Set([i0, i1, i2, i3]);
  for (let p = 0; p < pts.length; p++) {
    if (used.has(p)) continue;
    const q = pts[p]!;
    const visible: Face[] = [];
    for (const f of faces) {
      if (!f.alive) continue;
      const len = Math.sqrt(dot(f.n, f.n));
      if (dot(f.n, q) - f.off > 1e-10 * Math.max(1, scale) * len) visible.push(f);
    }
    if (visible.length === 0) continue;
    // Horizon: directed edges of visible faces whose reverse is not on a visible face.
    const edges = new Map<string, [number, number]>();
    for (const f of visible) {
      f.alive = false;
      for (let e = 0; e < 3; e++) {
        const u = f.v[e]!;
        const w = f.v[(e + 1) % 3]!;
        const rev = `${w},${u}`;
        if (edges.has(rev)) edges.delete(rev);
        else edges.set(`${u},${w}`, [u, w]);
      }
    }
    for (const [u, w] of edges.values()) makeFace(u, w, p);
    // Compact now and then.
    if (faces.length > 4096 && faces.length > 4 * visible.length) {
      const alive = faces.filter((f) => f.alive);
      faces.length = 0;
      faces.push(...alive);
    }
  }
  const live = faces.filter((f) => f.alive);
  const remap = new Map<number, number>();
  const vertices: P3[] = [];
  const tri: [number, number, number][] = [];
  let volume = 0;
  let area = 0;
  for (const f of live) {
    const idx = f.v.map((k) => {
      let m = remap.get(k);
      if (m === undefined) {
        m = vertices.length;
        remap.set(k, m);
        vertices.push(pts[k]!);
      }
      return m;
    }) as [number, number, number];
    tri.push(idx);
    const [A, B, C] = f.v.map((k) => pts[k]!) as [P3, P3, P3];
    volume += dot(A, cross(B, C)) / 6;
    area += Math.sqrt(dot(f.n, f.n)) / 2;
  }
  return { vertices, faces: tri, volume: Math.abs(volume), area };
}
