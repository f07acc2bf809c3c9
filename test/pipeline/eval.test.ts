import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OmeZarrWriter } from '../../src/io/zarr-write.js';
import { wholeBox } from '../../src/volume/box.js';
import { centrelineDice, evaluate, recallByRadius, scores } from '../../src/pipeline/eval.js';
import { radiusClasses } from '../../src/analysis/thickness.js';
import { visibleRoots } from '../../src/analysis/contrast.js';
import { blobs } from '../analysis/shapes.js';
import { openVolume } from '../../src/io/open.js';
import { SilentProgress } from '../../src/pipeline/progress.js';
import { freshSeed, rng } from '../helpers/random.js';

const seed = freshSeed();
const shape = [23, 17, 19] as const;
const meta = {
  shape: [...shape] as [number, number, number],
  voxelSize: [0.1, 0.1, 0.1] as [number, number, number],
  unit: 'millimeter' as const,
  origin: [5, 0, 0] as [number, number, number],
};

async function writeMaskZarr(path: string, mask: Uint8Array, withImage: boolean): Promise<void> {
  const opts = {
    zarrFormat: 2 as const,
    chunkShape: [8, 8, 8] as [number, number, number],
    compression: { compression: 'gzip' as const },
    levelCount: 1,
    method: 'mean' as const,
  };
  const img = await OmeZarrWriter.create(path, { ...meta, dtype: 'uint8' }, opts);
  await img.writeLevelBox(0, wholeBox(meta.shape), withImage ? mask.map((v) => v * 200) : new Uint8Array(mask.length).fill(7));
  await img.finalize();
  const lab = await OmeZarrWriter.create(path, { ...meta, dtype: 'uint8' }, { ...opts, label: 'roots', method: 'mode' });
  await lab.writeLevelBox(0, wholeBox(meta.shape), mask);
  await lab.finalize();
}

