/**
 * Transfer learning as a lab would use it: the default model meets a soil it was not trained on
 * (by default a coarse, dry sand like the bean scan's: large grains, no fines or water), one
 * annotated scan of that soil fine-tunes it (`rhizoct train --from`), and held-out scans of the same
 * soil are scored before and after, with and without a frozen encoder.
 *
 *   node dist/bench/fine-tune.js [--from models/default] [--size 96] [--train 501] [--val 961,962]
 *                                [--steps 25] [--epochs 2] [--lr 0.0005] [--set soil.grainSize=0.9 ...]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg } from './args.js';
import { cli, fmtScores as fmt, root, scoreHeldOut as evaluate } from './held-out.js';

function args(name: string): string[] {
  return process.argv.flatMap((a, i) => (a === name && process.argv[i + 1] ? [process.argv[i + 1]!] : []));
}

/** Coarse dry sand: grains ~3× the medium preset's, almost no fines, no water films. */
const COARSE_SAND = [
  'soil.grainSize=1.2',
  'soil.grainSizeSpread=0.25',
  'soil.finesFraction=0.05',
  'soil.waterFilm=0',
  'soil.saturation=0',
  'soil.grainValue=0.72',
  'soil.darkFraction=0.01',
];

async function main(): Promise<void> {
  const from = arg('--from', join(root, 'models/default'));
  const size = arg('--size', '96');
  const steps = arg('--steps', '25');
  const epochs = arg('--epochs', '2');
  const lr = arg('--lr', '0.0005');
  const soil = args('--set').length > 0 ? args('--set') : COARSE_SAND;
  const work = mkdtempSync(join(tmpdir(), 'rhizoct-bench-finetune-'));
  try {
    const synth = (kind: string, seed: string): string => {
      const p = join(work, `${kind}-${seed}.zarr`);
      cli(['synth', p, '--seed', seed, '--shape', size, '--difficulty', 'medium', ...soil.flatMap((s) => ['--set', s]), '--quiet']);
      return p;
    };
    const train = arg('--train', '501')
      .split(',')
      .map((s) => synth('train', s));
    const val = arg('--val', '961,962')
      .split(',')
      .map((s) => synth('val', s));
    console.log(
      `new soil (medium preset with ${soil.join(' ')}), ${size}³: ${train.length} annotated scan(s) to fine-tune on, ${val.length} held out`,
    );
    const before = evaluate(from, val, work);
    console.log(`before:                     ${fmt(before)}`);
    const result: Record<string, unknown> = { date: new Date().toISOString(), from, size, soil, steps, epochs, lr, before };
    for (const [name, extra] of [
      ['fine-tuned', []],
      ['fine-tuned, frozen encoder', ['--freeze-encoder']],
    ] as const) {
      const out = join(work, name.replace(/\W+/g, '-'));
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
        steps,
        '--epochs',
        epochs,
        '--rounds',
        '1',
        '--seed',
        '1',
        '--quiet',
        ...extra,
      ]);
      const after = evaluate(out, val, work);
      console.log(
        `${(name + ':').padEnd(28)}${fmt(after)}  (Δ Dice ${(after.dice - before.dice >= 0 ? '+' : '') + (after.dice - before.dice).toFixed(3)})`,
      );
      result[name] = after;
    }
    mkdirSync(join(root, 'bench/out'), { recursive: true });
    writeFileSync(join(root, 'bench/out/fine-tune.json'), JSON.stringify(result, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
