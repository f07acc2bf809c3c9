import type { Vec3 } from '../volume/box.js';
import { neighbourOffsets } from './components.js';

/** A point in physical coordinates, ordered x, y, z (as RSML and meshes want them). */
export type XYZ = [number, number, number];

/** Skeleton voxels of a whole volume with the local radius at each (what the blocks gather). */
export interface SkeletonPoints {
  /** Volume shape (z, y, x) the coordinates index into. */
  readonly shape: Vec3;
  /** Voxel size (z, y, x) and the physical position of voxel (0, 0, 0)'s centre (z, y, x). */
  readonly spacing: Vec3;
  readonly origin: Vec3;
  readonly z: ArrayLike<number>;
  readonly y: ArrayLike<number>;
  readonly x: ArrayLike<number>;
  /** Distance from the voxel centre to the nearest background voxel centre (physical). */
  readonly radius: ArrayLike<number>;
}

export type NodeKind = 'tip' | 'branch' | 'point' | 'pass';

export interface GraphNode {
  readonly id: number;
  kind: NodeKind;
  /** Physical x, y, z: a tip's voxel centre, or the centroid of a branch's junction voxels. */
  readonly position: XYZ;
  readonly radius: number;
  /** Segments meeting here (a segment that loops back counts twice). */
  degree: number;
  /**
   * A tip within its radius plus a voxel of a face of the scan: the end of a root cut by the
   * field of view (thinning pulls it back from the cut), not a free end.
   */
  cut?: boolean;
}

export interface GraphSegment {
  readonly id: number;
  /** End nodes; equal for a loop closing on one node, −1 for a loop with no node at all. */
  a: number;
  b: number;
  /** Smoothed centreline from a to b, physical x, y, z. */
  points: XYZ[];
  /** Radius at each point (physical). */
  radii: number[];
  length: number;
}

export interface RootGraph {
  readonly nodes: GraphNode[];
  readonly segments: GraphSegment[];
}

export interface GraphOptions {
  /**
   * Terminal segments shorter than this many times the radius at their branch point are spurs of
   * thinning (bumps on the surface), not roots, and are removed. Default 1.5; 0 keeps all.
   */
  readonly pruneFactor?: number;
  /** Half-width (in points) of the moving average that smooths centrelines before measuring. Default 2. */
  readonly smoothHalfWidth?: number;
  /** Passes of that moving average. Default 2. */
  readonly smoothPasses?: number;
  /**
   * Extend tips that end near a face of the scan straight out to that face: a root cut by the
   * field of view thins back from the cut by about its radius. Default true.
   */
  readonly extendToEdge?: boolean;
}

function dist(a: XYZ, b: XYZ): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

export function polylineLength(p: readonly XYZ[]): number {
  let s = 0;
  for (let i = 1; i < p.length; i++) s += dist(p[i - 1]!, p[i]!);
  return s;
}

/** Moving average of interior points (end points fixed), `passes` times. */
export function smoothPolyline(p: XYZ[], half: number, passes: number): XYZ[] {
  if (p.length < 3 || half < 1) return p;
  let cur = p;
  for (let it = 0; it < passes; it++) {
    const next: XYZ[] = [cur[0]!];
    for (let i = 1; i < cur.length - 1; i++) {
      const h = Math.min(half, i, cur.length - 1 - i);
      const s: XYZ = [0, 0, 0];
      for (let k = i - h; k <= i + h; k++) {
        s[0] += cur[k]![0];
        s[1] += cur[k]![1];
        s[2] += cur[k]![2];
      }
      next.push([s[0] / (2 * h + 1), s[1] / (2 * h + 1), s[2] / (2 * h + 1)]);
    }
    next.push(cur[cur.length - 1]!);
    cur = next;
  }
  return cur;
}

/**
 * The root graph of a skeleton: tips (one neighbour), branch points (clusters of voxels with
 * three or more neighbours, 26-connectivity), and the segments of two-neighbour voxels between
 * them, each with its smoothed centreline, length and radii. Spurs are pruned, and branch points
 * left with two segments are dissolved into one segment.
 */
