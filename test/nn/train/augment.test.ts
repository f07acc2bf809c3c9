import { describe, expect, it } from 'vitest';
import { IDENTITY, jitterIntensity, randomAugmentation } from '../../../src/nn/train/augment.js';
import { freshSeed, rng } from '../../helpers/random.js';

const seed = freshSeed();

describe(`intensity augmentation (seed ${seed})`, () => {
  it('the narrow jitter draws gain 1 ± j and bias ± j, no gamma, as it always has', () => {
    const r = rng(seed);
    for (let k = 0; k < 500; k++) {
      const a = randomAugmentation(r, 0.1);
      expect(Math.abs(a.gain - 1)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(a.bias)).toBeLessThanOrEqual(0.1);
      expect(a.gamma).toBe(1);
    }
  });

  it('the wide range draws gain, bias and gamma across their whole reach, log-uniform for gain and gamma', () => {
    const r = rng(seed);
    const range = { gain: 1.7, bias: 0.25, gamma: 1.5 };
    const draws = Array.from({ length: 4000 }, () => randomAugmentation(r, range));
    const logGain = draws.map((a) => Math.log(a.gain) / Math.log(range.gain));
    const logGamma = draws.map((a) => Math.log(a.gamma) / Math.log(range.gamma));
    const bias = draws.map((a) => a.bias / range.bias);
    for (const u of [logGain, logGamma, bias]) {
      expect(Math.min(...u)).toBeGreaterThanOrEqual(-1);
      expect(Math.max(...u)).toBeLessThanOrEqual(1);
      expect(Math.min(...u)).toBeLessThan(-0.98);
      expect(Math.max(...u)).toBeGreaterThan(0.98);
      // Uniform on [-1, 1]: a quarter of the draws below -0.5 (log-uniform: gain below 1/√1.7).
      expect(u.filter((v) => v < -0.5).length / u.length).toBeGreaterThan(0.22);
      expect(u.filter((v) => v < -0.5).length / u.length).toBeLessThan(0.28);
    }
  });

  it('applies gamma to positive values only, then gain and bias, against a float64 reference', () => {
    const r = rng(seed + 1);
    const src = Float64Array.from({ length: 1000 }, () => r() * 1.6 - 0.3);
    const aug = { ...IDENTITY, gain: 1.4, bias: -0.2, gamma: 0.7 };
    const out = jitterIntensity(Float32Array.from(src), aug);
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      const want = (v > 0 ? v ** 0.7 : v) * 1.4 - 0.2;
      expect(Math.abs(out[i]! - want)).toBeLessThan(1e-5);
    }
    const same = Float32Array.from(src);
    expect(jitterIntensity(same, IDENTITY)).toEqual(Float32Array.from(src));
  });
});
