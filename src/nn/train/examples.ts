import type { ModelGeometry } from '../models/model.js';
import { transformCube } from '../../volume/cube-transform.js';
import { jitterIntensity, type Augmentation } from './augment.js';
import type { PatchVolume, Point } from './sampler.js';

/** One training example: inputs and the three heads' targets as cubes (z, y, x). */
export interface Example {
  high: Float32Array;
  low: Float32Array | null;
  tLow: Float32Array;
  tHigh: Float32Array;
  tFused: Float32Array;
  /** Weights on the fused target's centrelines, when a `centrelines` function is given. */
  wSkeleton: Float32Array | null;
  /** Per-voxel loss weights of each head (annotated fraction; 0 = not in the loss), from annotation strokes. */
  mask?: { low: Float32Array; high: Float32Array; fused: Float32Array };
}

/**
 * Maps a label cube of side `out + 2·context` to centreline weights on its centre cube of side
 * `out` (the pipeline supplies one built on the analysis layer's skeletons).
 */
export type CentrelineWeights = (label: Float32Array, out: number, context: number) => Float32Array;

/** Label voxels read beyond the fused output on each side, so centrelines near its faces are thinned in context. */
const SKELETON_CONTEXT = 4;

/** Centres snap to the low branch's scale so both patches fall on pyramid cells. */
export function snapCentre(p: Point, g: ModelGeometry): Point {
  const s = Math.max(g.lowScale, g.lowTargetScale);
  return p.map((c) => Math.round(c / s) * s) as Point;
}

export async function readExample(
  vol: PatchVolume,
  centre: Point,
  g: ModelGeometry,
  aug: Augmentation | null,
  opts: { centrelines?: CentrelineWeights } = {},
): Promise<Example> {
  const c = snapCentre(centre, g);
  const tf = (a: Float32Array, n: number): Float32Array => (aug ? transformCube(a, n, aug) : a);
  const high = tf(await vol.readImage(1, c, g.highInput), g.highInput);
  const low = g.lowScale === 1 ? null : tf(await vol.readImage(g.lowScale, c, g.lowInput), g.lowInput);
  if (aug) {
    jitterIntensity(high, aug);
    if (low) jitterIntensity(low, aug);
  }
  const lowN = g.lowTarget / g.lowTargetScale;
  if (vol.readAnnotated) {
    if (opts.centrelines) throw new RangeError(`${vol.name}: a centreline loss needs complete root labels, not annotation strokes`);
    const lo = await vol.readAnnotated(g.lowTargetScale, c, lowN);
    const hi = await vol.readAnnotated(1, c, g.highOutput);
    const fu = g.output === g.highOutput ? hi : await vol.readAnnotated(1, c, g.output);
    const tHigh = tf(hi.target, g.highOutput);
    const wHigh = tf(hi.weight, g.highOutput);
    return {
      high,
      low,
      tLow: tf(lo.target, lowN),
      tHigh,
      wSkeleton: null,
      tFused: fu === hi ? tHigh : tf(fu.target, g.output),
      mask: { low: tf(lo.weight, lowN), high: wHigh, fused: fu === hi ? wHigh : tf(fu.weight, g.output) },
    };
  }
  const tLow = tf(await vol.readLabel(g.lowTargetScale, c, lowN), lowN);
  const tHigh = tf(await vol.readLabel(1, c, g.highOutput), g.highOutput);
  const tFused = g.output === g.highOutput ? tHigh : tf(await vol.readLabel(1, c, g.output), g.output);
  const wSkeleton = opts.centrelines
    ? tf(opts.centrelines(await vol.readLabel(1, c, g.output + 2 * SKELETON_CONTEXT), g.output, SKELETON_CONTEXT), g.output)
    : null;
  return { high, low, tLow, tHigh, tFused, wSkeleton };
}

/** Concatenates equal-length arrays (a batch along N). */
export function stack(parts: Float32Array[]): Float32Array {
  const n = parts[0]!.length;
  const out = new Float32Array(n * parts.length);
  parts.forEach((p, i) => out.set(p, i * n));
  return out;
}