export function buildGraph(sk: SkeletonPoints, opts: GraphOptions = {}): RootGraph {
  const pruneFactor = opts.pruneFactor ?? 1.5;
  const { nbrs, pos } = skeletonAdjacency(sk);
  const { nodeOf, nodes } = findNodes(sk, nbrs, pos);
  let segments = segmentGeometry(sk, traceSegments(nbrs, nodeOf), nodes, pos);
  recountDegrees(nodes, segments);
  const faces = scanFaces(sk);
  // Prune spurs, then dissolve nodes left with two segments; repeat until nothing changes.
  for (let round = 0; round < 10; round++) {
    let changed = false;
    if (pruneFactor > 0) {
      const pruned = pruneSpurs(nodes, segments, pruneFactor, faces);
      if (pruned !== segments) {
        segments = pruned;
        changed = true;
        recountDegrees(nodes, segments);
      }
    }
    const dissolved = dissolvePassNodes(nodes, segments);
    if (dissolved !== segments) {
      segments = dissolved;
      changed = true;
    }
    recountDegrees(nodes, segments);
    if (!changed) break;
  }
  classifyNodes(nodes, faces);
  measureSegments(segments, nodes, opts, faces, sk.spacing);
  segments.forEach((s, k) => ((s as { id: number }).id = k));
  return { nodes, segments };
}

/** Each skeleton voxel's 26-neighbours among the skeleton voxels, and its physical position. */
function skeletonAdjacency(sk: SkeletonPoints): { nbrs: number[][]; pos: (i: number) => XYZ } {
  const [NZ, NY, NX] = sk.shape;
  const n = sk.z.length;
  const key = (z: number, y: number, x: number): number => (z * NY + y) * NX + x;
  const idOf = new Map<number, number>();
  for (let i = 0; i < n; i++) idOf.set(key(sk.z[i]!, sk.y[i]!, sk.x[i]!), i);
  const offs = neighbourOffsets(26);
  const nbrs: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const l: number[] = [];
    const z = sk.z[i]!;
    const y = sk.y[i]!;
    const x = sk.x[i]!;
    for (const [dz, dy, dx] of offs) {
      const zz = z + dz;
      const yy = y + dy;
      const xx = x + dx;
      if (zz < 0 || yy < 0 || xx < 0 || zz >= NZ || yy >= NY || xx >= NX) continue;
      const j = idOf.get(key(zz, yy, xx));
      if (j !== undefined) l.push(j);
    }
    nbrs[i] = l;
  }
  const pos = (i: number): XYZ => [
    sk.origin[2] + sk.x[i]! * sk.spacing[2],
    sk.origin[1] + sk.y[i]! * sk.spacing[1],
    sk.origin[0] + sk.z[i]! * sk.spacing[0],
  ];
  return { nbrs, pos };
}

/** Nodes: every voxel that is not a plain two-neighbour link; junction voxels that touch merge. `nodeOf` is −1 on links. */
function findNodes(sk: SkeletonPoints, nbrs: readonly number[][], pos: (i: number) => XYZ): { nodeOf: Int32Array; nodes: GraphNode[] } {
  const n = nbrs.length;
  const nodeOf = new Int32Array(n).fill(-1);
  const nodes: GraphNode[] = [];
  for (let i = 0; i < n; i++) {
    const deg = nbrs[i]!.length;
    if (deg === 2 || nodeOf[i] !== -1) continue;
    const id = nodes.length;
    if (deg <= 1) {
      nodeOf[i] = id;
      nodes.push({ id, kind: deg === 0 ? 'point' : 'tip', position: pos(i), radius: sk.radius[i]!, degree: 0 });
      continue;
    }
    const cluster = [i];
    nodeOf[i] = id;
    for (let k = 0; k < cluster.length; k++) {
      for (const j of nbrs[cluster[k]!]!) {
        if (nodeOf[j] === -1 && nbrs[j]!.length >= 3) {
          nodeOf[j] = id;
          cluster.push(j);
        }
      }
    }
    const c: XYZ = [0, 0, 0];
    let r = 0;
    for (const j of cluster) {
      const p = pos(j);
      c[0] += p[0] / cluster.length;
      c[1] += p[1] / cluster.length;
      c[2] += p[2] / cluster.length;
      r = Math.max(r, sk.radius[j]!);
    }
    nodes.push({ id, kind: 'branch', position: c, radius: r, degree: 0 });
  }
  return { nodeOf, nodes };
}

