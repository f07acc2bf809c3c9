/**
 * The simulated person of bench/annotate-loop: paints corrective strokes where a segmentation is
 * wrong, as RootPainter's simulation does. Pure arithmetic on flat z,y,x masks; no I/O.
 *
 * A stroke is drawn on one slice (z, y or x, as a person drawing on the viewer's three planes):
 * a path of up to `length` voxels that walks through one connected error region, widened by a
 * brush of radius 2 in the slice's plane, labelled with the truth (1 root, 2 not root). Voxels
 * within 2 of a true boundary are skipped (a careful annotator leaves the edge alone), as are
 * voxels already painted.
 */
type P3 = [number, number, number];

export interface StrokeOptions {
  strokes: number;
  /** Path length of a stroke, voxels. */
  length: number;
  rand: () => number;
}

export interface StrokeReport {
  strokes: number;
  root: number;
  notRoot: number;
  /** Not-root strokes that had no false-positive region left and went along the soil next to a root. */
  nearRoot: number;
  voxels: number;
}

/** Voxels within Euclidean distance `r` of a voxel whose 6-neighbour has the other class. */
export function nearBoundary(truth: Uint8Array, shape: P3, r = 2): Uint8Array {
  const [D, H, W] = shape;
  const edge = new Uint8Array(truth.length);
  for (let z = 0; z < D; z++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = (z * H + y) * W + x;
        const t = truth[i]! > 0;
        if ((x + 1 < W && truth[i + 1]! > 0 !== t) || (y + 1 < H && truth[i + W]! > 0 !== t) || (z + 1 < D && truth[i + H * W]! > 0 !== t))
          edge[i] = 1;
        if ((x > 0 && truth[i - 1]! > 0 !== t) || (y > 0 && truth[i - W]! > 0 !== t) || (z > 0 && truth[i - H * W]! > 0 !== t)) edge[i] = 1;
      }
  const offs: P3[] = [];
  for (let dz = -r; dz <= r; dz++)
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dz * dz + dy * dy + dx * dx <= r * r) offs.push([dz, dy, dx]);
  const near = new Uint8Array(truth.length);
  for (let z = 0; z < D; z++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        if (!edge[(z * H + y) * W + x]) continue;
        for (const [dz, dy, dx] of offs) {
          const zz = z + dz,
            yy = y + dy,
            xx = x + dx;
          if (zz >= 0 && yy >= 0 && xx >= 0 && zz < D && yy < H && xx < W) near[(zz * H + yy) * W + xx] = 1;
        }
      }
  return near;
}

