/**
 * What `segment --min-component N --compact-below B` does to a model's masks, on tuning scans (not
 * the held-out sets of bench/generalisation.js): each scan is segmented once with nothing removed,
 * then each rule is applied by the product's own filter (`removeSpecks`, over the mask held in
 * memory in 64³ chunks) and scored against the truth, voxels pooled per set, with recall by the
 * truth's local radius.
 *
 *   node dist/bench/specks.js [--model models/default] [--rules 0:0,16:0,32:0,64:0,128:0,256:0,512:0,64:1000,64:3000,64:10000]
 *     [--sets easy,medium,hard,random] [--size 96] [--work /tmp/rhizoct-specks] [--out bench/out/specks.json]
 *   node dist/bench/specks.js --time SEG.zarr [--rules 64:3000] [--box z,y,x,side]
 *     the filter's time on a segmentation's mask (or the cube `--box` of it), in memory (no disk), per chunk
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { maskInMemory, removeSpecks, type SpeckReport, type SpeckRule } from '../src/analysis/speck-filter.js';
import { radiusClasses } from '../src/analysis/thickness.js';
import { openVolume } from '../src/io/open.js';
import { type Box, type Vec3, wholeBox } from '../src/volume/box.js';
import { ChunkGrid } from '../src/volume/chunk-grid.js';
import { arg, median } from './args.js';
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

async function readMask(path: string, label: string, box?: Box): Promise<{ data: Uint8Array; shape: Vec3 }> {
  const v = await openVolume(path, { label });
  const b = box ?? wholeBox(v.shape as unknown as Vec3);
  const d = (await v.readBox(b)) as Uint8Array;
  await v.close();
  for (let i = 0; i < d.length; i++) d[i] = d[i]! > 0 ? 1 : 0;
  return { data: d, shape: b.shape };
}

/** `min:compact` pairs. */
const parseRules = (text: string): SpeckRule[] =>
  text.split(',').map((r) => {
    const [minVoxels, compactBelow] = r.split(':').map(Number);
    return { minVoxels: minVoxels!, compactBelow: compactBelow ?? 0 };
  });
const ruleName = (r: SpeckRule): string => `${r.minVoxels}:${r.compactBelow}`;

/** The product's filter over a copy of `data` held in memory in 64³ chunks; returns the filtered copy. */
async function filtered(data: Uint8Array, shape: Vec3, rule: SpeckRule): Promise<{ mask: Uint8Array; report: SpeckReport }> {
  const mask = Uint8Array.from(data);
  const chunks = maskInMemory(mask, shape, [64, 64, 64]);
  const report = await removeSpecks(chunks, [...chunks.grid.allChunks()], rule);
  return { mask, report };
}

/** Times the filter on a segmentation's mask (or a cube of it): median of 3 runs. */
async function timeFilter(seg: string, rule: SpeckRule, cube: number[] | null): Promise<void> {
  const box = cube ? { offset: [cube[0]!, cube[1]!, cube[2]!] as Vec3, shape: [cube[3]!, cube[3]!, cube[3]!] as Vec3 } : undefined;
  const { data, shape } = await readMask(seg, 'roots', box);
  const times: number[] = [];
  let report: SpeckReport | null = null;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    report = (await filtered(data, shape, rule)).report;
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  const chunks = new ChunkGrid(shape, [64, 64, 64]).chunkCount;
  console.log(
    `${seg}: ${shape.join('×')}, ${chunks} chunks of 64³, rule ${ruleName(rule)}: ${ms.toFixed(0)} ms (${(ms / chunks).toFixed(1)} ms per chunk, median of 3); ${JSON.stringify(report)}`,
  );
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
  /** Per radius class: truth voxels found, and all. */
  found: number[];
  truth: number[];
}

async function main(): Promise<void> {
  const rules = parseRules(arg('--rules', '0:0,16:0,32:0,64:0,128:0,256:0,512:0,64:1000,64:3000,64:10000'));
  const timed = arg('--time', '');
  const cube = arg('--box', '');
  if (timed) {
    for (const rule of rules) await timeFilter(timed, rule, cube ? cube.split(',').map(Number) : null);
    return;
  }
  const model = arg('--model', join(root, 'models/default'));
  const sets = arg('--sets', 'easy,medium,hard,random').split(',');
  const size = arg('--size', '96');
  const work = arg('--work', '/tmp/rhizoct-specks');
  const out = arg('--out', join(root, 'bench/out/specks.json'));
  mkdirSync(work, { recursive: true });
  mkdirSync(join(out, '..'), { recursive: true });
  const rows: {
    set: string;
    rule: string;
    dice: number;
    precision: number;
    recall: number;
    recallByRadius: number[];
    removed: number;
    compact: number;
  }[] = [];
  for (const set of sets) {
    const seeds = TUNING[set];
    if (!seeds) throw new Error(`unknown set ${set}; one of ${Object.keys(TUNING).join(', ')}`);
    const pooled = rules.map((): Counts & { removed: number; compact: number } => ({
      tp: 0,
      fp: 0,
      fn: 0,
      found: BOUNDS.map(() => 0).concat(0),
      truth: BOUNDS.map(() => 0).concat(0),
      removed: 0,
      compact: 0,
    }));
    let pieces = 0;
    for (const seed of seeds) {
      const scan = join(work, `${set}-${seed}-${size}.zarr`);
      if (!existsSync(scan)) cli(['synth', scan, '--seed', seed, '--shape', size, '--difficulty', set, '--quiet']);
      const seg = join(work, `${set}-${seed}-${size}-seg.zarr`);
      if (!existsSync(seg)) cli(['segment', scan, seg, '--model', model, '--min-component', '0', '--compact-below', '0', '--quiet']);
      const pred = await readMask(seg, 'roots');
      const truth = await readMask(scan, 'roots');
      const cls = radiusClasses(truth.data, truth.shape, BOUNDS);
      for (const [k, rule] of rules.entries()) {
        const { mask, report } = await filtered(pred.data, pred.shape, rule);
        pieces = k === 0 ? pieces + report.components : pieces;
        const c = pooled[k]!;
        c.removed += report.removed;
        c.compact += report.compact;
        for (let i = 0; i < mask.length; i++) {
          const p = mask[i]!;
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
      }
    }
    console.log(`${set}: ${pieces} pieces in the masks of ${seeds.length} scans with nothing removed`);
    for (const [k, rule] of rules.entries()) {
      const c = pooled[k]!;
      const row = {
        set,
        rule: ruleName(rule),
        dice: (2 * c.tp) / (2 * c.tp + c.fp + c.fn),
        precision: c.tp / Math.max(1, c.tp + c.fp),
        recall: c.tp / Math.max(1, c.tp + c.fn),
        recallByRadius: c.found.map((f, r) => f / Math.max(1, c.truth[r]!)),
        removed: c.removed,
        compact: c.compact,
      };
      rows.push(row);
      console.log(
        `${set.padEnd(7)} rule ${row.rule.padStart(10)}: Dice ${row.dice.toFixed(3)} (P ${row.precision.toFixed(3)}, R ${row.recall.toFixed(3)}); recall by radius <1 / 1–2 / 2–4 / ≥4 ${row.recallByRadius.map((r) => r.toFixed(2)).join(' / ')}; ${c.removed} pieces removed (${c.compact} compact)`,
      );
    }
  }
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), model, size, sets, rows }, null, 2)}\n`);
}

void main();
