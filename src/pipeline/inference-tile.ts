import type { ModelGeometry, SegmentationModel } from '../nn/models/model.js';
import type { Vec3 } from '../volume/box.js';

/**
 * The tile `segment` runs the network on. A 48³ patch predicting 32³ computes 3.4× the voxels it
 * keeps, an 80³ patch predicting 64³ 1.95×, a 144³ patch predicting 128³ 1.42×; but a tile is
 * computed whole even where it runs past the scan, so on a scan that does not fill the larger
 * lattice the smaller tile computes less. Chosen from the whole scan's shape and the pyramid
 * levels run, never from a region or a shard: the tile changes probabilities near tile borders,
 * and a region, a shard and a whole-scan run of one job write the same bytes.
 */

/** What a job predicts: the whole scan at each pyramid level. */
export interface TileWork {
  /** The scan's full-resolution shape. */
  shape: Vec3;
  levels: number[];
}

export interface InferenceTile {
  /** Side of the cube one network patch predicts. */
  out: number;
  geometry: ModelGeometry;
}

/**
 * The tile to run on: `requested` (a multiple of the model's own tile `modelOut`) or, where the
 * model takes larger patches (the patch grows by the tile, the margins stay), whichever of the
 * smallest multiple of at least 64 and twice it computes fewer voxels for `work` (the smaller on
 * a tie: half the memory). Only those two: a tile that is not a multiple or divisor of the 64³
 * chunks is needed by blocks far apart in the chunks' Z-order, and is dropped from the tile cache
 * and predicted again in between. Without `work`, the smaller.
 */
export function inferenceTile(
  model: SegmentationModel,
  modelOut: number,
  margin: number,
  requested?: number,
  work?: TileWork,
): InferenceTile {
  if (requested !== undefined && requested % modelOut !== 0)
    throw new RangeError(`segment: tile ${requested} must be a multiple of the model's tile ${modelOut}`);
  const own = { out: modelOut, geometry: model.geometry };
  if (!model.inferenceGeometry) {
    if (requested !== undefined && requested !== modelOut)
      throw new RangeError(`segment: this ${model.arch} model runs on its own tile of ${modelOut} only`);
    return own;
  }
  const grown = (out: number): InferenceTile => (out === modelOut ? own : { out, geometry: model.inferenceGeometry!(out + 2 * margin) });
  if (requested !== undefined) return grown(requested);
  const base = Math.ceil(64 / modelOut) * modelOut;
  const candidates: InferenceTile[] = [];
  for (const out of work ? [base, 2 * base] : [base]) {
    try {
      candidates.push(grown(out));
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
    }
  }
  if (candidates.length === 0) return own;
  let best = candidates[0]!;
  for (const c of candidates.slice(1)) if (voxelsComputed(c, work!) < voxelsComputed(best, work!)) best = c;
  return best;
}

/** Input voxels the network's full-resolution branch reads for `work` at tile `t`: tiles covering each level × the patch. */
export function voxelsComputed(t: InferenceTile, work: TileWork): number {
  let tiles = 0;
  for (const level of work.levels) tiles += work.shape.reduce((n, s) => n * Math.ceil(Math.ceil(s / 2 ** level) / t.out), 1);
  return tiles * t.geometry.highInput ** 3;
}
