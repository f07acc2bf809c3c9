import { IDENTITY as NO_TRANSFORM, type CubeTransform } from '../../volume/cube-transform.js';

export { transformCube } from '../../volume/cube-transform.js';

/**
 * Cube-preserving augmentations applied identically to a patch and its targets: the geometric
 * part (volume/cube-transform, shared with segmentation's test-time flips) and an intensity jitter.
 */
export interface Augmentation extends CubeTransform {
  /** Intensity jitter on the normalised image: v·gain + bias. */
  gain: number;
  bias: number;
}

export const IDENTITY: Augmentation = { ...NO_TRANSFORM, gain: 1, bias: 0 };

export function randomAugmentation(rand: () => number, intensityJitter = 0.1): Augmentation {
  return {
    flip: [rand() < 0.5, rand() < 0.5, rand() < 0.5],
    turns: Math.floor(rand() * 4),
    gain: 1 + (rand() * 2 - 1) * intensityJitter,
    bias: (rand() * 2 - 1) * intensityJitter,
  };
}

export function jitterIntensity(a: Float32Array, aug: Augmentation): Float32Array {
  if (aug.gain === 1 && aug.bias === 0) return a;
  for (let i = 0; i < a.length; i++) a[i] = a[i]! * aug.gain + aug.bias;
  return a;
}
