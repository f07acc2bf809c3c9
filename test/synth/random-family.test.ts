import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { resolveParams } from '../../src/pipeline/synth.js';
import { buildScene } from '../../src/synth/generate.js';
import { applyOverrides, presetParams, type SynthParams } from '../../src/synth/params.js';
import { randomParams } from '../../src/synth/random-family.js';
import { SlabRenderer, type SlabResult } from '../../src/synth/tiles.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

async function render(seed: number, params: SynthParams, shape: Vec3, vs: number): Promise<SlabResult> {
  const scene = buildScene(seed, shape, [vs, vs, vs], params);
  const s = new SlabRenderer(gpu, scene, shape);
  try {
    return await s.render(makeBox([0, 0, 0], shape));
  } finally {
    s.dispose();
  }
}

const SEEDS = Array.from({ length: 80 }, (_, i) => i + 1);

describe('the random synth family', () => {
  it('draws the same parameters for a seed and others for another seed', () => {
    expect(randomParams(17, 0.05)).toEqual(randomParams(17, 0.05));
    expect(randomParams(17, 0.05).params).not.toEqual(randomParams(18, 0.05).params);
    expect(resolveParams('random', [], 17, [0.05, 0.05, 0.05])).toEqual(randomParams(17, 0.05).params);
    // Overrides still win over the draw.
    expect(resolveParams('random', ['scan.noise=0.5'], 17, [0.05, 0.05, 0.05]).scan.noise).toBe(0.5);
  });

  it('covers every soil kind, both root systems, 8- to 16-bit output and root radii from under 2 to over 12 voxels', () => {
    const draws = SEEDS.map((s) => randomParams(s, 0.05).draw);
    expect(new Set(draws.map((d) => d.soil))).toEqual(new Set(['dry-sand', 'wet-loam', 'aggregates', 'peat', 'air']));
    expect(new Set(draws.map((d) => d.system))).toEqual(new Set(['tap', 'fibrous']));
    expect(new Set(draws.map((d) => d.bits))).toEqual(new Set([8, 12, 16]));
    const radii = draws.map((d) => d.primaryRadiusVoxels);
    expect(Math.min(...radii)).toBeLessThan(2);
    expect(Math.max(...radii)).toBeGreaterThan(12);
  });

  it('scales the scene so the primary radius in voxels does not depend on the voxel size asked for', () => {
    for (const s of [3, 11]) {
      const a = randomParams(s, 0.05);
      const b = randomParams(s, 0.02);
      expect(a.draw).toEqual(b.draw);
      expect(a.params.architecture.primaryRadius[0] / 0.05).toBeCloseTo(b.params.architecture.primaryRadius[0] / 0.02, 9);
      expect(a.params.soil.grainSize / 0.05).toBeCloseTo(b.params.soil.grainSize / 0.02, 9);
      expect(a.params.objects.stonesPerCm3 * 0.05 ** 3).toBeCloseTo(b.params.objects.stonesPerCm3 * 0.02 ** 3, 9);
      const primary = a.params.architecture.primaryRadius;
      expect((primary[0] + primary[1]) / 2 / 0.05).toBeCloseTo(a.draw.primaryRadiusVoxels, 6);
    }
  });

  it('renders roots that stand out from what surrounds them in every drawn world', async () => {
    const shape: Vec3 = [40, 40, 40];
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { params, draw } = randomParams(seed, 0.05);
      // Noise-free, unblurred and linear, so the contrast measured is the drawn one.
      const clean = applyOverrides(params, [
        'scan.noise=0',
        'scan.correlatedNoise=0',
        'scan.psfSigma=0',
        'scan.rings=0',
        'scan.cupping=0',
        'scan.bias=0',
        'scan.gamma=1',
        'scan.maxValue=65535',
        'scan.gain=10000',
        'scan.offset=10000',
      ]);
      const r = await render(seed, clean, shape, 0.05);
      const rootVals: number[] = [];
      for (let i = 0; i < r.mask.length; i++) if (r.mask[i]) rootVals.push(r.image[i]!);
      if (rootVals.length < 20) continue; // the roots missed this small box
      const median = rootVals.sort((x, y) => x - y)[rootVals.length >> 1]!;
      const around = clean.soil.finesFraction >= 0.4 ? clean.soil.finesValue : clean.soil.airValue;
      expect(Math.abs((median - 10000) / 10000 - around), `seed ${seed} (${draw.soil})`).toBeGreaterThan(0.04);
    }
  });
});

describe('scanner parameters reach the renderer', () => {
  const shape: Vec3 = [24, 32, 32];
  const medium = (o: string[]): SynthParams => applyOverrides(presetParams('medium'), o);

  it('clips at maxValue, bends grey values by gamma and fills outside the container with outsideValue', async () => {
    const base = await render(8, medium([]), shape, 0.05);
    const clipped = await render(8, medium(['scan.maxValue=255', 'scan.gain=600', 'scan.offset=0']), shape, 0.05);
    expect(Math.max(...clipped.image)).toBe(255);
    expect(Math.max(...base.image)).toBeGreaterThan(255);
    const gamma = await render(8, medium(['scan.gamma=2']), shape, 0.05);
    let changed = 0;
    for (let i = 0; i < base.image.length; i++) if (Math.abs(gamma.image[i]! - base.image[i]!) > 500) changed++;
    expect(changed / base.image.length).toBeGreaterThan(0.9);
    // Corner voxels lie outside the auto container (94% of the lateral extent).
    const corner = (r: SlabResult): number => r.image[0]!;
    const zeroOut = await render(8, medium(['container.outsideValue=0', 'scan.noise=0', 'scan.correlatedNoise=0']), shape, 0.05);
    const brightOut = await render(8, medium(['container.outsideValue=0.8', 'scan.noise=0', 'scan.correlatedNoise=0']), shape, 0.05);
    expect(corner(zeroOut)).toBeLessThan(2000 + 0.05 * 40000);
    expect(corner(brightOut)).toBeGreaterThan(2000 + 0.6 * 40000);
  });

  it('adds a smooth bias field that varies across the scan, not from voxel to voxel', async () => {
    const flat = medium(['scan.noise=0', 'scan.correlatedNoise=0', 'container.diameter=-1']);
    const a = await render(8, flat, shape, 0.05);
    const b = await render(8, applyOverrides(flat, ['scan.bias=0.2', 'scan.biasScale=2']), shape, 0.05);
    const ratio: number[] = [];
    for (let i = 0; i < a.image.length; i++) ratio.push((b.image[i]! - 2000) / Math.max(1, a.image[i]! - 2000));
    const spread = Math.max(...ratio.filter(Number.isFinite)) - Math.min(...ratio.filter(Number.isFinite));
    expect(spread).toBeGreaterThan(0.05);
    // Neighbouring voxels along x see nearly the same gain: at most bias·2π·voxel/scale = 0.031 apart, plus rounding.
    let jump = 0;
    for (let i = 1; i < ratio.length; i++)
      if (i % shape[2] !== 0 && a.image[i]! > 6000 && a.image[i - 1]! > 6000) jump = Math.max(jump, Math.abs(ratio[i]! - ratio[i - 1]!));
    expect(jump).toBeLessThan(0.04);
  });
});
