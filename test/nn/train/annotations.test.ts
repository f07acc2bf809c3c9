import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../../src/nn/tensor.js';
import { buildModel } from '../../../src/nn/models/registry.js';
import { headLosses, PAPER_LOSS } from '../../../src/nn/train/losses.js';
import { ArrayPatchVolume } from '../../../src/nn/train/array-volume.js';
import { AnnotatedVolume, CELL, heldOutCells, NOT_ROOT, ROOT, StrokeLabels } from '../../../src/nn/train/annotations.js';
import { readExample, stack, type Example } from '../../../src/nn/train/examples.js';
import { StrokeSampler, STROKE_SAMPLING } from '../../../src/nn/train/stroke-sampler.js';
import type { Point } from '../../../src/nn/train/sampler.js';
import { Optimizer } from '../../../src/nn/train/optimizer.js';
import { Trainer } from '../../../src/nn/train/trainer.js';
import { testGpu } from '../../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../../helpers/random.js';
import { expectClose } from '../../helpers/compare.js';
import { bceRef } from '../reference-train.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();
const n = 40;

/** Random strokes: short runs along x of one class, in a volume of side n. */
function randomStrokes(r: () => number, count: number): StrokeLabels {
  const labels = new StrokeLabels('toy', [n, n, n]);
  for (let s = 0; s < count; s++) {
    const p: Point = [Math.floor(r() * n), Math.floor(r() * n), Math.floor(r() * (n - 8))];
    const v = r() < 0.5 ? ROOT : NOT_ROOT;
    for (let k = 0; k < 8; k++) labels.set([p[0], p[1], p[2] + k], v);
  }
  return labels;
}

function toyImage(r: () => number): ArrayPatchVolume {
  return new ArrayPatchVolume('toy', [n, n, n], uniform(n ** 3, r, -1, 1), new Float32Array(n ** 3));
}

const cubeAt = (v: AnnotatedVolume, scale: number, centre: Point, size: number): { target: Float64Array; weight: Float64Array } => {
  // Float64 reference of a head's target and weight: per coarse cell, annotated voxels of the split / s³ and their root share.
  const start = centre.map((c) => (Math.floor(c / scale) - Math.floor(size / 2)) * scale);
  const w = new Float64Array(size ** 3);
  const t = new Float64Array(size ** 3);
  for (let z = 0; z < size; z++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        let a = 0;
        let rt = 0;
        for (let dz = 0; dz < scale; dz++)
          for (let dy = 0; dy < scale; dy++)
            for (let dx = 0; dx < scale; dx++) {
              const p: Point = [start[0]! + z * scale + dz, start[1]! + y * scale + dy, start[2]! + x * scale + dx];
              const c = v.labels.get(p);
              if (c === 0 || v.heldOut.has(v.labels.cellKey(p)) !== (v.split === 'val')) continue;
              a++;
              if (c === ROOT) rt++;
            }
        const i = (z * size + y) * size + x;
        w[i] = a / scale ** 3;
        t[i] = a > 0 ? rt / a : 0;
      }
  return { target: t, weight: w };
};

