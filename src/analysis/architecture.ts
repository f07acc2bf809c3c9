import { type GraphSegment, polylineLength, type RootGraph, type XYZ } from './graph.js';

/** One root of the architecture: a path through the graph from where it starts to its tip. */
export interface ArchRoot {
  readonly id: number;
  /** Index of the parent root, −1 for a root that starts a system (the top of a component). */
  readonly parent: number;
  /** 1 for the first root of a system, 2 for its laterals, and so on. */
  readonly order: number;
  /** Centreline from the base (on the parent, for a lateral) to the tip; physical x, y, z. */
  readonly points: XYZ[];
  /** Diameter at each point (physical). */
  readonly diameters: number[];
  readonly length: number;
  /** Angle (degrees) between this lateral and its parent's onward direction where it leaves it. */
  readonly branchAngle?: number;
  /**
   * Length at the base of a lateral that lies inside its parent (the parent's radius there): the
   * centreline starts on the parent's axis, the root itself at the parent's surface.
   */
  readonly baseInside: number;
}

function unit(a: XYZ, b: XYZ): XYZ | undefined {
  const d: XYZ = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const l = Math.hypot(d[0], d[1], d[2]);
  return l > 0 ? [d[0] / l, d[1] / l, d[2] / l] : undefined;
}

/** The point at arc length `s` along `p` (clamped to its ends). */
function pointAt(p: readonly XYZ[], s: number): XYZ {
  let acc = 0;
  for (let i = 1; i < p.length; i++) {
    const a = p[i - 1]!;
    const b = p[i]!;
    const l = Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
    if (acc + l >= s && l > 0) {
      const t = (s - acc) / l;
      return [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), a[2] + t * (b[2] - a[2])];
    }
    acc += l;
  }
  return p[p.length - 1]!;
}

/**
 * Direction of `p` between arc lengths `from` and `to`: past the junction, where centrelines of
 * thinned branches bend towards each other, and over a stretch long enough to average voxel steps.
 * On a short branch the stretch shrinks to what there is.
 */
function leavingDirection(p: readonly XYZ[], from: number, to: number): XYZ | undefined {
  const L = polylineLength(p);
  if (L === 0) return undefined;
  const t1 = Math.min(to, L);
  const t0 = Math.min(from, t1 / 2);
  return unit(pointAt(p, t0), pointAt(p, t1));
}

/** The parent's radius beside a branch point: the median over its centreline within `reach` of the node, past the junction's bulge. */
function parentRadius(onward: { pts: XYZ[]; radii: number[] } | undefined, fallback: number, reach: number): number {
  if (!onward || onward.pts.length < 2) return fallback;
  const near: number[] = [];
  let s = 0;
  for (let i = 1; i < onward.pts.length && s <= 2 * reach; i++) {
    s += Math.hypot(
      onward.pts[i]![0] - onward.pts[i - 1]![0],
      onward.pts[i]![1] - onward.pts[i - 1]![1],
      onward.pts[i]![2] - onward.pts[i - 1]![2],
    );
    if (s >= reach / 2) near.push(onward.radii[i]!);
  }
  if (!near.length) return fallback;
  near.sort((a, b) => a - b);
  return near[Math.floor(near.length / 2)]!;
}

function angleDeg(u: XYZ, v: XYZ): number {
  const c = Math.max(-1, Math.min(1, u[0] * v[0] + u[1] * v[1] + u[2] * v[2]));
  return (Math.acos(c) * 180) / Math.PI;
}

/**
 * Reads a root architecture off the graph, as RSML wants it. In each connected part, the root
 * system starts at the end highest in the scan (smallest z: roots enter from the soil surface).
 * Walking down from there, at each branch point the root goes on along the branch with the
 * longest way to a tip, and every other branch starts a lateral of the next order. A segment that
 * closes a loop becomes a lateral of its own. Every segment is in exactly one root, so the roots'
 * lengths add up to the graph's.
 */