/** 26-connected components of the voxels where `inSet` holds; each a list of flat indices. */
function components(n: number, shape: P3, inSet: (i: number) => boolean): number[][] {
  const [D, H, W] = shape;
  const seen = new Uint8Array(n);
  const out: number[][] = [];
  for (let s = 0; s < n; s++) {
    if (seen[s] || !inSet(s)) continue;
    const comp: number[] = [];
    const stack = [s];
    seen[s] = 1;
    while (stack.length) {
      const i = stack.pop()!;
      comp.push(i);
      const z = Math.floor(i / (H * W)),
        y = Math.floor(i / W) % H,
        x = i % W;
      for (let dz = -1; dz <= 1; dz++)
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const zz = z + dz,
              yy = y + dy,
              xx = x + dx;
            if (zz < 0 || yy < 0 || xx < 0 || zz >= D || yy >= H || xx >= W) continue;
            const j = (zz * H + yy) * W + xx;
            if (!seen[j] && inSet(j)) {
              seen[j] = 1;
              stack.push(j);
            }
          }
    }
    out.push(comp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/**
 * One stroke from `start` in a plane (axis fixed), walking through `allowed` voxels, brush radius 2
 * in the plane; paints `label` into `annotations` on voxels that `paintable` allows. Returns the
 * voxels painted.
 */
function stroke(
  start: number,
  shape: P3,
  axis: number,
  length: number,
  allowed: (i: number) => boolean,
  paintable: (i: number) => boolean,
  label: number,
  annotations: Uint8Array,
  rand: () => number,
): number {
  const [D, H, W] = shape;
  const at = (i: number): P3 => [Math.floor(i / (H * W)), Math.floor(i / W) % H, i % W];
  const idx = (p: P3): number => (p[0] * H + p[1]) * W + p[2];
  const inside = (p: P3): boolean => p[0] >= 0 && p[1] >= 0 && p[2] >= 0 && p[0] < D && p[1] < H && p[2] < W;
  const moves: P3[] = [];
  for (let a = -1; a <= 1; a++)
    for (let b = -1; b <= 1; b++) {
      if (a === 0 && b === 0) continue;
      const m: P3 = [0, 0, 0];
      const [u, v] = [0, 1, 2].filter((k) => k !== axis);
      m[u!] = a;
      m[v!] = b;
      moves.push(m);
    }
  let p = at(start);
  let dir = moves[Math.floor(rand() * moves.length)]!;
  const visited = new Set<number>([start]);
  let painted = 0;
  const brush: P3[] = [];
  for (let a = -2; a <= 2; a++)
    for (let b = -2; b <= 2; b++) {
      if (a * a + b * b > 4) continue;
      const m: P3 = [0, 0, 0];
      const [u, v] = [0, 1, 2].filter((k) => k !== axis);
      m[u!] = a;
      m[v!] = b;
      brush.push(m);
    }
  const paint = (c: P3): void => {
    for (const m of brush) {
      const q: P3 = [c[0] + m[0], c[1] + m[1], c[2] + m[2]];
      if (!inside(q)) continue;
      const j = idx(q);
      if (annotations[j] === 0 && paintable(j)) {
        annotations[j] = label;
        painted++;
      }
    }
  };
  paint(p);
  for (let s = 1; s < length; s++) {
    // Keep going the same way when the region allows, else turn to any allowed neighbour.
    const options = [dir, ...moves.filter((m) => m !== dir).sort(() => rand() - 0.5)];
    const next = options.find((m) => {
      const q: P3 = [p[0] + m[0], p[1] + m[1], p[2] + m[2]];
      return inside(q) && !visited.has(idx(q)) && allowed(idx(q));
    });
    if (!next) break;
    dir = next;
    p = [p[0] + next[0], p[1] + next[1], p[2] + next[2]];
    visited.add(idx(p));
    paint(p);
  }
  return painted;
}

/**
 * Paints up to `opts.strokes` corrective strokes into `annotations` (modified in place): false
 * negatives get root strokes, false positives not-root strokes, in proportion to their voxels but
 * at least a third each while that class has errors, the largest error regions first (one stroke
 * per region, round-robin when strokes are left). When there are fewer false-positive regions
 * than not-root strokes due, the rest go on the soil 3–8 voxels from a root, as a person marks
 * what surrounds a root they just painted.
 */
export function paintCorrections(
  truth: Uint8Array,
  pred: Uint8Array,
  annotations: Uint8Array,
  shape: P3,
  opts: StrokeOptions,
): StrokeReport {
  const n = truth.length;
  const near = nearBoundary(truth, shape);
  const free = (i: number): boolean => annotations[i] === 0 && near[i] === 0;
  const fnSet = (i: number): boolean => truth[i]! > 0 && pred[i] === 0 && free(i);
  const fpSet = (i: number): boolean => truth[i] === 0 && pred[i]! > 0 && free(i);
  const fn = components(n, shape, fnSet);
  const fp = components(n, shape, fpSet);
  const fnVox = fn.reduce((a, c) => a + c.length, 0);
  const fpVox = fp.reduce((a, c) => a + c.length, 0);
  const K = opts.strokes;
  const third = Math.ceil(K / 3);
  let kRoot = fnVox + fpVox > 0 ? Math.round((K * fnVox) / (fnVox + fpVox)) : Math.round(K / 2);
  kRoot = Math.min(K - third, Math.max(fnVox > 0 ? third : 0, kRoot));
  const kNot = K - kRoot;
  const report: StrokeReport = { strokes: 0, root: 0, notRoot: 0, nearRoot: 0, voxels: 0 };
  const r = opts.rand;
  const draw = (regions: number[][], k: number, allowed: (i: number) => boolean, label: number): number => {
    let done = 0;
    for (let s = 0; s < k && regions.length > 0; s++) {
      const reg = regions[s % regions.length]!;
      const start = reg[Math.floor(r() * reg.length)]!;
      if (!allowed(start)) continue;
      const same = (i: number): boolean => free(i) && (truth[i]! > 0 ? 1 : 2) === label;
      const v = stroke(start, shape, Math.floor(r() * 3), opts.length, allowed, same, label, annotations, r);
      if (v === 0) continue;
      report.voxels += v;
      done++;
    }
    return done;
  };
  report.root = draw(fn, kRoot, fnSet, 1);
  report.notRoot = draw(fp, Math.min(kNot, fp.length), fpSet, 2);
  const left = kNot - report.notRoot;
  if (left > 0) {
    const dist = distanceToRoot(truth, shape, 8);
    const soil = (i: number): boolean => truth[i] === 0 && dist[i]! >= 3 && dist[i]! <= 8 && free(i);
    const pool: number[] = [];
    for (let i = 0; i < n; i++) if (soil(i)) pool.push(i);
    const regions = Array.from({ length: left }, () => [pool[Math.floor(r() * pool.length)]!]).filter((x) => x[0] !== undefined);
    report.nearRoot = draw(regions, left, soil, 2);
    report.notRoot += report.nearRoot;
  }
  report.strokes = report.root + report.notRoot;
  return report;
}

/** Chessboard-free breadth-first distance (6-connected steps) to the nearest root voxel, capped at `cap` + 1. */
function distanceToRoot(truth: Uint8Array, shape: P3, cap: number): Uint8Array {
  const [D, H, W] = shape;
  const dist = new Uint8Array(truth.length).fill(cap + 1);
  let front: number[] = [];
  for (let i = 0; i < truth.length; i++)
    if (truth[i]! > 0) {
      dist[i] = 0;
      front.push(i);
    }
  for (let d = 1; d <= cap && front.length; d++) {
    const next: number[] = [];
    for (const i of front) {
      const z = Math.floor(i / (H * W)),
        y = Math.floor(i / W) % H,
        x = i % W;
      for (const [zz, yy, xx] of [
        [z - 1, y, x],
        [z + 1, y, x],
        [z, y - 1, x],
        [z, y + 1, x],
        [z, y, x - 1],
        [z, y, x + 1],
      ] as P3[]) {
        if (zz < 0 || yy < 0 || xx < 0 || zz >= D || yy >= H || xx >= W) continue;
        const j = (zz * H + yy) * W + xx;
        if (dist[j]! > d) {
          dist[j] = d;
          next.push(j);
        }
      }
    }
    front = next;
  }
  return dist;
}
