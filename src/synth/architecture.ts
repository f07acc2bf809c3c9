import type { ArchitectureParams, RootLookParams } from './params.js';
import { Random } from './random.js';
import { type SceneFrame, inScene } from './scene.js';
import { type V3, add, cross, dist, dot, norm, normalize, perpendicular, rotate, scale, segmentParam, sub } from './vec.js';

/** One root: a polyline with a radius at each point, nested in its parent as in RSML. */
export interface Root {
  readonly id: number;
  /** 0 = primary, 1 = first-order lateral, … */
  readonly order: number;
  /** Index in `RootSystem.roots` of the parent, or -1. */
  readonly parent: number;
  /** Index of the parent's point this root branches from. */
  readonly branchPoint: number;
  /** Points [x, y, z] in mm (see SceneFrame), quantised to `COORD_DECIMALS`. */
  readonly points: V3[];
  /** Radius (mm) at each point, quantised likewise. */
  readonly radii: number[];
  /** Grey value of the tissue at each point. */
  readonly values: number[];
}

export interface RootSystem {
  readonly roots: Root[];
  /** True when `maxSegments` stopped the growth of laterals. */
  readonly truncated: boolean;
}

/** Decimals (of a millimetre) kept for coordinates and radii, so the RSML is exactly what was rendered. */
export const COORD_DECIMALS = 5;
const Q = 10 ** COORD_DECIMALS;
export const quantise = (v: number): number => Math.round(v * Q) / Q + 0; // + 0 turns -0 into 0

interface Pending {
  order: number;
  parent: number;
  branchPoint: number;
  start: V3;
  dir: V3;
  radius: number;
  length: number;
  /** Length over which the radius tapers to tipRatio (≥ length for primaries that leave the scene). */
  taperLength: number;
  /** The parent's radius at the branching point (0 for primaries). */
  parentRadius: number;
  value: number;
}

const DOWN: V3 = [0, 0, 1];

/**
 * Roots already grown, in a coarse hash grid, so a growing root can touch others but not pass
 * through them: a new point inside another root is pushed out to its surface (the roots then
 * lie in contact, as real roots pressed together do).
 */
class Obstacles {
  private readonly cells = new Map<number, number[]>();
  private readonly segs: { a: V3; b: V3; ra: number; rb: number; root: number }[] = [];
  constructor(private readonly cell: number) {}

  /** Cells are numbered exactly (no collisions) for indices within ±2^15. */
  private key(i: number, j: number, k: number): number {
    return ((i + 32768) * 65536 + (j + 32768)) * 65536 + (k + 32768);
  }

  add(root: Root): void {
    for (let i = 0; i + 1 < root.points.length; i++) {
      const a = root.points[i]!;
      const b = root.points[i + 1]!;
      const r = Math.max(root.radii[i]!, root.radii[i + 1]!);
      const id = this.segs.length;
      this.segs.push({ a, b, ra: root.radii[i]!, rb: root.radii[i + 1]!, root: root.id });
      const lo = [0, 1, 2].map((k) => Math.floor((Math.min(a[k]!, b[k]!) - r) / this.cell));
      const hi = [0, 1, 2].map((k) => Math.floor((Math.max(a[k]!, b[k]!) + r) / this.cell));
      for (let x = lo[0]!; x <= hi[0]!; x++)
        for (let y = lo[1]!; y <= hi[1]!; y++)
          for (let z = lo[2]!; z <= hi[2]!; z++) {
            const k = this.key(x, y, z);
            const l = this.cells.get(k);
            if (l) l.push(id);
            else this.cells.set(k, [id]);
          }
    }
  }

  /**
   * Moves q (a point of radius r) out of every grown root it penetrates, except root `ignore`.
   * Returns the point unchanged when it touches nothing.
   */
  pushOut(q: V3, r: number, ignore: number): V3 {
    let p = q;
    for (let iter = 0; iter < 4; iter++) {
      // Segments sit in every cell their radius reaches, so only cells within r of p matter.
      const c0 = [0, 1, 2].map((k) => Math.floor((p[k]! - r) / this.cell));
      const c1 = [0, 1, 2].map((k) => Math.floor((p[k]! + r) / this.cell));
      let worst = 0;
      let fix: V3 | null = null;
      for (let x = c0[0]!; x <= c1[0]!; x++)
        for (let y = c0[1]!; y <= c1[1]!; y++)
          for (let z = c0[2]!; z <= c1[2]!; z++) {
            for (const id of this.cells.get(this.key(x, y, z)) ?? []) {
              const s = this.segs[id]!;
              if (s.root === ignore) continue;
              const ab = sub(s.b, s.a);
              const l2 = dot(ab, ab);
              const t = segmentParam(p, s.a, s.b);
              const foot = add(s.a, scale(ab, t));
              const off = sub(p, foot);
              const d = norm(off);
              const need = r + s.ra + (s.rb - s.ra) * t;
              if (need - d > worst) {
                worst = need - d;
                const n = d > 1e-9 ? scale(off, 1 / d) : perpendicular(l2 > 0 ? normalize(ab) : DOWN);
                fix = add(foot, scale(n, need + 1e-4));
              }
            }
          }
      if (!fix) break;
      p = fix;
    }
    return p;
  }
}

