/**
 * The default model (or --model) on held-out synthetic scans of each difficulty, next to the best
 * single global grey-value threshold on the same scans: Dice, precision, recall (also by root
 * radius, as `rhizoct eval` classes it), clDice.
 *
 *   node dist/bench/model-eval.js [--model models/default] [--size 96] [--seeds 1001,1002]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openVolume } from '../src/io/open.js';
import { makeBox } from '../src/volume/box.js';
import { IntensityHistograms, type ThresholdDice } from '../src/synth/metrics.js';
import { arg } from './args.js';
import { cli, root } from './held-out.js';

async function bestThreshold(scan: string): Promise<ThresholdDice> {
  const img = await openVolume(scan);
  const lab = await openVolume(scan, { label: 'roots' });
  const h = new IntensityHistograms();
  const [D, H, W] = img.shape;
  for (let z = 0; z < D; z += 16) {
    const box = makeBox([z, 0, 0], [Math.min(16, D - z), H, W]);
    h.add(await img.readBox(box), await lab.readBox(box));
  }
  return h.bestThreshold();
}

async function main(): Promise<void> {
  const model = arg('--model', join(root, 'models/default'));
  const size = arg('--size', '96');
  const seeds = arg('--seeds', '1001,1002').split(',');
  const work = mkdtempSync(join(tmpdir(), 'rhizoct-model-eval-'));
  const rows = [];
  try {
    for (const difficulty of ['easy', 'medium', 'hard']) {
      for (const seed of seeds) {
        const scan = join(work, `${difficulty}-${seed}.zarr`);
        cli(['synth', scan, '--seed', seed, '--shape', size, '--difficulty', difficulty, '--quiet']);
        const seg = join(work, `${difficulty}-${seed}-seg.zarr`);
        cli(['segment', scan, seg, '--model', model, '--quiet']);
        const ev = JSON.parse(cli(['eval', seg, scan, '--json', '--quiet'])) as {
          scores: { dice: number; precision: number; recall: number };
          clDice?: { value: number };
          radius: { from: number; to: number | null; recall: number }[];
        };
        const thr = await bestThreshold(scan);
        const row = {
          difficulty,
          seed,
          dice: ev.scores.dice,
          precision: ev.scores.precision,
          recall: ev.scores.recall,
          clDice: ev.clDice?.value ?? NaN,
          radius: ev.radius,
          thresholdDice: thr.dice,
          bandDice: thr.bandDice,
        };
        rows.push(row);
        const byRadius = ev.radius.map((c) => `${c.to === null ? `≥${c.from}` : `<${c.to}`} ${c.recall.toFixed(2)}`).join(', ');
        console.log(
          `${difficulty.padEnd(6)} seed ${seed}: Dice ${row.dice.toFixed(3)} (P ${row.precision.toFixed(3)}, R ${row.recall.toFixed(3)}; by radius ${byRadius}), clDice ${row.clDice.toFixed(3)} | best global threshold Dice ${thr.dice.toFixed(3)}, best band ${thr.bandDice.toFixed(3)}`,
        );
      }
    }
    mkdirSync(join(root, 'bench/out'), { recursive: true });
    writeFileSync(join(root, 'bench/out/model-eval.json'), JSON.stringify({ date: new Date().toISOString(), model, size, rows }, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
