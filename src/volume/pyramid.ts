import { type Vec3, fmtVec } from './box.js';

/** Shape after one 2×2×2 reduction: odd sizes round up, the last block being partial. */
export function halveShape(shape: Vec3): Vec3 {
  return [Math.ceil(shape[0] / 2), Math.ceil(shape[1] / 2), Math.ceil(shape[2] / 2)];
}

export interface PyramidOptions {
  /** Stop once the smallest side of a level is at most this many voxels. */
  readonly minSide?: number;
  /** Upper bound on the number of levels, level 0 included. */
  readonly maxLevels?: number;
}

/**
 * Shapes of the pyramid levels, level 0 first: each level halves every axis of the one
 * before, until the smallest side is at most `minSide` (default 64) or `maxLevels` is reached.
 */
export function pyramidShapes(shape: Vec3, opts: PyramidOptions = {}): Vec3[] {
  const minSide = opts.minSide ?? 64;
  const maxLevels = opts.maxLevels ?? Infinity;
  if (!(maxLevels >= 1)) throw new RangeError(`maxLevels must be at least 1, got ${maxLevels}`);
  if (!(minSide >= 1)) throw new RangeError(`minSide must be at least 1, got ${minSide}`);
  const levels: Vec3[] = [[shape[0], shape[1], shape[2]]];
  let cur = levels[0]!;
  while (levels.length < maxLevels && Math.min(...cur) > minSide) {
    cur = halveShape(cur);
    levels.push(cur);
  }
  return levels;
}

/** Shape of level `level` given level 0's shape. */
export function levelShape(shape: Vec3, level: number): Vec3 {
  if (!Number.isInteger(level) || level < 0) throw new RangeError(`invalid pyramid level ${level} for ${fmtVec(shape)}`);
  let cur = shape;
  for (let l = 0; l < level; l++) cur = halveShape(cur);
  return cur;
}