/** A segment as traced: its end nodes (−1 for none) and its voxels in order. */
interface TracedSegment {
  a: number;
  b: number;
  vox: number[];
}

/** Segments: walks from each node voxel along links to the next node voxel; then the loops of links with no node at all. */
function traceSegments(nbrs: readonly number[][], nodeOf: Int32Array): TracedSegment[] {
  const n = nbrs.length;
  const raws: TracedSegment[] = [];
  const used = new Uint8Array(n);
  const directPairs = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (nodeOf[i] === -1) continue;
    for (const first of nbrs[i]!) {
      if (nodeOf[first] === nodeOf[i]) continue;
      if (nodeOf[first] !== -1) {
        // Two nodes touching directly: one segment between them, once.
        const pk = i < first ? `${i},${first}` : `${first},${i}`;
        if (directPairs.has(pk)) continue;
        directPairs.add(pk);
        raws.push({ a: nodeOf[i]!, b: nodeOf[first]!, vox: [i, first] });
        continue;
      }
      if (used[first]) continue;
      const vox = [i, first];
      let prev = i;
      let cur = first;
      while (nodeOf[cur] === -1) {
        used[cur] = 1;
        const l = nbrs[cur]!;
        const next = l[0] === prev ? l[1]! : l[0]!;
        prev = cur;
        cur = next;
        vox.push(cur);
        if (used[cur] && nodeOf[cur] === -1) break; // cannot happen on a consistent skeleton
      }
      raws.push({ a: nodeOf[i]!, b: nodeOf[cur] ?? -1, vox });
    }
  }
  // Loops of links with no node at all.
  for (let i = 0; i < n; i++) {
    if (nodeOf[i] !== -1 || used[i]) continue;
    const vox = [i];
    used[i] = 1;
    let prev = i;
    let cur = nbrs[i]![0]!;
    while (cur !== i && !used[cur]) {
      used[cur] = 1;
      vox.push(cur);
      const l = nbrs[cur]!;
      const next = l[0] === prev ? l[1]! : l[0]!;
      prev = cur;
      cur = next;
    }
    vox.push(i);
    raws.push({ a: -1, b: -1, vox });
  }
  return raws;
}

/** Geometry of each segment: ends at the node positions, interior smoothed later. */
function segmentGeometry(
  sk: SkeletonPoints,
  raws: readonly TracedSegment[],
  nodes: readonly GraphNode[],
  pos: (i: number) => XYZ,
): GraphSegment[] {
  return raws.map((r, k) => {
    const points = r.vox.map(pos);
    const radii = r.vox.map((v) => sk.radius[v]!);
    if (r.a >= 0) points[0] = nodes[r.a]!.position;
    if (r.b >= 0) points[points.length - 1] = nodes[r.b]!.position;
    return { id: k, a: r.a, b: r.b, points, radii, length: 0 };
  });
}

function recountDegrees(nodes: readonly GraphNode[], segments: readonly GraphSegment[]): void {
  for (const nd of nodes) nd.degree = 0;
  for (const s of segments) {
    if (s.a >= 0) nodes[s.a]!.degree++;
    if (s.b >= 0) nodes[s.b]!.degree++;
  }
}

/**
 * The scan's faces (`lo`, `hi`: its outer corners, physical x, y, z): a root cut there thins back
 * from the cut by about its radius, leaving a short end that is not a spur.
 */
