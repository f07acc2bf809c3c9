/**
 * Does hard-negative mining (the paper's incremental learning) raise validation Dice on the hard
 * synthetic preset? Two arms with the same number of steps from the same start, seed by seed:
 *   plain:  `rhizoct train --rounds 1 --epochs 2E`
 *   mined:  `rhizoct train --rounds 2 --epochs E`   (after round 1, mine the training volumes for
 *           false-positive and false-negative regions and draw 30% of round 2's patches there)
 * then segments the held-out hard scans with each result and scores them with `rhizoct eval`.
 *
 *   node dist/bench/mining.js [--from models/default] [--size 96] [--train 401,402] [--val 951,952]
 *                             [--steps 25] [--epochs 2] [--seeds 1,2] [--lr 0.0005]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg } from './args.js';
import { cli, root, scoreHeldOut as evaluate, type Scores } from './held-out.js';

async function main(): Promise<void> {
  const from = arg('--from', join(root, 'models/default'));
  const size = arg('--size', '96');
  const steps = Number(arg('--steps', '25'));
  const epochs = Number(arg('--epochs', '2'));
  const lr = arg('--lr', '0.0005');
  const seeds = arg('--seeds', '1,2').split(',');
  const work = mkdtempSync(join(tmpdir(), 'rhizoct-bench-mining-'));
  try {
    const synth = (kind: string, seed: string): string => {
      const p = join(work, `${kind}-${seed}.zarr`);
      cli(['synth', p, '--seed', seed, '--shape', size, '--difficulty', 'hard', '--quiet']);
      return p;
    };
    const train = arg('--train', '401,402')
      .split(',')
      .map((s) => synth('train', s));
    const val = arg('--val', '951,952')
      .split(',')
      .map((s) => synth('val', s));
    const start = evaluate(from, val, work);
    console.log(
      `hard preset, ${size}³: ${train.length} training and ${val.length} held-out scans; fine-tuning ${from} for ${2 * epochs * steps} steps of 2 patches, lr ${lr}`,
    );
    console.log(`start:  Dice ${start.dice.toFixed(3)} (P ${start.precision.toFixed(3)}, R ${start.recall.toFixed(3)})`);
    const rows: Record<string, unknown>[] = [];
    for (const seed of seeds) {
      const row: Record<string, unknown> = { seed };
      for (const [arm, rounds, ep] of [
        ['plain', 1, 2 * epochs],
        ['mined', 2, epochs],
      ] as const) {
        const out = join(work, `${arm}-${seed}`);
        cli([
          'train',
          '--from',
          from,
          '--data',
          train.join(','),
          '--out',
          out,
          '--lr',
          lr,
          '--batch',
          '2',
          '--steps',
          String(steps),
          '--epochs',
          String(ep),
          '--rounds',
          String(rounds),
          '--seed',
          seed,
          '--quiet',
        ]);
        row[arm] = evaluate(out, val, work);
      }
      const p = row.plain as Scores;
      const m = row.mined as Scores;
      console.log(
        `seed ${seed}: plain Dice ${p.dice.toFixed(3)} (P ${p.precision.toFixed(3)}, R ${p.recall.toFixed(3)}) | mined Dice ${m.dice.toFixed(3)} (P ${m.precision.toFixed(3)}, R ${m.recall.toFixed(3)}) | Δ ${(m.dice - p.dice >= 0 ? '+' : '') + (m.dice - p.dice).toFixed(3)}`,
      );
      rows.push(row);
    }
    const mean = (k: 'plain' | 'mined'): number => rows.reduce((a, r) => a + (r[k] as Scores).dice, 0) / rows.length;
    console.log(
      `mean over ${rows.length} seeds: plain ${mean('plain').toFixed(3)}, mined ${mean('mined').toFixed(3)}, Δ ${(mean('mined') - mean('plain')).toFixed(3)}`,
    );
    mkdirSync(join(root, 'bench/out'), { recursive: true });
    writeFileSync(
      join(root, 'bench/out/mining.json'),
      JSON.stringify({ date: new Date().toISOString(), from, size, steps, epochs, lr, start, rows }, null, 2),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