describe(`annotation strokes as training targets (seed ${seed})`, () => {
  const g = { highInput: 16, lowInput: 8, lowScale: 2, output: 16, highOutput: 16, lowTarget: 32, lowTargetScale: 4 };

  it('gives every head its target and weight from the strokes of its split, against float64', async () => {
    const r = rng(seed);
    const labels = randomStrokes(r, 60);
    const held = heldOutCells(labels, seed, 0, 0.3, new Set());
    for (const split of ['train', 'val'] as const) {
      const v = new AnnotatedVolume(toyImage(r), labels, held, split);
      for (let k = 0; k < 4; k++) {
        const c: Point = [Math.floor(r() * n), Math.floor(r() * n), Math.floor(r() * n)];
        const ex = await readExample(v, c, g, null);
        expect(ex.mask, 'annotation examples carry masks').toBeDefined();
        const sc: Point = c.map((x) => Math.round(x / 4) * 4) as Point;
        for (const [head, scale, size] of [
          ['low', 4, 8],
          ['high', 1, 16],
          ['fused', 1, 16],
        ] as const) {
          const ref = cubeAt(v, scale, sc, size);
          const t = head === 'low' ? ex.tLow : head === 'high' ? ex.tHigh : ex.tFused;
          expectClose(ex.mask![head], ref.weight, `${split} ${head} weight at ${c} seed ${seed}`, 1e-6, 1e-6);
          expectClose(t, ref.target, `${split} ${head} target at ${c} seed ${seed}`, 1e-6, 1e-6);
        }
      }
    }
  });

  it('never shows a held-out voxel to training: train weights are 0 on held-out cells, val weights only there', async () => {
    const r = rng(seed + 1);
    const labels = randomStrokes(r, 80);
    const held = heldOutCells(labels, seed, 0, 0.3, new Set());
    expect(held.size, 'some cells held out').toBeGreaterThan(0);
    const img = toyImage(r);
    const train = new AnnotatedVolume(img, labels, held, 'train');
    const val = new AnnotatedVolume(img, labels, held, 'val');
    const sampler = new StrokeSampler([{ shape: train.shape, ...train.strokePoints() }], STROKE_SAMPLING, r);
    let trainedVoxels = 0;
    for (let k = 0; k < 30; k++) {
      const { centre } = sampler.next();
      const { weight } = await train.readAnnotated(1, centre, 16);
      const { weight: vw } = await val.readAnnotated(1, centre, 16);
      const start = centre.map((c) => c - 8);
      for (let i = 0; i < weight.length; i++) {
        const p: Point = [start[0]! + Math.floor(i / 256), start[1]! + (Math.floor(i / 16) % 16), start[2]! + (i % 16)];
        const isHeld = held.has(labels.cellKey(p)) && labels.get(p) !== 0;
        if (weight[i]! > 0) {
          trainedVoxels++;
          expect(isHeld, `held-out voxel ${p} in a training patch`).toBe(false);
        }
        expect(vw[i]! > 0, `validation weight at ${p}`).toBe(isHeld);
      }
    }
    expect(trainedVoxels).toBeGreaterThan(0);
    const all = labels.counts();
    const a = train.counts();
    const b = val.counts();
    expect(a.root + b.root).toBe(all.root);
    expect(a.notRoot + b.notRoot).toBe(all.notRoot);
  });

  it('holds out by seed, deterministically, and never moves a cell trained on into validation', () => {
    const r = rng(seed + 2);
    const labels = randomStrokes(r, 120);
    const a = heldOutCells(labels, 5, 0, 0.25, new Set());
    expect([...heldOutCells(labels, 5, 0, 0.25, new Set())]).toEqual([...a]);
    expect([...heldOutCells(labels, 6, 0, 0.25, new Set())]).not.toEqual([...a]);
    const cells = labels.annotatedCells();
    const trained = new Set(cells.filter((k) => !a.has(k)));
    // Later strokes: the fallback rule may pick any cell, but never one already trained on.
    const one = new StrokeLabels('toy', [n, n, n]);
    one.set([1, 1, 1], ROOT);
    one.set([n - 1, n - 1, n - 1], NOT_ROOT);
    const held = heldOutCells(one, 1, 0, 0.0001, new Set([one.cellKey([1, 1, 1])]));
    expect([...held]).toEqual([one.cellKey([n - 1, n - 1, n - 1])]);
    for (let s = 0; s < 20; s++) for (const k of heldOutCells(labels, s, 0, 0.5, trained)) expect(trained.has(k)).toBe(false);
    expect(CELL).toBe(16);
  });

  it('balances root and not-root strokes whatever their voxel counts', () => {
    const r = rng(seed + 3);
    const root: Point[] = Array.from({ length: 1000 }, () => [5, 5, 5]);
    const notRoot: Point[] = [[30, 30, 30]];
    const s = new StrokeSampler([{ shape: [n, n, n], root, notRoot }], STROKE_SAMPLING, r);
    let nr = 0;
    for (let k = 0; k < 2000; k++) if (s.next().source === 'not-root') nr++;
    expect(nr / 2000).toBeGreaterThan(0.45);
    expect(nr / 2000).toBeLessThan(0.55);
  });

  it('masked loss: matches float64, and unlabelled voxels contribute nothing to the loss or any gradient', async () => {
    const r = rng(seed + 4);
    const s: Shape5 = [2, 1, 5, 6, 7];
    const small: Shape5 = [2, 1, 3, 3, 3];
    const sz = (x: Shape5): number => x.reduce((a, b) => a * b);
    const z = { low: uniform(sz(small), r, -4, 4), high: uniform(sz(s), r, -4, 4), fused: uniform(sz(s), r, -4, 4) };
    const w = {
      low: Float32Array.from({ length: sz(small) }, () => (r() < 0.5 ? 0 : r())),
      high: Float32Array.from({ length: sz(s) }, () => (r() < 0.7 ? 0 : 1)),
      fused: new Float32Array(sz(s)),
    };
    w.fused.set(w.high);
    const tgt = {
      low: uniform(sz(small), r, 0, 1),
      high: Float32Array.from({ length: sz(s) }, () => (r() < 0.5 ? 1 : 0)),
      fused: new Float32Array(sz(s)),
    };
    tgt.fused.set(tgt.high);
    const run = async (t: typeof tgt): Promise<{ loss: number; grads: Record<'low' | 'high' | 'fused', Float32Array> }> => {
      const T = (shape: Shape5, a: Float32Array): Tensor => Tensor.fromArray(gpu, shape, a);
      const out = await headLosses(
        { low: T(small, z.low), high: T(s, z.high), fused: T(s, z.fused) },
        {
          low: T(small, t.low),
          high: T(s, t.high),
          fused: T(s, t.fused),
          mask: { low: T(small, w.low), high: T(s, w.high), fused: T(s, w.fused) },
        },
        PAPER_LOSS,
      );
      return {
        loss: out.loss,
        grads: { low: await out.grads.low.toArray(), high: await out.grads.high.toArray(), fused: await out.grads.fused.toArray() },
      };
    };
    const a = await run(tgt);
    let want = 0;
    for (const head of ['low', 'high', 'fused'] as const) {
      const ref = bceRef(z[head], tgt[head], w[head], true, PAPER_LOSS[head]);
      want += ref.loss;
      expectClose(a.grads[head], ref.grad, `${head} gradient seed ${seed}`, 1e-6, 1e-5);
    }
    expect(Math.abs(a.loss - want)).toBeLessThan(1e-5 * (1 + want));
    // Other targets where nothing was painted: the same loss and gradients.
    const other = {
      low: tgt.low.map((v, i) => (w.low[i] === 0 ? 1 - v : v)),
      high: tgt.high.map((v, i) => (w.high[i] === 0 ? 1 - v : v)),
      fused: tgt.fused.map((v, i) => (w.fused[i] === 0 ? 1 - v : v)),
    };
    const b = await run(other);
    expect(b.loss).toBe(a.loss);
    for (const head of ['low', 'high', 'fused'] as const)
      expectClose(b.grads[head], a.grads[head], `${head} gradient with other unlabelled targets`, 1e-12, 0);
    await expect(
      headLosses(
        { low: Tensor.fromArray(gpu, small, z.low), high: Tensor.fromArray(gpu, s, z.high), fused: Tensor.fromArray(gpu, s, z.fused) },
        {
          low: Tensor.fromArray(gpu, small, tgt.low),
          high: Tensor.fromArray(gpu, s, tgt.high),
          fused: Tensor.fromArray(gpu, s, tgt.fused),
          mask: {
            low: Tensor.fromArray(gpu, small, w.low),
            high: Tensor.fromArray(gpu, s, w.high),
            fused: Tensor.fromArray(gpu, s, w.fused),
          },
        },
        { ...PAPER_LOSS, dice: 0.5 },
      ),
    ).rejects.toThrow(/Dice and centreline/);
  });

  it("the network's parameter gradients ignore targets at unlabelled voxels of every head, and follow them at labelled ones", async () => {
    const cfg = { arch: 'dual' as const, patch: 16, widths: [4, 6], lowScale: 2, lowPatch: 8, lowWidths: [3, 5] };
    const model = buildModel(gpu, cfg, seed);
    const geo = model.geometry;
    const r = rng(seed + 5);
    const labels = randomStrokes(r, 80);
    const v = new AnnotatedVolume(toyImage(r), labels, new Set(), 'train');
    const pts = v.strokePoints();
    const ex = await Promise.all([pts.root[0]!, pts.notRoot[0]!].map((c) => readExample(v, c, geo, null)));
    const lowN = geo.lowTarget / geo.lowTargetScale;
    const grads = async (exs: Example[]): Promise<Float32Array[]> => {
      for (const { item } of model.parameters()) {
        if (!item.grad) continue;
        item.grad.release();
        item.grad = null;
      }
      const cube = (side: number): Shape5 => [exs.length, 1, side, side, side];
      const high = Tensor.fromArray(gpu, cube(geo.highInput), stack(exs.map((e) => e.high)));
      const low = Tensor.fromArray(gpu, cube(geo.lowInput), stack(exs.map((e) => e.low!)));
      const logits = await model.forward({ high, low }, 'train');
      const T = (side: number, a: Float32Array[]): Tensor => Tensor.fromArray(gpu, cube(side), stack(a));
      const { grads: gr } = await headLosses(
        logits,
        {
          low: T(
            lowN,
            exs.map((e) => e.tLow),
          ),
          high: T(
            geo.highOutput,
            exs.map((e) => e.tHigh),
          ),
          fused: T(
            geo.output,
            exs.map((e) => e.tFused),
          ),
          mask: {
            low: T(
              lowN,
              exs.map((e) => e.mask!.low),
            ),
            high: T(
              geo.highOutput,
              exs.map((e) => e.mask!.high),
            ),
            fused: T(
              geo.output,
              exs.map((e) => e.mask!.fused),
            ),
          },
        },
        PAPER_LOSS,
      );
      await model.backward(gr);
      return Promise.all(model.parameters().map((p) => p.item.grad!.toArray()));
    };
    const base = await grads(ex);
    const flip = (t: Float32Array, m: Float32Array, where: (w: number) => boolean): Float32Array =>
      t.map((x, i) => (where(m[i]!) ? 1 - x : x));
    const unl = ex.map((e) => ({
      ...e,
      tLow: flip(e.tLow, e.mask!.low, (w) => w === 0),
      tHigh: flip(e.tHigh, e.mask!.high, (w) => w === 0),
      tFused: flip(e.tFused, e.mask!.fused, (w) => w === 0),
    }));
    const same = await grads(unl);
    same.forEach((g, k) =>
      expectClose(g, base[k]!, `parameter ${model.parameters()[k]!.name} gradient with other unlabelled targets`, 1e-7, 1e-5),
    );
    for (const head of ['low', 'high', 'fused'] as const) {
      const key = head === 'low' ? 'tLow' : head === 'high' ? 'tHigh' : 'tFused';
      const lab = ex.map((e) => ({ ...e, [key]: flip(e[key], e.mask![head], (w) => w > 0) }));
      const moved = await grads(lab);
      const differs = moved.some((g, k) => g.some((x, i) => Math.abs(x - base[k]![i]!) > 1e-5));
      expect(differs, `labelled ${head} targets reach the gradients`).toBe(true);
    }
  });
});

