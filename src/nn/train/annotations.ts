import type { PatchVolume, Point } from './sampler.js';

/** Values of a `labels/annotations` image: 0 unlabelled, 1 root, 2 not root. */
export const UNLABELLED = 0;
export const ROOT = 1;
export const NOT_ROOT = 2;

/**
 * Side of the cells annotations are stored and held out by. A held-out region is a whole cell,
 * so a stroke is split between training and validation only where it crosses a cell face.
 */
export const CELL = 16;

export interface ClassCounts {
  root: number;
  notRoot: number;
}

/** Which annotated voxels a view shows: those in training cells or those in held-out cells. */
export type Split = 'train' | 'val';

/** A small integer hash to [0, 1): deterministic from the seed, the volume and the cell. */
export function cellHash(seed: number, volume: number, cell: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [volume, cell % 0x100000000, Math.floor(cell / 0x100000000)]) {
    h = Math.imul(h ^ v, 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h / 4294967296;
}

/**
 * The annotated voxels of one scan, kept sparse: only the CELL³ cells holding a stroke are stored.
 * Built from the label image slab by slab (`addSlab`), so a large scan with a few strokes costs
 * little memory.
 */
export class StrokeLabels {
  private readonly cells = new Map<number, Uint8Array>();
  private readonly grid: Point;

  constructor(
    readonly name: string,
    readonly shape: Point,
  ) {
    this.grid = shape.map((s) => Math.ceil(s / CELL)) as Point;
  }

  /** Adds z-slab [z0, z0 + d) of the label image (all of y and x); values other than 0, 1, 2 are refused. */
  addSlab(z0: number, d: number, data: ArrayLike<number>): void {
    const [, H, W] = this.shape;
    if (data.length !== d * H * W) throw new RangeError(`${this.name}: slab of ${data.length} voxels, expected ${d}×${H}×${W}`);
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v === UNLABELLED) continue;
      if (v !== ROOT && v !== NOT_ROOT) {
        const z = z0 + Math.floor(i / (H * W));
        throw new RangeError(
          `${this.name}: voxel (z ${z}, y ${Math.floor(i / W) % H}, x ${i % W}) holds ${v}; annotations are 0 (unlabelled), 1 (root) or 2 (not root)`,
        );
      }
      this.set([z0 + Math.floor(i / (H * W)), Math.floor(i / W) % H, i % W], v);
    }
  }

  cellKey(p: Point): number {
    return (Math.floor(p[0] / CELL) * this.grid[1] + Math.floor(p[1] / CELL)) * this.grid[2] + Math.floor(p[2] / CELL);
  }

  private inCell(p: Point): number {
    return ((p[0] % CELL) * CELL + (p[1] % CELL)) * CELL + (p[2] % CELL);
  }

  set(p: Point, v: number): void {
    const key = this.cellKey(p);
    let c = this.cells.get(key);
    if (!c) {
      if (v === UNLABELLED) return;
      c = new Uint8Array(CELL ** 3);
      this.cells.set(key, c);
    }
    c[this.inCell(p)] = v;
  }

  get(p: Point): number {
    if (p.some((c, i) => c < 0 || c >= this.shape[i]!)) return UNLABELLED;
    return this.cells.get(this.cellKey(p))?.[this.inCell(p)] ?? UNLABELLED;
  }

  /** Keys of the cells holding at least one annotated voxel. */
  annotatedCells(): number[] {
    return [...this.cells.entries()].filter(([, c]) => c.some((v) => v !== UNLABELLED)).map(([k]) => k);
  }

  /** Annotated voxels of each class, in the given cells (all when omitted). */
  counts(cells?: ReadonlySet<number>, exclude = false): ClassCounts {
    const n: ClassCounts = { root: 0, notRoot: 0 };
    for (const [k, c] of this.cells) {
      if (cells && cells.has(k) === exclude) continue;
      for (const v of c) {
        if (v === ROOT) n.root++;
        else if (v === NOT_ROOT) n.notRoot++;
      }
    }
    return n;
  }

  /** Every annotated voxel in the given cells (all when omitted), with its class. */
  *voxels(cells?: ReadonlySet<number>, exclude = false): Generator<{ p: Point; v: number }> {
    const [, gy, gx] = this.grid;
    for (const [k, c] of this.cells) {
      if (cells && cells.has(k) === exclude) continue;
      const cz = Math.floor(k / (gy * gx)) * CELL;
      const cy = (Math.floor(k / gx) % gy) * CELL;
      const cx = (k % gx) * CELL;
      for (let i = 0; i < c.length; i++) {
        if (c[i] === UNLABELLED) continue;
        yield { p: [cz + Math.floor(i / (CELL * CELL)), cy + (Math.floor(i / CELL) % CELL), cx + (i % CELL)], v: c[i]! };
      }
    }
  }
}

/**
 * Chooses the held-out cells of one scan: each annotated cell whose hash (seed, volume, cell) falls
 * below `fraction`. When none does and the scan has at least two annotated cells, the one with the
 * smallest hash that was never trained on is held out, so there is something to validate on.
 * Cells in `trained` (trained on in an earlier epoch) are never held out: strokes painted later
 * can change which cells are annotated, but a voxel once trained on never becomes validation.
 */
