/**
 * What `segment --min-component` does to a model's masks, on tuning scans (not the held-out sets
 * of bench/generalisation.js): each scan is segmented once with nothing removed, then its mask's
 * 26-connected pieces under each size are dropped in memory (the rule `removeSpecks` applies chunk
 * by chunk; test/analysis/speck-filter.test.ts checks the two agree) and scored against the truth,
 * voxels pooled per set, with recall by the truth's local radius.
 *
 *   node dist/bench/specks.js [--model models/default] [--sizes 0,16,32,64,128,256,512]
 *     [--sets easy,medium,hard,random] [--size 96] [--work /tmp/rhizoct-specks] [--out bench/out/specks.json]
 *   node dist/bench/specks.js --time SEG.zarr [--min 64] [--box z,y,x,side]
 *     the filter's time on a segmentation's mask (or the cube `--box` of it), held in memory in 64³
 *     chunks (no disk), per chunk
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labelComponents } from '../src/analysis/components.js';
import { removeSpecks } from '../src/analysis/speck-filter.js';
import { ChunkGrid } from '../src/volume/chunk-grid.js';
import { copyBox } from '../src/volume/copy.js';
import { median } from './args.js';
import { radiusClasses } from '../src/analysis/thickness.js';
import { openVolume } from '../src/io/open.js';
import { type Vec3, wholeBox } from '../src/volume/box.js';
import { arg } from './args.js';
import { cli, root } from './held-out.js';

/** Tuning seeds: the presets' 2001/2002 and the random family's 960001–960004 (session 30's tuning scans). */
const TUNING: Record<string, string[]> = {
  easy: ['2001', '2002'],
  medium: ['2001', '2002'],
  hard: ['2001', '2002'],
  random: ['960001', '960002', '960003', '960004'],
};
/** Radius classes (voxels): < 1, 1–2, 2–4, ≥ 4. */
const BOUNDS = [1, 2, 4];

async function readMask(path: string, label: string): Promise<{ data: Uint8Array; shape: Vec3 }> {
  const v = await openVolume(path, { label });
  const shape = v.shape as unknown as Vec3;
  const d = await v.readBox(wholeBox(shape));
  await v.close();
  return { data: Uint8Array.from(d as ArrayLike<number>, (x) => (x > 0 ? 1 : 0)), shape };
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
  /** Per radius class: truth voxels found, and all. */
  found: number[];
  truth: number[];
}

