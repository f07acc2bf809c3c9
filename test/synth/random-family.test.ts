import { createHash } from 'node:crypto';
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

  it('cracks about half the scans of soils that shrink, never dry sand or roots in air, 0.7-4 voxels wide', () => {
    const draws = Array.from({ length: 400 }, (_, i) => randomParams(i + 1, 0.05));
    const shrinking = draws.filter((d) => ['wet-loam', 'aggregates', 'peat'].includes(d.draw.soil));
    const cracked = shrinking.filter((d) => d.draw.cracks);
    expect(cracked.length / shrinking.length).toBeGreaterThan(0.35);
    expect(cracked.length / shrinking.length).toBeLessThan(0.65);
    for (const d of draws) {
      expect(d.params.soil.crackFraction > 0, `seed ${d.draw.soil}`).toBe(d.draw.cracks);
      if (!d.draw.cracks) continue;
      expect(shrinking).toContain(d);
      const width = d.params.soil.crackWidth / 0.05;
      expect(width).toBeGreaterThanOrEqual(0.7 - 1e-9);
      expect(width).toBeLessThanOrEqual(4 + 1e-9);
    }
  });

  it('draws where hollow roots begin to dim, from a thick bright cortex to a thin rim, leaving every other draw alone', () => {
    const draws = Array.from({ length: 300 }, (_, i) => randomParams(i + 1, 0.05));
    const hollow = draws.filter((d) => d.draw.hollow);
    expect(hollow.length).toBeGreaterThan(30);
    const starts = hollow.map((d) => d.params.root.steleDepth[0]);
    expect(Math.min(...starts)).toBeLessThan(0.15);
    expect(Math.max(...starts)).toBeGreaterThan(0.35);
    for (const d of draws) {
      const [a, b] = d.params.root.steleDepth;
      if (!d.draw.hollow) expect([a, b]).toEqual([0.45, 0.8]);
      else {
        expect(d.params.root.steleBoost).toBeLessThan(0);
        expect(a).toBeGreaterThanOrEqual(0.05);
        expect(a).toBeLessThanOrEqual(0.45);
        expect(b - a).toBeGreaterThanOrEqual(0.1 - 1e-12);
        expect(b).toBeLessThanOrEqual(1);
      }
    }
    // On a stream of its own: without it, seeds 1-40 draw what they drew before it was added.
    const h = createHash('sha256');
    for (const d of draws.slice(0, 40)) {
      const { steleDepth: _, ...root } = d.params.root;
      h.update(JSON.stringify({ ...d.params, root }));
    }
    expect(h.digest('hex')).toBe('c6d0f076b27f0417cab7a4eac12f1bca3d4ed2dbd3e07420ae8d11d08979c613');
  });

  it('scales the scene so the primary radius in voxels does not depend on the voxel size asked for', () => {
    for (const s of [3, 11]) {
      const a = randomParams(s, 0.05);
      const b = randomParams(s, 0.02);
      expect(a.draw).toEqual(b.draw);
      expect(a.params.architecture.primaryRadius[0] / 0.05).toBeCloseTo(b.params.architecture.primaryRadius[0] / 0.02, 9);
      expect(a.params.soil.grainSize / 0.05).toBeCloseTo(b.params.soil.grainSize / 0.02, 9);
      expect(a.params.objects.stonesPerCm3 * 0.05 ** 3).toBeCloseTo(b.params.objects.stonesPerCm3 * 0.02 ** 3, 9);
      expect(a.params.soil.crackWidth / 0.05).toBeCloseTo(b.params.soil.crackWidth / 0.02, 9);
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

/** One uniform soil, no noise, blur, objects or container: what differs from the soil is a root (or a crack). */
const PLAIN_SOIL = [
  'soil.finesFraction=1',
  'soil.grainValue=0.6',
  'soil.finesValue=0.6',
  'soil.grainValueSd=0',
  'soil.heavyFraction=0',
  'soil.darkFraction=0',
  'soil.grainTexture=0',
  'soil.finesTexture=0',
  'soil.macroporeFraction=0',
  'soil.waterFilm=0',
  'soil.saturation=0',
  'objects.stonesPerCm3=0',
  'objects.organicPerCm3=0',
  'objects.bioporesPerCm3=0',
  'root.gapFraction=0',
  'scan.noise=0',
  'scan.correlatedNoise=0',
  'scan.psfSigma=0',
  'scan.rings=0',
  'scan.cupping=0',
  'container.diameter=-1',
];

describe('shrinkage cracks', () => {
  const plain = applyOverrides(presetParams('medium'), PLAIN_SOIL);
  const shape: Vec3 = [48, 48, 48];
  const soilGrey = 2000 + 0.6 * 40000;
  const airGrey = 2000 + 0.1 * 40000;

  it('are thin sheets of air that leave the roots and their truth alone, and nothing at all when off', async () => {
    const cracked = await render(
      3,
      applyOverrides(plain, ['soil.crackFraction=0.8', 'soil.crackScale=1', 'soil.crackWidth=0.1']),
      shape,
      0.05,
    );
    const whole = await render(3, plain, shape, 0.05);
    // Off means off, whatever the other crack fields say: the presets render as they did.
    const off = await render(3, applyOverrides(plain, ['soil.crackScale=0.3', 'soil.crackWidth=0.5']), shape, 0.05);
    expect(Buffer.from(off.image.buffer).equals(Buffer.from(whole.image.buffer))).toBe(true);
    expect(Buffer.from(cracked.mask).equals(Buffer.from(whole.mask))).toBe(true);

    const [nz, ny, nx] = shape;
    const dark = new Uint8Array(cracked.image.length);
    let changed = 0;
    for (let i = 0; i < dark.length; i++) {
      if (cracked.image[i] === whole.image[i]) continue;
      changed++;
      // A crack only ever darkens the soil towards air.
      expect(cracked.image[i]!).toBeLessThan(whole.image[i]!);
      expect(cracked.image[i]!).toBeGreaterThanOrEqual(airGrey - 1);
      // A root voxel (at least half root) may be darkened only in its soil part.
      if (whole.mask[i]) expect(whole.image[i]! - cracked.image[i]!).toBeLessThanOrEqual((soilGrey - airGrey) / 2 + 1);
      if (whole.image[i]! > soilGrey - 1 && cracked.image[i]! < (soilGrey + airGrey) / 2) dark[i] = 1;
    }
    expect(changed / dark.length).toBeGreaterThan(0.02);
    expect(changed / dark.length).toBeLessThan(0.3);

    // Sheets: through a crack voxel, the dark run is short across the crack and long along it in
    // two directions (a root-like tube would be long in one, a grain-like blob in none).
    const run = (z: number, y: number, x: number, dz: number, dy: number, dx: number): number => {
      let n = 1;
      for (const s of [1, -1]) {
        for (let k = 1; k < 48; k++) {
          const [zz, yy, xx] = [z + s * k * dz, y + s * k * dy, x + s * k * dx];
          if (zz < 0 || yy < 0 || xx < 0 || zz >= nz || yy >= ny || xx >= nx || !dark[(zz * ny + yy) * nx + xx]) break;
          n++;
        }
      }
      return n;
    };
    const thin: number[] = [];
    const middle: number[] = [];
    for (let z = 0; z < nz; z++)
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++) {
          if (!dark[(z * ny + y) * nx + x]) continue;
          // Along the axes and the diagonals of each plane, so a sheet at any angle shows short across it.
          const dirs: [number, number, number][] = [
            [1, 0, 0],
            [0, 1, 0],
            [0, 0, 1],
            [1, 1, 0],
            [1, -1, 0],
            [1, 0, 1],
            [1, 0, -1],
            [0, 1, 1],
            [0, 1, -1],
          ];
          const runs = dirs.map(([a, b, c]) => run(z, y, x, a, b, c)).sort((a, b) => a - b);
          thin.push(runs[0]!);
          middle.push(runs[runs.length - 2]!);
        }
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    expect(thin.length).toBeGreaterThan(500);
    expect(median(thin)).toBeLessThanOrEqual(3); // 2 voxels wide, tapering at the ends
    expect(median(middle)).toBeGreaterThanOrEqual(4 * median(thin));
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

describe('hollow roots', () => {
  // One thick primary root of one grey value: what darkens is the root's centre.
  const plain = applyOverrides(presetParams('medium'), [
    ...PLAIN_SOIL,
    'root.valueSd=0',
    'root.alongSd=0',
    'architecture.primaries=1,1',
    'architecture.primaryRadius=0.4,0.4',
    'architecture.orders=1',
  ]);
  const shape: Vec3 = [40, 48, 48];

  it('dim from the drawn depth inward: a thin bright rim round a dim interior, or a thick cortex round a small core', async () => {
    const solid = await render(3, applyOverrides(plain, ['root.steleBoost=0']), shape, 0.05);
    const dimmed = async (depth: string): Promise<{ share: number; brighter: number }> => {
      const r = await render(3, applyOverrides(plain, ['root.steleBoost=-0.3', `root.steleDepth=${depth}`]), shape, 0.05);
      expect(Buffer.from(r.mask).equals(Buffer.from(solid.mask))).toBe(true);
      let roots = 0;
      let dim = 0;
      let brighter = 0;
      for (let i = 0; i < r.image.length; i++) {
        if (r.image[i]! > solid.image[i]! + 1) brighter++;
        if (!solid.mask[i]) continue;
        roots++;
        // Dimmed by more than half the boost (the gain maps 1 to 40000 grey levels).
        if (solid.image[i]! - r.image[i]! > 0.15 * 40000) dim++;
      }
      expect(roots).toBeGreaterThan(2000);
      return { share: dim / roots, brighter };
    };
    const cortex = await dimmed('0.45,0.8');
    const rim = await dimmed('0.1,0.3');
    // Past half the change: within ~0.38 r of the axis for the cortex (0.14 of a cross-section),
    // within ~0.8 r for the rim (0.64).
    expect(cortex.share).toBeGreaterThan(0.05);
    expect(cortex.share).toBeLessThan(0.25);
    expect(rim.share).toBeGreaterThan(0.5);
    expect(rim.share).toBeLessThan(0.8);
    expect(cortex.brighter + rim.brighter).toBe(0);
  });
});
