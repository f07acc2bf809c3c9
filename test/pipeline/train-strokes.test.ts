import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/gpu.js';
import { buildModel, DEFAULT_NORMALISATION, loadModel } from '../../src/nn/models/registry.js';
import type { Optimizer } from '../../src/nn/train/optimizer.js';
import type { Trainer } from '../../src/nn/train/trainer.js';
import { VolumePatches } from '../../src/pipeline/patch-source.js';
import { SilentProgress } from '../../src/pipeline/progress.js';
import { writeStrokeLabels } from '../../src/pipeline/stroke-labels.js';
import { trainOnStrokes } from '../../src/pipeline/train-strokes.js';
import type { TrainOptions } from '../../src/pipeline/train.js';
import { writeScanZarr } from '../helpers/scan-zarr.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu;
const dir = mkdtempSync(join(tmpdir(), 'train-strokes-'));
const n = 32;

beforeAll(async () => {
  gpu = await testGpu();
  const image = Uint16Array.from({ length: n ** 3 }, (_, i) => (i * 7919) % 65535);
  await writeScanZarr(join(dir, 's.zarr'), [n, n, n], image, null);
  const ann = new Uint8Array(n ** 3);
  for (let i = 0; i < ann.length; i += 37) ann[i] = (i / 37) % 2 === 0 ? 1 : 2;
  await writeStrokeLabels(join(dir, 's.zarr'), ann);
});

/**
 * A trainer whose steps write the step count into the first weight and whose validation Dice
 * follows a script: the saved model's weight then says which epoch's model was kept.
 */
function scripted(dice: number[], model: ReturnType<typeof buildModel>, loss: number[] = []): { trainer: Trainer; optimizer: Optimizer } {
  const optimizer = { step: 0, config: { lr: 0 } } as unknown as Optimizer;
  let epoch = 0;
  const first = model.parameters()[0]!.item.value;
  const trainer = {
    step: async () => {
      optimizer.step++;
      gpu.upload(new Float32Array(first.size).fill(optimizer.step), first.buffer);
      return { loss: 1, parts: {} };
    },
    validateAnnotated: async () => {
      const l = loss[epoch] ?? 1;
      const d = dice[epoch++]!;
      return { tp: 1, fp: 0, fn: 0, dice: d, precision: d, recall: d, loss: l, voxels: 10 };
    },
  } as unknown as Trainer;
  return { trainer, optimizer };
}

async function run(name: string, dice: number[], loss: number[] = []) {
  const model = buildModel(gpu, { arch: 'dual', patch: 16, widths: [4, 6], lowScale: 2, lowPatch: 8, lowWidths: [3, 5] }, 1);
  const { trainer, optimizer } = scripted(dice, model, loss);
  const out = join(dir, name);
  const opts = {
    data: [join(dir, 's.zarr')],
    val: [],
    out,
    optimizer: 'adam',
    lr: 0.001,
    batch: 2,
    stepsPerEpoch: 2,
    epochs: dice.length,
    rounds: 1,
    valPatches: 8,
    diceWeight: 0,
    calibrationBatches: 0,
    augment: false,
    seed: 3,
    resume: false,
    progress: new SilentProgress(),
    annotations: true,
    patience: 2,
  } satisfies TrainOptions;
  const images = [await VolumePatches.open(join(dir, 's.zarr'), DEFAULT_NORMALISATION, null)];
  const { card, history } = await trainOnStrokes({
    opts,
    gpu,
    model,
    optimizer,
    trainer,
    images,
    norm: DEFAULT_NORMALISATION,
    lrAt: () => 0,
    trainingCard: (h, extra) => ({ epochs: h.length, ...extra }),
    writeLog: async () => {},
  });
  await images[0]!.close();
  const saved = await loadModel(gpu, out);
  const w = await saved.model.parameters()[0]!.item.value.toArray();
  return { card, history, savedStep: w[0], savedEpoch: (saved.card.training as { annotations: { epoch: number } }).annotations.epoch };
}

describe('fine-tuning on strokes: best model and early stop', () => {
  it('keeps the model of the best validation epoch and stops after `patience` epochs without improvement', async () => {
    const { card, history, savedStep, savedEpoch } = await run('best', [0.5, 0.7, 0.6, 0.65, 0.9, 0.95]);
    expect(history.map((h) => h.best)).toEqual([true, true, false, false]);
    expect(history.map((h) => h.step)).toEqual([2, 4, 6, 8]);
    expect(card.validation).toMatchObject({ dice: 0.7 });
    expect(savedStep, 'the saved weights are those after epoch 2 (step 4), not the last').toBe(4);
    expect(savedEpoch).toBe(1);
  });

  it('once held-out Dice is 1, a lower held-out loss still counts as better (training does not stop at the first perfect epoch)', async () => {
    const { history, savedStep } = await run('tie', [1, 1, 1, 1, 1, 1], [0.5, 0.3, 0.35, 0.2, 0.25, 0.22]);
    expect(history.map((h) => h.best)).toEqual([true, true, false, true, false, false]);
    expect(history.map((h) => h.val.loss)).toEqual([0.5, 0.3, 0.35, 0.2, 0.25, 0.22]);
    expect(savedStep, 'the epoch with the lowest loss at Dice 1 (step 8)').toBe(8);
  });

  it('a higher Dice wins over a lower loss', async () => {
    const { history, savedStep } = await run('dice-first', [0.8, 0.9, 0.85], [0.2, 0.4, 0.1]);
    expect(history.map((h) => h.best)).toEqual([true, true, false]);
    expect(savedStep).toBe(4);
  });
});
