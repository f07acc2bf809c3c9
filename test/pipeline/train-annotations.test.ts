import { describe, it, expect, beforeAll } from 'vitest';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/gpu.js';
import { writeScanZarr } from '../helpers/scan-zarr.js';
import { train, type EpochRecord, type TrainOptions } from '../../src/pipeline/train.js';
import { writeStrokeLabels, readStrokeLabels } from '../../src/pipeline/stroke-labels.js';
import { CELL, NOT_ROOT, ROOT } from '../../src/nn/train/annotations.js';
import { loadModel, saveModel, type ModelCard } from '../../src/nn/models/registry.js';
import { SilentProgress } from '../../src/pipeline/progress.js';
import { testGpu } from '../helpers/gpu.js';
import { expectIntensityReachesAugmentation, expectOptionReachesAugmentation } from '../helpers/augmentation-reach.js';
import { freshSeed, rng } from '../helpers/random.js';

let gpu: Gpu;
const seed = freshSeed();
const dir = mkdtempSync(join(tmpdir(), 'train-ann-'));
const n = 48;
let truth: Uint8Array;

async function tubeScan(path: string, r: () => number, shape = n): Promise<Uint8Array> {
  const image = new Uint16Array(shape ** 3);
  const mask = new Uint8Array(shape ** 3);
  const tubes = Array.from({ length: 4 }, () => ({
    y: 6 + r() * (shape - 12),
    x: 6 + r() * (shape - 12),
    dy: (r() - 0.5) * 0.5,
    dx: (r() - 0.5) * 0.5,
    rad: 2 + r(),
  }));
  for (let z = 0; z < shape; z++)
    for (let y = 0; y < shape; y++)
      for (let x = 0; x < shape; x++) {
        const i = (z * shape + y) * shape + x;
        const inside = tubes.some((t) => (y - (t.y + t.dy * z)) ** 2 + (x - (t.x + t.dx * z)) ** 2 <= t.rad ** 2);
        mask[i] = inside ? 1 : 0;
        image[i] = Math.round((inside ? 30000 : 12000) + (r() - 0.5) * 8000);
      }
  await writeScanZarr(path, [shape, shape, shape], image, mask);
  return mask;
}

/** Strokes from the truth in every `every`-th z slice within [z0, z1): root on root voxels, not root on a sparse grid of background. */
function strokes(mask: Uint8Array, z0: number, z1: number, every = 4, into = new Uint8Array(mask.length)): Uint8Array {
  for (let z = z0; z < z1; z += every)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const i = (z * n + y) * n + x;
        if (mask[i]) into[i] = ROOT;
        else if (y % 6 === 0 && x % 2 === 0) into[i] = NOT_ROOT;
      }
  return into;
}

const tiny = { patch: 16, widths: [4, 8], lowScale: 2, lowPatch: 16, lowWidths: [4, 8] };
const common: Omit<TrainOptions, 'data' | 'out'> = {
  val: [],
  arch: 'dual',
  config: tiny,
  optimizer: 'adam',
  lr: 0.01,
  batch: 2,
  stepsPerEpoch: 3,
  epochs: 2,
  rounds: 1,
  valPatches: 32,
  diceWeight: 0,
  calibrationBatches: 1,
  augment: true,
  seed,
  resume: false,
  progress: new SilentProgress(),
  annotations: true,
  holdout: 0.3,
};

beforeAll(async () => {
  gpu = await testGpu();
  truth = await tubeScan(join(dir, 'a.zarr'), rng(seed));
  await writeStrokeLabels(join(dir, 'a.zarr'), strokes(truth, 2, n));
  // A base model to fine-tune from, trained briefly on the full labels.
  await train(
    {
      ...common,
      annotations: false,
      holdout: undefined,
      data: [join(dir, 'a.zarr')],
      out: join(dir, 'base'),
      epochs: 1,
      stepsPerEpoch: 1,
      calibrationBatches: 0,
    },
    gpu,
  );
});

