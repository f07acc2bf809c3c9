import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { buildScene } from '../../src/synth/generate.js';
import { IntensityHistograms } from '../../src/synth/metrics.js';
import { DIFFICULTIES, type Difficulty, presetParams } from '../../src/synth/params.js';
import { SlabRenderer } from '../../src/synth/tiles.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const N = 72;
const VS = 0.1;

/** Best global-threshold Dice of a preset inside the container (the soil column), over two seeds. */
async function thresholdDice(d: Difficulty): Promise<{ dice: number; band: number; rootFraction: number }> {
  const hist = new IntensityHistograms();
  let roots = 0;
  let voxels = 0;
  for (const seed of [1, 2]) {
    const shape: Vec3 = [N, N, N];
    const scene = buildScene(seed, shape, [VS, VS, VS], presetParams(d));
    const s = new SlabRenderer(gpu, scene, shape);
    const r = await s.render(makeBox([0, 0, 0], shape));
    s.dispose();
    const f = scene.frame;
    const region = new Uint8Array(N ** 3);
    for (let z = 0; z < N; z++)
      for (let y = 0; y < N; y++)
        for (let x = 0; x < N; x++) region[(z * N + y) * N + x] = Math.hypot(x * VS - f.axis[0], y * VS - f.axis[1]) < f.rin ? 1 : 0;
    hist.add(r.image, r.mask, region);
    roots += r.maskVoxels;
    voxels += region.reduce((a, v) => a + v, 0);
  }
  const b = hist.bestThreshold();
  return { dice: b.dice, band: b.bandDice, rootFraction: roots / voxels };
}

describe('grey-value overlap of roots and soil', () => {
  it('lets a global threshold segment only the easy preset, and the hard preset well under Dice 0.8', async () => {
    const res = {} as Record<Difficulty, { dice: number; band: number; rootFraction: number }>;
    for (const d of DIFFICULTIES) {
      res[d] = await thresholdDice(d);
      console.log(
        `${d.padEnd(6)} best global threshold Dice ${res[d].dice.toFixed(3)}, best band ${res[d].band.toFixed(3)} (roots ${(100 * res[d].rootFraction).toFixed(1)}% of the column)`,
      );
    }
    expect(res.hard.dice).toBeLessThan(0.5);
    expect(res.hard.band).toBeLessThan(0.5);
    expect(res.medium.dice).toBeLessThan(0.5);
    expect(res.easy.dice).toBeGreaterThan(res.medium.dice + 0.2);
    expect(res.easy.dice).toBeGreaterThan(res.hard.dice + 0.2);
  });
});

describe('best-threshold Dice', () => {
  it('matches a brute-force search over thresholds (seeded)', async () => {
    const { freshSeed, rng } = await import('../helpers/random.js');
    const seed = freshSeed();
    const r = rng(seed);
    for (let trial = 0; trial < 20; trial++) {
      const n = 200 + Math.floor(r() * 300);
      const img = new Uint16Array(n);
      const mask = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        mask[i] = r() < 0.3 ? 1 : 0;
        img[i] = Math.floor((mask[i] ? 20 + r() * 30 : r() * 64) * 1024);
      }
      const h = new IntensityHistograms(64, 65536);
      h.add(img, mask);
      const got = h.bestThreshold();
      let best = 0;
      let bestBand = 0;
      const R = mask.reduce((a, v) => a + v, 0);
      const dice = (sel: (v: number) => boolean): number => {
        let tp = 0;
        let fp = 0;
        for (let i = 0; i < n; i++) {
          if (!sel(img[i]!)) continue;
          if (mask[i]) tp++;
          else fp++;
        }
        return (2 * tp) / (R + tp + fp);
      };
      for (let k = 0; k <= 64; k++) {
        const t = k * 1024;
        best = Math.max(
          best,
          dice((v) => v >= t),
          dice((v) => v < t),
        );
        for (let k2 = k + 1; k2 <= 64; k2++)
          bestBand = Math.max(
            bestBand,
            dice((v) => v >= t && v < k2 * 1024),
          );
      }
      const label = JSON.stringify({ seed, trial });
      expect(got.dice, label).toBeCloseTo(best, 12);
      expect(got.bandDice, label).toBeCloseTo(bestBand, 12);
    }
  });
});
