import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/gpu.js';
import { writeScanZarr } from '../helpers/scan-zarr.js';
import { train } from '../../src/pipeline/train.js';
import { loadModel } from '../../src/nn/models/registry.js';
import { SilentProgress } from '../../src/pipeline/progress.js';
import { testGpu } from '../helpers/gpu.js';
import { expectIntensityReachesAugmentation, expectOptionReachesAugmentation } from '../helpers/augmentation-reach.js';
import { freshSeed, rng } from '../helpers/random.js';

let gpu: Gpu;
const seed = freshSeed();
const dir = mkdtempSync(join(tmpdir(), 'train-'));
const n = 32;

async function tubeScan(path: string, r: () => number): Promise<void> {
  const image = new Uint16Array(n ** 3);
  const mask = new Uint8Array(n ** 3);
  const tubes = Array.from({ length: 3 }, () => ({
    y: 6 + r() * (n - 12),
    x: 6 + r() * (n - 12),
    dy: (r() - 0.5) * 0.5,
    dx: (r() - 0.5) * 0.5,
    rad: 2 + r(),
  }));
  for (let z = 0; z < n; z++)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const i = (z * n + y) * n + x;
        const inside = tubes.some((t) => (y - (t.y + t.dy * z)) ** 2 + (x - (t.x + t.dx * z)) ** 2 <= t.rad ** 2);
        mask[i] = inside ? 1 : 0;
        image[i] = Math.round((inside ? 30000 : 12000) + (r() - 0.5) * 8000);
      }
  await writeScanZarr(path, [n, n, n], image, mask);
}

const tiny = { patch: 16, widths: [4, 8], lowScale: 2, lowPatch: 16, lowWidths: [4, 8] };
const common = {
  arch: 'dual',
  config: tiny,
  optimizer: 'adam' as const,
  lr: 0.01,
  batch: 2,
  stepsPerEpoch: 4,
  valPatches: 4,
  diceWeight: 0.5,
  calibrationBatches: 2,
  augment: true,
  seed,
  progress: new SilentProgress(),
};

beforeAll(async () => {
  gpu = await testGpu();
  const r = rng(seed);
  await tubeScan(join(dir, 'a.zarr'), r);
  await tubeScan(join(dir, 'v.zarr'), r);
});

describe(`rhizoct train (seed ${seed})`, () => {
  it('trains, mines hard regions between rounds, checkpoints, and resumes where it stopped', async () => {
    const out = join(dir, 'm1');
    const first = await train(
      {
        ...common,
        data: [join(dir, 'a.zarr')],
        val: [join(dir, 'v.zarr')],
        out,
        epochs: 1,
        rounds: 1,
        resume: false,
        log: join(dir, 'log.json'),
      },
      gpu,
    );
    expect(first.history).toHaveLength(1);
    expect(existsSync(join(out, 'model.checkpoint.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'log.json'))).toBe(true);
    const second = await train(
      { ...common, data: [join(dir, 'a.zarr')], val: [join(dir, 'v.zarr')], out, epochs: 1, rounds: 3, resume: true },
      gpu,
    );
    expect(second.history.map((h) => h.round)).toEqual([0, 1, 2]);
    expect(second.history[2]!.hardRegions, 'hard regions mined after round 2 feed round 3').toBeGreaterThan(0);
    expect((second.card.training as { steps: number }).steps).toBe(12);
    expect(second.card.validation).toHaveProperty('dice');
    const { card } = await loadModel(gpu, out);
    expect(card.normalisation).toEqual({ method: 'percentile', low: 0.5, high: 99.5 });
    expect((card.training as { command?: string; seed: number }).seed).toBe(seed);
  });

  it('fine-tunes from a model with a frozen encoder: encoder weights stay, the rest moves', async () => {
    const base = join(dir, 'm1');
    const out = join(dir, 'm2');
    await train(
      {
        ...common,
        data: [join(dir, 'v.zarr')],
        val: [],
        out,
        from: base,
        freezeEncoder: true,
        intensity: { gain: 1.7, bias: 0.25, gamma: 1.5 },
        lr: 0.001,
        epochs: 1,
        rounds: 1,
        resume: false,
      },
      gpu,
    );
    const a = await loadModel(gpu, base);
    const b = await loadModel(gpu, out);
    expect((b.card.training as { intensity: unknown }).intensity, 'the card records the wide intensity augmentation').toEqual({
      gain: 1.7,
      bias: 0.25,
      gamma: 1.5,
    });
    expect((a.card.training as { intensity: unknown }).intensity).toBe('gain and bias ±0.1');
    const get = async (m: typeof a, name: string): Promise<Float32Array> =>
      m.model
        .parameters()
        .find((p) => p.name === name)!
        .item.value.toArray();
    expect([...(await get(a, 'high.enc0.0.weight'))]).toEqual([...(await get(b, 'high.enc0.0.weight'))]);
    const d1 = await get(a, 'high.dec0.0.weight');
    const d2 = await get(b, 'high.dec0.0.weight');
    expect(d1.some((v, i) => v !== d2[i])).toBe(true);
    // The low-resolution branch too: its encoder stays, its decoder moves.
    expect([...(await get(a, 'low.enc0.0.weight'))]).toEqual([...(await get(b, 'low.enc0.0.weight'))]);
    const l1 = await get(a, 'low.dec0.0.weight');
    const l2 = await get(b, 'low.dec0.0.weight');
    expect(
      l1.some((v, i) => v !== l2[i]),
      'the low-resolution decoder is trained',
    ).toBe(true);
    expect(b.card.normalisation).toEqual(a.card.normalisation);
  });

  it('hands --intensity to the augmentation: the same seed with another reach trains other weights', async () => {
    await expectIntensityReachesAugmentation(
      gpu,
      async (name, intensity) => {
        const out = join(dir, name);
        await train({ ...common, data: [join(dir, 'a.zarr')], val: [], out, intensity, epochs: 1, rounds: 1, resume: false }, gpu);
        return out;
      },
      'rhizoct train',
    );
  });

  it('hands --permute-axes to the augmentation, and the card says so', async () => {
    const cards: Record<string, unknown>[] = [];
    await expectOptionReachesAugmentation(
      gpu,
      async (name, permuteAxes) => {
        const out = join(dir, `axes-${name}`);
        const r = await train(
          { ...common, data: [join(dir, 'a.zarr')], val: [], out, permuteAxes, epochs: 1, rounds: 1, resume: false },
          gpu,
        );
        cards.push(r.card.training as Record<string, unknown>);
        return out;
      },
      false,
      true,
      'rhizoct train --permute-axes',
    );
    expect(cards.map((c) => c.permuteAxes)).toEqual([false, false, true]);
  });
});