export function heldOutCells(
  labels: StrokeLabels,
  seed: number,
  volume: number,
  fraction: number,
  trained: ReadonlySet<number>,
): Set<number> {
  if (fraction <= 0) return new Set();
  const cells = labels.annotatedCells().map((k) => ({ k, h: cellHash(seed, volume, k) }));
  const held = new Set(cells.filter((c) => c.h < fraction && !trained.has(c.k)).map((c) => c.k));
  if (held.size === 0 && cells.length >= 2) {
    const fresh = cells.filter((c) => !trained.has(c.k)).sort((a, b) => a.h - b.h);
    if (fresh.length > 0) held.add(fresh[0]!.k);
  }
  return held;
}

/** A patch read from annotations: the root fraction among annotated voxels and the annotated fraction, per cell. */
export interface AnnotatedCube {
  target: Float32Array;
  weight: Float32Array;
}

/**
 * A PatchVolume whose image comes from the scan and whose targets come from one split of its
 * strokes. `readAnnotated` gives a head's target and weight at its scale: a coarse cell's weight is
 * the fraction of its s³ voxels annotated (in this split) and its target the fraction of those that
 * are root, so the low head learns only from what was painted, in proportion to how much was.
 */
export class AnnotatedVolume implements PatchVolume {
  constructor(
    private readonly image: Pick<PatchVolume, 'name' | 'shape' | 'readImage'>,
    readonly labels: StrokeLabels,
    /** The held-out cells. */
    readonly heldOut: ReadonlySet<number>,
    readonly split: Split,
  ) {
    if (labels.shape.some((s, i) => s !== image.shape[i]))
      throw new RangeError(`${image.name}: annotations have shape [${labels.shape}] but the image has [${image.shape}]`);
  }

  get name(): string {
    return this.image.name;
  }

  get shape(): Point {
    return this.image.shape;
  }

  readImage(scale: number, centre: Point, size: number): Promise<Float32Array> {
    return this.image.readImage(scale, centre, size);
  }

  /** Whether voxel p is annotated in this view's split: 0 none, else its class. */
  private classAt(p: Point): number {
    const v = this.labels.get(p);
    if (v === UNLABELLED) return v;
    const held = this.heldOut.has(this.labels.cellKey(p));
    return held === (this.split === 'val') ? v : UNLABELLED;
  }

  async readAnnotated(scale: number, centre: Point, size: number): Promise<AnnotatedCube> {
    const start = centre.map((c) => (Math.floor(c / scale) - Math.floor(size / 2)) * scale);
    const target = new Float32Array(size ** 3);
    const weight = new Float32Array(size ** 3);
    const m = size * scale;
    const p: Point = [0, 0, 0];
    for (let z = 0; z < m; z++)
      for (let y = 0; y < m; y++)
        for (let x = 0; x < m; x++) {
          p[0] = start[0]! + z;
          p[1] = start[1]! + y;
          p[2] = start[2]! + x;
          const v = this.classAt(p);
          if (v === UNLABELLED) continue;
          const o = (Math.floor(z / scale) * size + Math.floor(y / scale)) * size + Math.floor(x / scale);
          weight[o]! += 1;
          if (v === ROOT) target[o]! += 1;
        }
    const inv = 1 / scale ** 3;
    for (let i = 0; i < weight.length; i++) {
      if (weight[i]! > 0) target[i] = target[i]! / weight[i]!;
      weight[i] = weight[i]! * inv;
    }
    return { target, weight };
  }

  async readLabel(scale: number, centre: Point, size: number): Promise<Float32Array> {
    return (await this.readAnnotated(scale, centre, size)).target;
  }

  /** This split's root-stroke voxels (the sampler uses the classes separately; see strokePoints). */
  async rootPoints(): Promise<Point[]> {
    return this.strokePoints().root;
  }

  /** This split's annotated voxels by class, each subsampled to at most `max`. */
  strokePoints(max = 20_000): { root: Point[]; notRoot: Point[] } {
    const out = { root: [] as Point[], notRoot: [] as Point[] };
    const seen = { root: 0, notRoot: 0 };
    for (const { p, v } of this.labels.voxels(this.heldOut, this.split === 'train')) {
      const k = v === ROOT ? 'root' : 'notRoot';
      seen[k]++;
      if (out[k].length < max) out[k].push(p);
      else {
        const j = Math.floor(cellHash(seen[k], 0, 0) * seen[k]);
        if (j < max) out[k][j] = p;
      }
    }
    return out;
  }

  counts(): ClassCounts {
    return this.labels.counts(this.heldOut, this.split === 'train');
  }

  /**
   * Centres of output tiles of side `out` on a lattice fixed to the volume that hold at least one
   * of this split's voxels: each voxel lies in exactly one tile, so validation counts it once.
   */
  tiles(out: number, max = Infinity): Point[] {
    const seen = new Map<string, Point>();
    for (const { p } of this.labels.voxels(this.heldOut, this.split === 'train')) {
      const c = p.map((v) => Math.floor(v / out) * out + Math.floor(out / 2)) as Point;
      seen.set(c.join(), c);
    }
    return [...seen.values()].slice(0, max);
  }
}
