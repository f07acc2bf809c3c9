import { AXIS_ORDERS, IDENTITY as NO_TRANSFORM, type CubeTransform } from '../../volume/cube-transform.js';

export { transformCube } from '../../volume/cube-transform.js';

/**
 * Cube-preserving augmentations applied identically to a patch and its targets: the geometric
 * part (volume/cube-transform, shared with segmentation's test-time flips) and an intensity jitter.
 */
export interface Augmentation extends CubeTransform {
  /** Intensity change on the normalised image: (v > 0 ? v^gamma : v)·gain + bias. */
  gain: number;
  bias: number;
  gamma: number;
}

/**
 * How far intensity augmentation reaches: gain log-uniform in [1/gain, gain], bias uniform in
 * ±bias, gamma log-uniform in [1/gamma, gamma]. Real scans' percentile mappings differ from a
 * synthetic scan's by gains of 0.6–1.7 and offsets up to 0.25 (bench/RESULTS.md, sessions 23–24).
 */
export interface IntensityRange {
  gain: number;
  bias: number;
  gamma: number;
}

export const IDENTITY: Augmentation = { ...NO_TRANSFORM, gain: 1, bias: 0, gamma: 1 };

/**
 * A number is the narrow jitter `rhizoct train` has always drawn (gain 1 ± j, bias ± j, no gamma);
 * an IntensityRange draws the wide augmentation from the same distributions as the reference
 * trainer's `--intensity` (bench/reference/train_budget.py). With `permuteAxes` the order of the
 * axes is drawn too (the reference trainer's `--permute-axes`), after everything else, so the
 * draws without it are those of earlier versions.
 */
export function randomAugmentation(rand: () => number, intensity: number | IntensityRange = 0.1, permuteAxes = false): Augmentation {
  const flip: [boolean, boolean, boolean] = [rand() < 0.5, rand() < 0.5, rand() < 0.5];
  const turns = Math.floor(rand() * 4);
  let looks: { gain: number; bias: number; gamma: number };
  if (typeof intensity === 'number') looks = { gain: 1 + (rand() * 2 - 1) * intensity, bias: (rand() * 2 - 1) * intensity, gamma: 1 };
  else {
    const gain = Math.exp((rand() * 2 - 1) * Math.log(intensity.gain));
    const bias = (rand() * 2 - 1) * intensity.bias;
    const gamma = Math.exp((rand() * 2 - 1) * Math.log(intensity.gamma));
    looks = { gain, bias, gamma };
  }
  const axes = permuteAxes ? AXIS_ORDERS[Math.floor(rand() * AXIS_ORDERS.length)]! : NO_TRANSFORM.axes;
  return { flip, turns, axes, ...looks };
}

export function jitterIntensity(a: Float32Array, aug: Augmentation): Float32Array {
  if (aug.gain === 1 && aug.bias === 0 && aug.gamma === 1) return a;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    a[i] = (aug.gamma !== 1 && v > 0 ? v ** aug.gamma : v) * aug.gain + aug.bias;
  }
  return a;
}
