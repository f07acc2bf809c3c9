/**
 * Running the network at several pyramid levels of a scan and fusing the results, so roots far
 * thicker than the network's field of view (a bean's tap root 38 voxels in radius) and roots of a
 * few voxels are both found without the user choosing a level. Level L sees the scan averaged
 * 2^L× (its pyramid level, or averaged from the nearest finer level); its probabilities are
 * opened (COARSE_OPENING), interpolated trilinearly back to full resolution and fused by the
 * maximum: a voxel is root when the network finds it root at the finest level run, or in a body it
 * finds thick at a coarser one. Costs about 1 + 1/8 + 1/64 of one full-resolution pass.
 */
import { type Box, clipBox, growBox, type Vec3, voxelCount } from '../volume/box.js';
import { copyBox } from '../volume/copy.js';
import { greyOpening } from '../volume/morphology.js';
import { placeTile, tilesFor, type Tile } from '../volume/tiles.js';

/**
 * Levels run by default: full resolution and two halvings, those whose smallest side still holds
 * the network's input patch (`patch` voxels). A level smaller than one patch shows the network the
 * whole scan as one small object: a 96³ soil core averaged 4× is a 24³ bright cylinder, which a
 * model that knows thick roots calls root (bench/RESULTS.md, session 22).
 */
export function autoScales(shape: readonly number[], patch: number): number[] {
  return [0, 1, 2].filter((l) => l === 0 || Math.min(...shape.map((s) => Math.ceil(s / 2 ** l))) >= patch);
}

/** Parses `--scales`: `auto`, or pyramid levels such as `0,1,2`. */
export function parseScales(text: string): number[] | 'auto' {
  if (text.trim() === 'auto') return 'auto';
  const ls = text.split(',').map((t) => Number(t.trim()));
  if (ls.length === 0 || ls.some((l) => !Number.isInteger(l) || l < 0 || l > 6))
    throw new Error(`--scales must be auto or pyramid levels 0..6 such as 0,1,2, got "${text}"`);
  if (new Set(ls).size !== ls.length) throw new Error(`--scales ${text}: a level is listed twice`);
  return [...ls].sort((a, b) => a - b);
}

/** Predicts the `out`³ cubes of some tiles of one level (tile coordinates in that level's voxels). */
export type PredictTiles = (tiles: Tile[], level: number) => Promise<Float32Array[]>;

/**
 * One level's probabilities, per block of the full-resolution output (level 0, full resolution,
 * too). Tiles lie on that level's own lattice, so each voxel's probability comes from one tile
 * whatever the block (the result does not depend on the blocking); predictions are kept in a
 * bounded cache since neighbouring blocks share tiles. At level 0 a tile wholly inside the block
 * is not kept (no other block reads it), so with blocks that are multiples of the tile nothing is.
 */
export class ScaleLevel {
  private readonly cache = new Map<string, Float32Array>();
  readonly factor: number;
  readonly shape: Vec3;
  /** Most tile predictions kept: 64 MiB of them. */
  private readonly maxCached: number;

  constructor(
    readonly level: number,
    fullShape: Vec3,
    private readonly out: number,
    private readonly predict: PredictTiles,
    /** Radius (this level's voxels) of the ball its probabilities are opened by: COARSE_OPENING above the finest level run. */
    readonly opening = 0,
    maxCachedBytes = 64 * 2 ** 20,
  ) {
    this.factor = 2 ** level;
    this.shape = fullShape.map((s) => Math.ceil(s / this.factor)) as unknown as Vec3;
    this.maxCached = Math.max(1, Math.floor(maxCachedBytes / (4 * out ** 3)));
  }

  /** The box of this level's voxels that the trilinear interpolation of `box` reads (one voxel of margin, clipped); `box` itself at level 0. */
  coarseBox(box: Box): Box {
    if (this.factor === 1) return box;
    const f = this.factor;
    const lo = box.offset.map((o) => Math.max(0, Math.floor((o + 0.5) / f - 0.5))) as unknown as Vec3;
    const hi = box.offset.map((o, a) => Math.min(this.shape[a]!, Math.floor((o + box.shape[a]! - 0.5) / f - 0.5) + 2)) as unknown as Vec3;
    return { offset: lo, shape: hi.map((h, a) => h - lo[a]!) as unknown as Vec3 };
  }

  /** The tiles that probabilities(box) would predict now (not in the cache). */
  missingTiles(box: Box): Tile[] {
    return tilesFor({ out: this.out, shape: this.shape }, this.coarseBox(box)).filter((t) => !this.cache.has(key(t)));
  }

  /** This level's probabilities at every voxel of the full-resolution `box` (opened, for a coarse level beside a finer one). */
  async probabilities(box: Box): Promise<Float32Array> {
    const cb = this.coarseBox(box);
    // Opening reads 2 × radius around each voxel (erosion, then dilation of the eroded values).
    const m = 2 * this.opening;
    const eb = this.opening > 0 ? clipBox(growBox(cb, [m, m, m]), this.shape)! : cb;
    const predicted = await this.predicted(eb);
    let p = predicted;
    if (this.opening > 0) {
      p = new Float32Array(voxelCount(cb.shape));
      copyBox(greyOpening(predicted, eb.shape, this.opening), eb, p, cb);
    }
    return this.factor === 1 ? p : upsampleTrilinear(p, cb, box, this.factor);
  }