interface ScanFaces {
  readonly lo: XYZ;
  readonly hi: XYZ;
  nearFace(p: XYZ, margin: number): boolean;
  /** How near a face a tip must lie to count as cut there: its radius plus a voxel. */
  cutMargin(nd: GraphNode): number;
}

function scanFaces(sk: SkeletonPoints): ScanFaces {
  const [NZ, NY, NX] = sk.shape;
  const lo: XYZ = [sk.origin[2] - sk.spacing[2] / 2, sk.origin[1] - sk.spacing[1] / 2, sk.origin[0] - sk.spacing[0] / 2];
  const hi: XYZ = [lo[0] + NX * sk.spacing[2], lo[1] + NY * sk.spacing[1], lo[2] + NZ * sk.spacing[0]];
  const maxVoxel = Math.max(...sk.spacing);
  return {
    lo,
    hi,
    nearFace: (p, margin) => p.some((v, k) => v - lo[k]! <= margin || hi[k]! - v <= margin),
    cutMargin: (nd) => nd.radius + maxVoxel,
  };
}

/**
 * One round of spur pruning: terminal segments from a tip to a branch point shorter than
 * `pruneFactor` times the branch's radius go, their tips becoming 'pass'. Returns the segments
 * left (the same array when none went); degrees are left for the caller to recount.
 */
function pruneSpurs(nodes: readonly GraphNode[], segments: GraphSegment[], pruneFactor: number, faces: ScanFaces): GraphSegment[] {
  const drop = new Set<number>();
  const deadTips = new Set<number>();
  const faceEnds = new Map<number, { s: GraphSegment; tip: GraphNode }[]>();
  for (const s of segments) {
    if (s.a < 0 || s.a === s.b) continue;
    const na = nodes[s.a]!;
    const nb = nodes[s.b]!;
    const [tip, branch] =
      na.degree === 1 && nb.degree >= 3 ? [na, nb] : nb.degree === 1 && na.degree >= 3 ? [nb, na] : [undefined, undefined];
    if (!tip || !branch) continue;
    if (faces.nearFace(tip.position, faces.cutMargin(tip))) {
      faceEnds.set(branch.id, [...(faceEnds.get(branch.id) ?? []), { s, tip }]);
      continue;
    }
    if (polylineLength(s.points) >= pruneFactor * branch.radius || branch.degree < 3) continue;
    drop.add(s.id);
    deadTips.add(tip.id);
    branch.degree--; // keeps two spurs of one branch from both going in one round
  }
  // A root cut by a face at a grazing angle thins into a fork at the cut: of the ends of one
  // junction that reach the face, the longest is the root's cut end and the short rest spurs.
  for (const [id, ends] of faceEnds) {
    const branch = nodes[id]!;
    ends.sort((p, q) => polylineLength(q.s.points) - polylineLength(p.s.points));
    for (const { s, tip } of ends.slice(1)) {
      if (branch.degree < 3 || polylineLength(s.points) >= pruneFactor * branch.radius) continue;
      drop.add(s.id);
      deadTips.add(tip.id);
      branch.degree--;
    }
  }
  if (!drop.size) return segments;
  for (const t of deadTips) nodes[t]!.kind = 'pass';
  return segments.filter((s) => !drop.has(s.id));
}

/**
 * Dissolves branch nodes left with two segments, joining the two into one; the node becomes
 * 'pass'. Returns the segments after (the same array when none was dissolved).
 */
function dissolvePassNodes(nodes: readonly GraphNode[], segments: GraphSegment[]): GraphSegment[] {
  let out = segments;
  for (const nd of nodes) {
    if (nd.kind !== 'branch' || nd.degree !== 2) continue;
    const two = out.filter((s) => s.a === nd.id || s.b === nd.id);
    if (two.length !== 2) continue; // a loop closing on this node: leave it
    const [s1, s2] = two as [GraphSegment, GraphSegment];
    const p1 = s1.b === nd.id ? s1 : reverse(s1);
    const p2 = s2.a === nd.id ? s2 : reverse(s2);
    const merged: GraphSegment = {
      id: s1.id,
      a: p1.a,
      b: p2.b,
      points: [...p1.points, ...p2.points.slice(1)],
      radii: [...p1.radii, ...p2.radii.slice(1)],
      length: 0,
    };
    out = out.filter((s) => s !== s1 && s !== s2);
    out.push(merged);
    nd.kind = 'pass';
    nd.degree = 0;
  }
  return out;
}