describe(`rhizoct train --annotations (seed ${seed})`, () => {
  it('fine-tunes from a model on strokes; the card records the base model and the strokes used', async () => {
    const out = join(dir, 'ft');
    const { card, history } = await train(
      { ...common, data: [join(dir, 'a.zarr')], out, from: join(dir, 'base'), patience: 0, log: join(dir, 'ft-log.json') },
      gpu,
    );
    expect(history).toHaveLength(2);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'ft-log.json'))).toBe(true);
    const t = card.training as {
      from: string;
      baseModel: unknown;
      annotations: {
        stores: { path: string; train: { root: number; notRoot: number }; heldOut: { root: number; notRoot: number } }[];
        holdout: number;
      };
    };
    expect(t.from).toBe(join(dir, 'base'));
    expect(t.baseModel, "the base model's own training record").toHaveProperty('seed', seed);
    const written = strokes(truth, 2, n);
    const root = written.filter((v) => v === ROOT).length;
    const notRoot = written.filter((v) => v === NOT_ROOT).length;
    const [s] = t.annotations.stores;
    expect(s!.path).toBe(join(dir, 'a.zarr'));
    expect(s!.train.root + s!.heldOut.root).toBe(root);
    expect(s!.train.notRoot + s!.heldOut.notRoot).toBe(notRoot);
    expect(s!.heldOut.root + s!.heldOut.notRoot, 'some strokes held out').toBeGreaterThan(0);
    expect(s!.train.root + s!.train.notRoot, 'most strokes trained on').toBeGreaterThan(s!.heldOut.root + s!.heldOut.notRoot);
    expect(t.annotations.holdout).toBe(0.3);
    expect(
      history.every((h) => (h.validationVoxels ?? 0) === s!.heldOut.root + s!.heldOut.notRoot),
      'validation covers every held-out voxel once',
    ).toBe(true);
    expect(Number.isFinite(history[0]!.val.dice)).toBe(true);
    const loaded = await loadModel(gpu, out);
    expect(loaded.card.validation).toHaveProperty('dice');
  });

  it('hands --intensity to the augmentation on strokes too: another reach, other weights', async () => {
    await expectIntensityReachesAugmentation(
      gpu,
      async (name, intensity) => {
        const out = join(dir, `s-${name}`);
        await train({ ...common, data: [join(dir, 'a.zarr')], out, from: join(dir, 'base'), intensity, epochs: 1, patience: 0 }, gpu);
        return out;
      },
      'rhizoct train --annotations',
    );
  });

  it('hands --permute-axes to the augmentation on strokes too', async () => {
    await expectOptionReachesAugmentation(
      gpu,
      async (name, permuteAxes) => {
        const out = join(dir, `sa-${name}`);
        await train({ ...common, data: [join(dir, 'a.zarr')], out, from: join(dir, 'base'), permuteAxes, epochs: 1, patience: 0 }, gpu);
        return out;
      },
      false,
      true,
      'rhizoct train --annotations --permute-axes',
    );
  });

  it('re-reads the strokes at the start of every epoch, so strokes painted meanwhile join the next epoch', async () => {
    const path = join(dir, 'b.zarr');
    cpSync(join(dir, 'a.zarr'), path, { recursive: true });
    await writeStrokeLabels(path, strokes(truth, 2, 20));
    const seen: EpochRecord[] = [];
    const { history } = await train(
      {
        ...common,
        data: [path],
        out: join(dir, 'grow'),
        from: join(dir, 'base'),
        epochs: 2,
        patience: 0,
        onEpoch: async (e) => {
          seen.push(e);
          if (e.epoch === 0) await writeStrokeLabels(path, strokes(truth, 2, n));
        },
      },
      gpu,
    );
    const total = (h: EpochRecord): number =>
      h.annotations!.reduce((a, u) => a + u.train.root + u.train.notRoot + u.heldOut.root + u.heldOut.notRoot, 0);
    expect(seen).toHaveLength(2);
    expect(total(history[1]!)).toBe(strokes(truth, 2, n).filter((v) => v > 0).length);
    expect(total(history[1]!)).toBeGreaterThan(total(history[0]!));
  });

  it('stops when aborted, after the step under way, with the model saved', async () => {
    const ctl = new AbortController();
    const steps: number[] = [];
    const out = join(dir, 'stopped');
    const { history } = await train(
      {
        ...common,
        data: [join(dir, 'a.zarr')],
        out,
        from: join(dir, 'base'),
        epochs: 5,
        stepsPerEpoch: 4,
        patience: 0,
        signal: ctl.signal,
        onStep: (s) => {
          steps.push(s.step);
          if (steps.length === 2) ctl.abort();
        },
      },
      gpu,
    );
    expect(steps).toHaveLength(2);
    expect(history).toHaveLength(1);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(true);
  });

  it("with --keep-base, the base model's confident answers join the loss from the first step, and the card says so", async () => {
    // A base sure of its answers: the shared base with every head's bias lowered, so it says "not root" with p < 0.1 nearly everywhere.
    const sure = join(dir, 'sure-base');
    const loaded = await loadModel(gpu, join(dir, 'base'));
    for (const { name, item } of loaded.model.parameters())
      if (['high_head.bias', 'low_head.bias', 'fuse.3.bias'].includes(name))
        gpu.upload(
          (await item.value.toArray()).map((b) => b - 9),
          item.value.buffer,
        );
    await saveModel(loaded.model, sure, { normalisation: loaded.card.normalisation, training: loaded.card.training });
    const firstLoss = async (keepBase: number): Promise<{ loss: number; card: ModelCard }> => {
      const losses: number[] = [];
      const { card } = await train(
        {
          ...common,
          data: [join(dir, 'a.zarr')],
          out: join(dir, `keep-${keepBase}`),
          from: sure,
          epochs: 1,
          stepsPerEpoch: 1,
          patience: 0,
          keepBase,
          onStep: (s) => losses.push(s.loss),
        },
        gpu,
      );
      return { loss: losses[0]!, card };
    };
    const without = await firstLoss(0);
    const kept = await firstLoss(1);
    // The same seed draws the same first batch; only the targets of unpainted voxels differ.
    expect(kept.loss).not.toBe(without.loss);
    expect((kept.card.training as { annotations: { keepBase: number } }).annotations.keepBase).toBe(1);
    await expect(train({ ...common, data: [join(dir, 'a.zarr')], out: join(dir, 'x'), keepBase: 1 }, gpu)).rejects.toThrow(
      /--keep-base .*needs --from/,
    );
  });

  it('refuses with a clear message: no labels/annotations, another shape, no annotated voxels, options that need full labels', async () => {
    const none = join(dir, 'none.zarr');
    await tubeScan(none, rng(seed + 1));
    const run = (data: string, extra: Partial<TrainOptions> = {}): Promise<unknown> =>
      train({ ...common, data: [data], out: join(dir, 'x'), ...extra }, gpu);
    await expect(run(none)).rejects.toThrow(`${none}: no labels/annotations`);
    await writeStrokeLabels(none, new Uint8Array(n ** 3));
    await expect(run(none)).rejects.toThrow(/holds no annotated voxels/);
    // An annotation image of another shape (copied in from a smaller scan).
    const small = join(dir, 'small.zarr');
    await tubeScan(small, rng(seed + 2), 32);
    await writeStrokeLabels(small, new Uint8Array(32 ** 3).fill(1));
    const odd = join(dir, 'odd.zarr');
    cpSync(none, odd, { recursive: true });
    cpSync(join(small, 'labels'), join(odd, 'labels'), { recursive: true });
    await expect(run(odd)).rejects.toThrow(`${odd}: labels/annotations has shape [32, 32, 32] but the image has [48, 48, 48]`);
    await expect(run(join(dir, 'a.zarr'), { diceWeight: 0.5 })).rejects.toThrow(/--dice 0/);
    await expect(run(join(dir, 'a.zarr'), { val: [join(dir, 'a.zarr')] })).rejects.toThrow(/--val/);
  });

  it('reads back exactly the strokes written, by cell', async () => {
    const labels = await readStrokeLabels(join(dir, 'a.zarr'), [n, n, n]);
    const written = strokes(truth, 2, n);
    let same = 0;
    for (let z = 0; z < n; z++)
      for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (labels.get([z, y, x]) === written[(z * n + y) * n + x]) same++;
    expect(same).toBe(n ** 3);
    expect(labels.annotatedCells().length).toBeLessThanOrEqual((n / CELL) ** 3);
  });
});