  /** The network's probabilities over `cb`, a box of this level's voxels. */
  private async predicted(cb: Box): Promise<Float32Array> {
    const coarse = new Float32Array(cb.shape[0] * cb.shape[1] * cb.shape[2]);
    const tiles = tilesFor({ out: this.out, shape: this.shape }, cb);
    const fresh = new Map<string, Float32Array>();
    const missing = tiles.filter((t) => !this.cache.has(key(t)));
    const preds = missing.length > 0 ? await this.predict(missing, this.level) : [];
    missing.forEach((t, i) => {
      fresh.set(key(t), preds[i]!);
      if (this.factor > 1 || !this.inside(t, cb)) this.remember(key(t), preds[i]!);
    });
    for (const t of tiles) placeTile(fresh.get(key(t)) ?? this.cache.get(key(t))!, t, this.out, cb, coarse);
    return coarse;
  }

  /** Whether tile `t`, clipped to the level's shape, lies wholly inside `box`. */
  private inside(t: Tile, box: Box): boolean {
    return t.start.every((s, a) => s >= box.offset[a]! && Math.min(s + this.out, this.shape[a]!) <= box.offset[a]! + box.shape[a]!);
  }

  private remember(k: string, p: Float32Array): void {
    this.cache.set(k, p);
    while (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value!);
  }
}

const key = (t: Tile): string => t.start.join(',');

/**
 * A coarse level run beside a finer one adds only the bodies it finds thick: its probabilities are
 * opened (volume/morphology.ts) by a ball of this radius in its own voxels (10 and 20 voxels across
 * at full resolution for levels 1 and 2) before they are fused by the maximum, so a body the
 * element fits in is kept whole, edge and all, and what is thinner is left to the finer level,
 * which sees it better. Without it, a model trained on varied soils called blobs of a fine-textured
 * soil root at level 1 (Dice 0.77 at full resolution, 0.56 fused); the bean's tap root (38 voxels
 * in radius) is still found by level 2 (bench/RESULTS.md, session 30).
 */
export const COARSE_OPENING = 5;

/**
 * Samples a coarse grid (box `cb` of a level `f`× coarser) at the centres of the full-resolution
 * voxels of `box`: full-resolution voxel x lies at coarse coordinate (x + 0.5)/f − 0.5; beyond the
 * outermost coarse centres the value is held (clamped), as at the volume's faces.
 */
export function upsampleTrilinear(coarse: Float32Array, cb: Box, box: Box, f: number): Float32Array {
  const [, cy, cx] = cb.shape;
  const axis = (a: number, n: number): { i0: Int32Array; i1: Int32Array; w: Float32Array } => {
    const i0 = new Int32Array(n);
    const i1 = new Int32Array(n);
    const w = new Float32Array(n);
    const last = cb.shape[a]! - 1;
    for (let k = 0; k < n; k++) {
      const u = Math.min(last, Math.max(0, (box.offset[a]! + k + 0.5) / f - 0.5 - cb.offset[a]!));
      const j = Math.min(last, Math.floor(u));
      i0[k] = j;
      i1[k] = Math.min(last, j + 1);
      w[k] = u - j;
    }
    return { i0, i1, w };
  };
  const [nz, ny, nx] = box.shape;
  const Z = axis(0, nz);
  const Y = axis(1, ny);
  const X = axis(2, nx);
  const out = new Float32Array(nz * ny * nx);
  const at = (z: number, y: number, x: number): number => coarse[(z * cy + y) * cx + x]!;
  for (let z = 0; z < nz; z++) {
    const z0 = Z.i0[z]!;
    const z1 = Z.i1[z]!;
    const wz = Z.w[z]!;
    for (let y = 0; y < ny; y++) {
      const y0 = Y.i0[y]!;
      const y1 = Y.i1[y]!;
      const wy = Y.w[y]!;
      for (let x = 0; x < nx; x++) {
        const x0 = X.i0[x]!;
        const x1 = X.i1[x]!;
        const wx = X.w[x]!;
        const c00 = at(z0, y0, x0) * (1 - wx) + at(z0, y0, x1) * wx;
        const c01 = at(z0, y1, x0) * (1 - wx) + at(z0, y1, x1) * wx;
        const c10 = at(z1, y0, x0) * (1 - wx) + at(z1, y0, x1) * wx;
        const c11 = at(z1, y1, x0) * (1 - wx) + at(z1, y1, x1) * wx;
        out[(z * ny + y) * nx + x] = (c00 * (1 - wy) + c01 * wy) * (1 - wz) + (c10 * (1 - wy) + c11 * wy) * wz;
      }
    }
  }
  return out;
}

/** Fuses a level's probabilities into the running result: the maximum, voxel by voxel. */
export function fuseMax(into: Float32Array, p: Float32Array): void {
  for (let i = 0; i < into.length; i++) if (p[i]! > into[i]!) into[i] = p[i]!;
}