/** Times removeSpecks over a mask read whole into memory, cut into 64³ chunks: median of 3 runs. */
async function timeFilter(seg: string, min: number, cube: number[] | null): Promise<void> {
  const v = await openVolume(seg, { label: 'roots' });
  const box = cube
    ? { offset: [cube[0]!, cube[1]!, cube[2]!] as Vec3, shape: [cube[3]!, cube[3]!, cube[3]!] as Vec3 }
    : wholeBox(v.shape as unknown as Vec3);
  const data = (await v.readBox(box)) as Uint8Array;
  await v.close();
  const shape = box.shape;
  const whole = { offset: [0, 0, 0] as Vec3, shape };
  const grid = new ChunkGrid(shape, [64, 64, 64]);
  const chunks = [...grid.allChunks()];
  const times: number[] = [];
  let report = null;
  for (let rep = 0; rep < 3; rep++) {
    const work = Uint8Array.from(data);
    const t0 = performance.now();
    report = await removeSpecks(
      {
        grid,
        read: async (c) => {
          const box = grid.chunkBox(c);
          const out = new Uint8Array(box.shape[0] * box.shape[1] * box.shape[2]);
          copyBox(work, whole, out, box);
          return out;
        },
        write: async (c, d) => {
          copyBox(d, grid.chunkBox(c), work, whole);
        },
      },
      chunks,
      min,
    );
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  console.log(
    `${seg}: ${shape.join('×')}, ${chunks.length} chunks of 64³, --min-component ${min}: ${ms.toFixed(0)} ms (${(ms / chunks.length).toFixed(1)} ms per chunk, median of 3); ${JSON.stringify(report)}`,
  );
}

async function main(): Promise<void> {
  const timed = arg('--time', '');
  const cube = arg('--box', '');
  if (timed) return timeFilter(timed, Number(arg('--min', '64')), cube ? cube.split(',').map(Number) : null);
  const model = arg('--model', join(root, 'models/default'));
  const sizes = arg('--sizes', '0,16,32,64,128,256,512').split(',').map(Number);
  const sets = arg('--sets', 'easy,medium,hard,random').split(',');
  const size = arg('--size', '96');
  const work = arg('--work', '/tmp/rhizoct-specks');
  const out = arg('--out', join(root, 'bench/out/specks.json'));
  mkdirSync(work, { recursive: true });
  mkdirSync(join(out, '..'), { recursive: true });
  const rows: { set: string; minComponent: number; dice: number; precision: number; recall: number; recallByRadius: number[] }[] = [];
  for (const set of sets) {
    const seeds = TUNING[set];
    if (!seeds) throw new Error(`unknown set ${set}; one of ${Object.keys(TUNING).join(', ')}`);
    const pooled = sizes.map((): Counts => ({
      tp: 0,
      fp: 0,
      fn: 0,
      found: BOUNDS.map(() => 0).concat(0),
      truth: BOUNDS.map(() => 0).concat(0),
    }));
    const pieces: number[] = [];
    for (const seed of seeds) {
      const scan = join(work, `${set}-${seed}-${size}.zarr`);
      if (!existsSync(scan)) cli(['synth', scan, '--seed', seed, '--shape', size, '--difficulty', set, '--quiet']);
      const seg = join(work, `${set}-${seed}-${size}-seg.zarr`);
      if (!existsSync(seg)) cli(['segment', scan, seg, '--model', model, '--min-component', '0', '--quiet']);
      const pred = await readMask(seg, 'roots');
      const truth = await readMask(scan, 'roots');
      const cls = radiusClasses(truth.data, truth.shape, BOUNDS);
      const lab = labelComponents(pred.data, pred.shape, 26);
      for (let l = 1; l <= lab.count; l++) pieces.push(lab.sizes[l]!);
      sizes.forEach((min, k) => {
        const c = pooled[k]!;
        for (let i = 0; i < pred.data.length; i++) {
          const p = pred.data[i]! && lab.sizes[lab.labels[i]!]! >= min;
          const t = truth.data[i]!;
          if (p && t) c.tp++;
          else if (p) c.fp++;
          else if (t) c.fn++;
          if (t) {
            // radiusClasses numbers a truth voxel's class from 1.
            c.truth[cls[i]! - 1]!++;
            if (p) c.found[cls[i]! - 1]!++;
          }
        }
      });
    }
    sizes.forEach((min, k) => {
      const c = pooled[k]!;
      const row = {
        set,
        minComponent: min,
        dice: (2 * c.tp) / (2 * c.tp + c.fp + c.fn),
        precision: c.tp / Math.max(1, c.tp + c.fp),
        recall: c.tp / Math.max(1, c.tp + c.fn),
        recallByRadius: c.found.map((f, r) => f / Math.max(1, c.truth[r]!)),
      };
      rows.push(row);
      console.log(
        `${set.padEnd(7)} min ${String(min).padStart(4)}: Dice ${row.dice.toFixed(3)} (P ${row.precision.toFixed(3)}, R ${row.recall.toFixed(3)}); recall by radius <1 / 1–2 / 2–4 / ≥4 ${row.recallByRadius.map((r) => r.toFixed(2)).join(' / ')}`,
      );
    });
    pieces.sort((a, b) => a - b);
    const under = (n: number): number => pieces.filter((p) => p < n).length;
    console.log(
      `${set.padEnd(7)} pieces: ${pieces.length}; under ${sizes
        .filter((s) => s > 0)
        .map((s) => `${s}: ${under(s)}`)
        .join(', ')}`,
    );
  }
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), model, size, sets, sizes, rows }, null, 2)}\n`);
}

void main();