/**
 * Grows a root system: primaries from just above the field of view heading down with
 * gravitropism and random turning, then laterals order by order at the given spacing and
 * insertion angles, arranged in ranks around the parent (as laterals emerge at xylem poles).
 * Roots stop where they leave the scene box; they slide along the container wall.
 */
export function growRootSystem(seed: number, a: ArchitectureParams, look: RootLookParams, frame: SceneFrame, stepMm: number): RootSystem {
  const rnd = new Random(seed, 'roots');
  const roots: Root[] = [];
  let queue: Pending[] = [];
  let segments = 0;
  let truncated = false;

  const nPrim = rnd.int(a.primaries[0], a.primaries[1]);
  const depth = frame.hi[2] - frame.lo[2];
  const spread = Math.min(frame.extent[0], frame.extent[1]) * 0.22;
  const starts: { p: V3; r: number }[] = [];
  for (let i = 0; i < nPrim; i++) {
    const ang = (rnd.uniform(a.primaryAngle[0], a.primaryAngle[1]) * Math.PI) / 180;
    const az = rnd.uniform(0, 2 * Math.PI);
    const dir: V3 = [Math.sin(ang) * Math.cos(az), Math.sin(ang) * Math.sin(az), Math.cos(ang)];
    const r = rnd.uniform(a.primaryRadius[0], a.primaryRadius[1]);
    // Starts clear of the primaries before (they emerge side by side from the seed region).
    let start: V3 = [0, 0, 0];
    for (let k = 0; k < 50; k++) {
      start = [frame.axis[0] + rnd.normal(0, spread), frame.axis[1] + rnd.normal(0, spread), frame.lo[2] + 0.01];
      const inside = Math.hypot(start[0] - frame.axis[0], start[1] - frame.axis[1]) < frame.rin - r;
      if (inside && starts.every((o) => dist(o.p, start) > o.r + r + 0.05)) break;
      if (k === 49) start = [frame.axis[0], frame.axis[1], start[2]];
    }
    starts.push({ p: start, r });
    queue.push({
      order: 0,
      parent: -1,
      branchPoint: -1,
      start,
      dir,
      radius: r,
      length: depth * 3,
      taperLength: depth * 1.6,
      parentRadius: 0,
      value: rnd.normal(look.value, look.valueSd),
    });
  }

  const obstacles = new Obstacles(0.3);
  for (let order = 0; order < a.orders && queue.length > 0; order++) {
    const next: Pending[] = [];
    const op = a.order[order]!;
    for (const pend of queue) {
      const rr = rnd.fork(`root-${roots.length}`);
      const root = growOne(roots.length, pend, op, a, look, frame, stepMm, rr, obstacles);
      if (root.points.length < 2) continue;
      if (segments + root.points.length - 1 > a.maxSegments) {
        truncated = true;
        continue;
      }
      segments += root.points.length - 1;
      roots.push(root);
      obstacles.add(root);
      if (order + 1 < a.orders && op.spacing > 0) next.push(...branches(root, pend, a, order + 1, look, rr));
    }
    queue = next;
  }
  return { roots, truncated };
}