export function extractArchitecture(g: RootGraph, reachFactor = 2): ArchRoot[] {
  const bySeg = g.segments;
  const at = new Map<number, number[]>();
  for (const s of bySeg) {
    for (const e of [s.a, s.b]) {
      if (e < 0) continue;
      const l = at.get(e) ?? [];
      l.push(s.id);
      at.set(e, l);
    }
  }
  const roots: ArchRoot[] = [];
  const segDone = new Uint8Array(bySeg.length);
  const nodeSeen = new Set<number>();
  const oriented = (s: GraphSegment, from: number): { pts: XYZ[]; radii: number[]; to: number } =>
    s.a === from ? { pts: s.points, radii: s.radii, to: s.b } : { pts: [...s.points].reverse(), radii: [...s.radii].reverse(), to: s.a };
  // Longest way (length) to a tip below each (segment, direction), memoised on the tree as walked.
  const longest = new Map<string, number>();
  const down = (sid: number, from: number, guard: Set<number>): number => {
    const k = `${sid}:${from}`;
    const hit = longest.get(k);
    if (hit !== undefined) return hit;
    const s = bySeg[sid]!;
    const to = s.a === from ? s.b : s.a;
    let best = 0;
    if (to >= 0 && !guard.has(to)) {
      guard.add(to);
      for (const o of at.get(to) ?? []) if (o !== sid) best = Math.max(best, down(o, to, guard));
      guard.delete(to);
    }
    const v = s.length + best;
    longest.set(k, v);
    return v;
  };
  const grow = (firstSeg: number, from: number, parent: number, order: number, branchAngle?: number, baseInside = 0): void => {
    const points: XYZ[] = [];
    const radii: number[] = [];
    let sid = firstSeg;
    let node = from;
    const pendingLaterals: { seg: number; node: number; onward: number | undefined }[] = [];
    for (;;) {
      segDone[sid] = 1;
      const o = oriented(bySeg[sid]!, node);
      if (points.length === 0) {
        points.push(...o.pts);
        radii.push(...o.radii);
      } else {
        points.push(...o.pts.slice(1));
        radii.push(...o.radii.slice(1));
      }
      const next = o.to;
      if (next < 0 || nodeSeen.has(next)) break; // tip of a loop that closes on visited ground
      nodeSeen.add(next);
      const options = (at.get(next) ?? []).filter((c) => !segDone[c]);
      if (options.length === 0) break;
      const guard = new Set<number>([next]);
      options.sort((a, b) => down(b, next, guard) - down(a, next, guard));
      const onward = options[0]!;
      for (const c of options.slice(1)) pendingLaterals.push({ seg: c, node: next, onward });
      sid = onward;
      node = next;
    }
    const id = roots.length;
    const rootEntry: ArchRoot = {
      id,
      parent,
      order,
      points,
      diameters: radii.map((r) => 2 * r),
      length: polylineLength(points),
      ...(branchAngle !== undefined ? { branchAngle } : {}),
      baseInside: Math.min(baseInside, polylineLength(points)),
    };
    roots.push(rootEntry);
    for (const p of pendingLaterals) {
      if (segDone[p.seg]) continue;
      const nd = g.nodes[p.node]!;
      const reach = reachFactor * nd.radius;
      const lat = leavingDirection(oriented(bySeg[p.seg]!, p.node).pts, reach, 3 * reach);
      const on = p.onward !== undefined ? leavingDirection(oriented(bySeg[p.onward]!, p.node).pts, reach, 3 * reach) : undefined;
      grow(
        p.seg,
        p.node,
        id,
        order + 1,
        lat && on ? angleDeg(lat, on) : undefined,
        parentRadius(p.onward !== undefined ? oriented(bySeg[p.onward]!, p.node) : undefined, nd.radius, reach),
      );
    }
  };
  // Systems: start at the highest free end of each connected part.
  const ends = g.nodes.filter((n) => n.degree === 1 && n.kind === 'tip').sort((a, b) => a.position[2] - b.position[2]);
  const others = g.nodes.filter((n) => n.degree >= 2).sort((a, b) => a.position[2] - b.position[2]);
  for (const n of [...ends, ...others]) {
    if (nodeSeen.has(n.id)) continue;
    const first = (at.get(n.id) ?? []).find((s) => !segDone[s]);
    if (first === undefined) continue;
    nodeSeen.add(n.id);
    grow(first, n.id, -1, 1);
  }
  // Loops with no node.
  for (const s of bySeg) {
    if (segDone[s.id]) continue;
    segDone[s.id] = 1;
    roots.push({
      id: roots.length,
      parent: -1,
      order: 1,
      points: s.points,
      diameters: s.radii.map((r) => 2 * r),
      length: polylineLength(s.points),
      baseInside: 0,
    });
  }
  return roots;
}