/** Each remaining node's kind from its degree; tips near a face of the scan are marked cut. */
function classifyNodes(nodes: readonly GraphNode[], faces: ScanFaces): void {
  for (const nd of nodes) {
    if (nd.kind === 'pass') continue;
    nd.kind = nd.degree === 0 ? 'point' : nd.degree === 1 ? 'tip' : nd.degree === 2 ? 'pass' : 'branch';
    if (nd.kind === 'tip') nd.cut = faces.nearFace(nd.position, faces.cutMargin(nd));
  }
}

/** Smooths each centreline, extends cut tips to the scan's faces, and measures the length. */
function measureSegments(
  segments: readonly GraphSegment[],
  nodes: readonly GraphNode[],
  opts: GraphOptions,
  faces: ScanFaces,
  spacing: Vec3,
): void {
  const half = opts.smoothHalfWidth ?? 2;
  const passes = opts.smoothPasses ?? 2;
  for (const s of segments) {
    s.points = smoothPolyline(s.points, half, passes);
    if (opts.extendToEdge ?? true) {
      if (s.a >= 0 && nodes[s.a]!.degree === 1) extendEnd(s, 'a', faces.lo, faces.hi, nodes[s.a]!.radius, spacing);
      if (s.b >= 0 && nodes[s.b]!.degree === 1) extendEnd(s, 'b', faces.lo, faces.hi, nodes[s.b]!.radius, spacing);
    }
    s.length = polylineLength(s.points);
  }
}

function reverse(s: GraphSegment): GraphSegment {
  return { id: s.id, a: s.b, b: s.a, points: [...s.points].reverse(), radii: [...s.radii].reverse(), length: s.length };
}

/**
 * Extends the end of a segment at a tip straight out to the nearest face of the scan when the
 * tip lies within its radius (plus a voxel) of that face along its direction.
 */
function extendEnd(s: GraphSegment, end: 'a' | 'b', lo: XYZ, hi: XYZ, radius: number, spacing: Vec3): void {
  const pts = end === 'a' ? [...s.points].reverse() : s.points;
  if (pts.length < 2) return;
  const tip = pts[pts.length - 1]!;
  // Direction over the last few radii of the centreline.
  const reach = Math.max(2 * radius, 3 * Math.max(...spacing));
  let k = pts.length - 1;
  while (k > 0 && dist(pts[k]!, tip) < reach) k--;
  const from = pts[k]!;
  const d: XYZ = [tip[0] - from[0], tip[1] - from[1], tip[2] - from[2]];
  const L = Math.hypot(d[0], d[1], d[2]);
  if (L === 0) return;
  const u: XYZ = [d[0] / L, d[1] / L, d[2] / L];
  const limit = radius + Math.max(...spacing);
  let t = Infinity;
  for (let a = 0; a < 3; a++) {
    if (u[a]! > 1e-9) t = Math.min(t, (hi[a]! - tip[a]!) / u[a]!);
    else if (u[a]! < -1e-9) t = Math.min(t, (lo[a]! - tip[a]!) / u[a]!);
  }
  if (!(t > 0 && t <= limit)) return;
  const p: XYZ = [tip[0] + t * u[0], tip[1] + t * u[1], tip[2] + t * u[2]];
  const r = end === 'a' ? s.radii[0]! : s.radii[s.radii.length - 1]!;
  if (end === 'a') {
    s.points = [p, ...s.points];
    s.radii = [r, ...s.radii];
  } else {
    s.points = [...s.points, p];
    s.radii = [...s.radii, r];
  }
}