describe(`validation on held-out strokes (seed ${seed})`, () => {
  it('scores only the held-out painted voxels; its loss is their mean cross-entropy, against float64', async () => {
    const r = rng(seed + 9);
    const model = buildModel(gpu, { arch: 'dual', patch: 16, widths: [4, 6], lowScale: 2, lowPatch: 8, lowWidths: [3, 5] }, seed);
    const trainer = new Trainer(gpu, model, new Optimizer(model.parameters(), { kind: 'adam', lr: 0 }), PAPER_LOSS);
    const labels = randomStrokes(r, 60);
    const val = new AnnotatedVolume(toyImage(r), labels, new Set(labels.annotatedCells()), 'val');
    const tiles: { volume: number; centre: Point }[] = [
      { volume: 0, centre: [8, 8, 8] },
      { volume: 0, centre: [24, 20, 30] },
      { volume: 0, centre: [32, 32, 16] },
    ];
    const got = await trainer.validateAnnotated([val], tiles, 2);
    let bce = 0;
    let voxels = 0;
    const c = { tp: 0, fp: 0, fn: 0 };
    for (const t of tiles) {
      const ex = await readExample(val, t.centre, model.geometry, null);
      const prob = await trainer.predict([ex]);
      for (let k = 0; k < prob.length; k++) {
        if (!(ex.mask!.fused[k]! > 0)) continue;
        const p = Math.min(1 - 1e-6, Math.max(1e-6, prob[k]!));
        const root = ex.tFused[k]! >= 0.5;
        bce -= root ? Math.log(p) : Math.log(1 - p);
        voxels++;
        if (prob[k]! >= 0.5 && root) c.tp++;
        else if (prob[k]! >= 0.5) c.fp++;
        else if (root) c.fn++;
      }
    }
    expect(voxels, 'the tiles hold painted voxels').toBeGreaterThan(20);
    expect(got.voxels).toBe(voxels);
    expect({ tp: got.tp, fp: got.fp, fn: got.fn }).toEqual(c);
    expect(got.loss).toBeGreaterThan(0);
    expect(Math.abs(got.loss - bce / voxels)).toBeLessThan(1e-9 * Math.max(1, bce / voxels));
  });
});