describe(`eval (seed ${seed})`, () => {
  it('counts agree with a direct computation, overall and per depth band, with physical depths', async () => {
    const r = rng(seed);
    const n = shape[0] * shape[1] * shape[2];
    const truth = Uint8Array.from({ length: n }, () => (r() < 0.2 ? 1 : 0));
    const pred = truth.map((v) => (r() < 0.15 ? 1 - v : v));
    const dir = mkdtempSync(join(tmpdir(), 'eval-'));
    await writeMaskZarr(join(dir, 't.zarr'), truth, true);
    await writeMaskZarr(join(dir, 'p.zarr'), pred, false);
    const res = await evaluate(join(dir, 'p.zarr'), join(dir, 't.zarr'), { bands: 4, progress: new SilentProgress() });
    let tp = 0,
      fp = 0,
      fn = 0;
    for (let i = 0; i < n; i++) {
      if (pred[i] && truth[i]) tp++;
      else if (pred[i]) fp++;
      else if (truth[i]) fn++;
    }
    expect(res.counts).toEqual({ tp, fp, fn, tn: n - tp - fp - fn });
    expect(res.scores.dice).toBeCloseTo((2 * tp) / (2 * tp + fp + fn), 12);
    expect(res.bands).toHaveLength(4);
    expect(res.bands.reduce((a, b) => a + b.counts.tp, 0)).toBe(tp);
    expect(res.bands[0]!.depthFrom).toBeCloseTo(5, 9);
    expect(res.bands[3]!.depthTo).toBeCloseTo(5 + 2.3, 9);
  });

  it('defines the empty cases: nothing predicted and nothing true is perfect', () => {
    expect(scores({ tp: 0, fp: 0, fn: 0, tn: 10 })).toEqual({ dice: 1, iou: 1, precision: 1, recall: 1 });
    expect(scores({ tp: 0, fp: 3, fn: 0, tn: 10 }).dice).toBe(0);
  });

  it('centreline Dice is 1 for a perfect tube and drops the sensitivity when the prediction breaks it', async () => {
    const [D, H, W] = shape;
    const tube = new Uint8Array(D * H * W);
    for (let z = 0; z < D; z++)
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if ((y - 8) ** 2 + (x - 9) ** 2 <= 4) tube[(z * H + y) * W + x] = 1;
    const broken = tube.map((v, i) => (Math.floor(i / (H * W)) >= 10 && Math.floor(i / (H * W)) < 14 ? 0 : v));
    const dir = mkdtempSync(join(tmpdir(), 'cldice-'));
    await writeMaskZarr(join(dir, 't.zarr'), tube, true);
    await writeMaskZarr(join(dir, 'b.zarr'), broken, true);
    const t = await openVolume(join(dir, 't.zarr'), { label: 'roots' });
    const b = await openVolume(join(dir, 'b.zarr'), { label: 'roots' });
    const same = await centrelineDice(t, t, 16, 6);
    expect(same.value).toBe(1);
    const cut = await centrelineDice(b, t, 16, 6);
    expect(cut.topologyPrecision).toBe(1);
    expect(cut.topologySensitivity).toBeGreaterThan(0.6);
    expect(cut.topologySensitivity).toBeLessThan(0.95);
    expect(cut.value).toBeLessThan(1);
  });

  it('recall by root radius: streamed in blocks, it counts as classifying the whole truth at once', async () => {
    const big = [30, 34, 33] as const;
    const truth = blobs([...big], seed, 3, 0.45).data;
    const r = rng(seed + 5);
    const pred = truth.map((v) => (r() < 0.3 ? 1 - v : v));
    // A scan whose roots stand out in some places and not in others (for recall of visible roots).
    const image = Float32Array.from(truth, (v, i) => 100 + 10 * (r() - 0.5) * 3.4 + (v ? ((i >> 7) % 3) * 12 : 0));
    const dir = mkdtempSync(join(tmpdir(), 'eval-radius-'));
    const m = { ...meta, shape: [...big] as [number, number, number] };
    for (const [name, data, dtype, label] of [
      ['t', truth, 'uint8', 'roots'],
      ['p', pred, 'uint8', 'roots'],
      ['s', image, 'float32', undefined],
    ] as const) {
      const w = await OmeZarrWriter.create(
        join(dir, `${name}.zarr`),
        { ...m, dtype },
        { zarrFormat: 2, chunkShape: [8, 8, 8], compression: { compression: 'gzip' }, levelCount: 1, method: label ? 'mode' : 'mean' },
      );
      await w.writeLevelBox(0, wholeBox(m.shape), data);
      await w.finalize();
    }
    const bounds = [1, 2, 3];
    const cls = radiusClasses(truth, [...big], bounds);
    const shows = visibleRoots(image, truth, [...big]);
    const tp = [0, 0, 0, 0];
    const fn = [0, 0, 0, 0];
    const vtp = [0, 0, 0, 0];
    const vfn = [0, 0, 0, 0];
    let fp = 0;
    for (let i = 0; i < truth.length; i++) {
      if (cls[i]) (pred[i] ? tp : fn)[cls[i]! - 1]!++;
      else if (pred[i]) fp++;
      if (shows[i]) (pred[i] ? vtp : vfn)[cls[i]! - 1]!++;
    }
    expect(tp.every((v) => v > 0)).toBe(true);
    const visible = vtp.reduce((a, v) => a + v, 0) + vfn.reduce((a, v) => a + v, 0);
    expect(visible, 'some roots stand out and some do not').toBeGreaterThan(0);
    expect(visible).toBeLessThan(truth.reduce((a, v) => a + v, 0));
    const p = await openVolume(join(dir, 'p.zarr'));
    const t = await openVolume(join(dir, 't.zarr'));
    const s = await openVolume(join(dir, 's.zarr'));
    const got = await recallByRadius(p, t, bounds, fp, 12, s);
    expect(got.map((c) => [c.from, c.to, c.tp, c.fn, c.visible!.tp, c.visible!.fn])).toEqual([
      [0, 1, tp[0], fn[0], vtp[0], vfn[0]],
      [1, 2, tp[1], fn[1], vtp[1], vfn[1]],
      [2, 3, tp[2], fn[2], vtp[2], vfn[2]],
      [3, null, tp[3], fn[3], vtp[3], vfn[3]],
    ]);
    expect((await recallByRadius(p, t, bounds, fp, 12))[0]!.visible, 'no scan, no visibility').toBeUndefined();
    // Dice with truth roots thinner than 2 left out: their voxels count neither way.
    const tp2 = tp[2]! + tp[3]!;
    expect(got[2]!.diceFrom).toBeCloseTo((2 * tp2) / (2 * tp2 + fp + fn[2]! + fn[3]!), 12);
    const all = await evaluate(join(dir, 'p.zarr'), join(dir, 't.zarr'), {
      bands: 1,
      progress: new SilentProgress(),
      radiusBounds: bounds,
    });
    expect(all.radius!.map((c) => c.tp)).toEqual(tp);
    const withScan = await evaluate(join(dir, 'p.zarr'), join(dir, 't.zarr'), {
      bands: 1,
      progress: new SilentProgress(),
      radiusBounds: bounds,
      image: join(dir, 's.zarr'),
    });
    expect(withScan.radius!.map((c) => c.visible!.tp)).toEqual(vtp);
    await expect(
      evaluate(join(dir, 'p.zarr'), join(dir, 't.zarr'), {
        bands: 1,
        progress: new SilentProgress(),
        radiusBounds: bounds,
        image: join(dir, 'nothing.zarr'),
      }),
    ).rejects.toThrow(/nothing\.zarr/);
    expect(all.radius![0]!.diceFrom).toBeCloseTo(all.scores.dice, 12);
  });
});