function growOne(
  id: number,
  pend: Pending,
  op: ArchitectureParams['order'][number],
  a: ArchitectureParams,
  look: RootLookParams,
  frame: SceneFrame,
  ds: number,
  rnd: Random,
  obstacles: Obstacles,
): Root {
  const points: V3[] = [];
  const radii: number[] = [];
  const values: number[] = [];
  // A lateral starts on its parent's axis and may cross the parent until it has emerged
  // (parentRadius + own radius away from the start).
  let p = pend.start;
  const emerge = pend.parentRadius + pend.radius;
  let d = normalize(pend.dir);
  let value = pend.value;
  const push = (pt: V3, s: number): void => {
    const r = radiusAt(pend, op, a, s);
    points.push([quantise(pt[0]), quantise(pt[1]), quantise(pt[2])]);
    radii.push(quantise(r));
    values.push(value);
  };
  push(p, 0);
  const steps = Math.max(1, Math.ceil(pend.length / ds));
  const h = pend.length / steps;
  for (let i = 1; i <= steps; i++) {
    // Random turning: a perpendicular kick growing with √length, then a pull towards gravity.
    const kick = rotate(perpendicular(d), d, rnd.uniform(0, 2 * Math.PI));
    d = normalize(add(d, scale(kick, op.tortuosity * Math.sqrt(h) * rnd.normal())));
    if (op.gravitropism > 0) d = normalize(add(d, scale(sub(DOWN, scale(d, dot(d, DOWN))), Math.min(1, op.gravitropism * h))));
    let q = add(p, scale(d, h));
    // The container wall: slide along it (remove the outward radial part of the direction).
    const rq = Math.hypot(q[0] - frame.axis[0], q[1] - frame.axis[1]);
    const rNow = radii[radii.length - 1]!;
    if (rq > frame.rin - rNow) {
      const out: V3 = normalize([q[0] - frame.axis[0], q[1] - frame.axis[1], 0]);
      const along = sub(d, scale(out, Math.max(0, dot(d, out)) + 0.05));
      d = norm(along) > 1e-6 ? normalize(along) : DOWN;
      q = add(p, scale(d, h));
      const rq2 = Math.hypot(q[0] - frame.axis[0], q[1] - frame.axis[1]);
      const lim = frame.rin - rNow;
      if (rq2 > lim && rq2 > 0)
        q = [frame.axis[0] + ((q[0] - frame.axis[0]) * lim) / rq2, frame.axis[1] + ((q[1] - frame.axis[1]) * lim) / rq2, q[2]];
    }
    const rHere = radiusAt(pend, op, a, i * h);
    // While emerging from its parent a lateral is inside it (and maybe beside a sibling's base);
    // after that, a point inside another root is moved to its surface (then back off the wall).
    if (dist(q, pend.start) > emerge) {
      const pushed = obstacles.pushOut(q, rHere, -1);
      if (pushed !== q) {
        q = pushed;
        const rr = Math.hypot(q[0] - frame.axis[0], q[1] - frame.axis[1]);
        const lim = frame.rin - rHere;
        if (rr > lim && rr > 0)
          q = [frame.axis[0] + ((q[0] - frame.axis[0]) * lim) / rr, frame.axis[1] + ((q[1] - frame.axis[1]) * lim) / rr, q[2]];
        // Squeezed between the wall and another root: the root stops here (blocked).
        if (obstacles.pushOut(q, rHere, -1) !== q) break;
        const dq = sub(q, p);
        if (norm(dq) > 1e-9) d = normalize(dq);
      }
    }
    p = q;
    value += rnd.normal(0, look.alongSd * Math.sqrt(h)) - 0.2 * h * (value - pend.value);
    push(p, i * h);
    if (!inScene(frame, p, -Infinity)) break; // left the scene box: this point lies outside, the root exits
  }
  return { id, order: pend.order, parent: pend.parent, branchPoint: pend.branchPoint, points, radii, values };
}

function radiusAt(pend: Pending, op: ArchitectureParams['order'][number], a: ArchitectureParams, s: number): number {
  return Math.max(a.minRadius, pend.radius * (1 - ((1 - op.tipRatio) * Math.min(s, pend.taperLength)) / pend.taperLength));
}

/** Cumulative arc length at each point. */
export function arcLengths(pts: readonly V3[]): number[] {
  const s = [0];
  for (let i = 1; i < pts.length; i++) s.push(s[i - 1]! + dist(pts[i - 1]!, pts[i]!));
  return s;
}

function branches(root: Root, pend: Pending, a: ArchitectureParams, order: number, look: RootLookParams, rnd: Random): Pending[] {
  const parentOp = a.order[root.order]!;
  const op = a.order[order]!;
  const s = arcLengths(root.points);
  const total = s[s.length - 1]!;
  // Primaries that left the scene carry laterals to their end; others keep a bare tip.
  const exited = root.order === 0;
  const end = exited ? total : Math.min(total, pend.length) - parentOp.apicalZone;
  const out: Pending[] = [];
  const ranks = rnd.int(2, 5);
  const twist = rnd.uniform(-0.3, 0.3); // radians per mm: ranks spiral slowly
  const rank0 = rnd.uniform(0, 2 * Math.PI);
  let at = parentOp.basalZone + rnd.uniform(0, parentOp.spacing);
  let k = 0;
  while (at < end) {
    while (k < s.length - 1 && s[k + 1]! <= at) k++;
    const i = Math.min(k + 1, root.points.length - 1);
    const t = normalize(sub(root.points[i]!, root.points[Math.max(0, i - 1)]!));
    const ref = normalize(cross(t, Math.abs(t[2]) < 0.95 ? DOWN : [1, 0, 0]));
    const azimuth = rank0 + (2 * Math.PI * rnd.int(0, ranks - 1)) / ranks + twist * at + rnd.normal(0, 0.25);
    const axis = rotate(ref, t, azimuth);
    const ang = (Math.max(5, Math.min(95, rnd.normal(op.angle, op.angleSd))) * Math.PI) / 180;
    const dir = rotate(t, axis, ang);
    const r = root.radii[i]! * op.radiusRatio * rnd.uniform(0.85, 1.15);
    const len = rnd.logNormal(op.length, op.lengthSpread);
    out.push({
      order,
      parent: root.id,
      branchPoint: i,
      start: root.points[i]!,
      dir,
      radius: r,
      length: len,
      taperLength: len,
      parentRadius: root.radii[i]!,
      value: root.values[i]! + rnd.normal(0, look.valueSd * 0.5),
    });
    at += parentOp.spacing * rnd.uniform(0.55, 1.45);
  }
  return out;
}

/** Total length (mm) of all polylines. */
export function totalLength(sys: RootSystem): number {
  let L = 0;
  for (const r of sys.roots) {
    const s = arcLengths(r.points);
    L += s[s.length - 1]!;
  }
  return L;
}
