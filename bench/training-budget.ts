/**
 * How far the default architecture gets with more training than lavapipe affords on this machine.
 * Draws un-augmented training examples with our own sampler from the default model's training scans
 * (scripts/train-default.sh), trains the same preset on them in PyTorch
 * (bench/reference/train_budget.py: the same loss, optimiser, learning rate and augmentations,
 * batch-norm statistics calibrated as `rhizoct train` does) and scores checkpoints at several step
 * counts with our own `rhizoct segment` and `rhizoct eval` on held-out scans. A diagnostic of Dice
 * against training budget: the shipped model is trained by `rhizoct train` only.
 *
 *   node dist/bench/training-budget.js [--data-dir /tmp/rhizoct-train-default] [--examples 3000]
 *     [--steps 600,2000,6000] [--seeds 1001,1002] [--difficulties medium,hard] [--config '{...}']
 *     [--lr 0.002] [--lr-final 0.0001] [--threads 2] [--work DIR]
 *     [--centres volume|length] (patch centres near root voxels, or on centrelines: per unit length)
 *     [--skeleton W] (the centreline loss term of `rhizoct train --skeleton`)
 *     [--jitter 0.1] (intensity gain and bias jitter of the augmentation, as `rhizoct train`'s)
 *     [--thin-only R] (diagnostic: the full-resolution heads learn only roots thinner than R voxels)
 *     [--held-out-shape 96] [--voxel-size 0.05] (mm, of the held-out scans) [--radii 1,2,4] (eval's radius classes)
 *     [--run DIR] (only score the checkpoints an earlier run left in DIR)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_NORMALISATION, PRESETS } from '../src/nn/models/registry.js';
import type { DualConfig } from '../src/nn/models/dual.js';
import { arg } from './args.js';
import { dumpExamples } from './example-bank.js';
import { cli, fmtScores, root, scoreHeldOut, type Scores } from './held-out.js';

const TRAIN_SCANS = ['train-m1', 'train-m2', 'train-m3', 'train-h1', 'train-h2', 'train-e1'];

async function main(): Promise<void> {
  const dataDir = arg('--data-dir', '/tmp/rhizoct-train-default');
  const work = arg('--work', '/tmp/rhizoct-training-budget');
  const count = Number(arg('--examples', '3000'));
  const steps = arg('--steps', '600,2000,6000');
  const seeds = arg('--seeds', '1001,1002').split(',');
  const difficulties = arg('--difficulties', 'medium,hard').split(',');
  const config = { ...(PRESETS.dual as DualConfig), ...(JSON.parse(arg('--config', '{}')) as object) } as DualConfig;
  if (config.arch !== 'dual') throw new Error('training-budget: only the dual architecture is supported');
  mkdirSync(work, { recursive: true });
  for (const n of TRAIN_SCANS)
    if (!existsSync(join(dataDir, `${n}.zarr`)))
      throw new Error(`${dataDir}/${n}.zarr missing: run scripts/train-default.sh first (it makes the scans)`);

  const centres = arg('--centres', 'volume');
  if (centres !== 'volume' && centres !== 'length') throw new Error(`--centres ${centres}: volume or length`);
  const skeleton = Number(arg('--skeleton', '0'));
  // --run DIR scores the checkpoints an earlier (or interrupted) run left there, without training.
  let runDir = arg('--run', '');
  if (!runDir) {
    const bank = join(work, `examples-${count}-${centres}${skeleton > 0 ? '-skeleton' : ''}`);
    await dumpExamples(
      { scans: TRAIN_SCANS.map((n) => join(dataDir, `${n}.zarr`)), config, count, seed: 7, centres, skeleton: skeleton > 0 },
      bank,
    );
    const jitter = arg('--jitter', '0.1');
    const thinOnly = arg('--thin-only', '0');
    const key = JSON.stringify([
      config,
      steps,
      arg('--lr', '0.002'),
      arg('--lr-final', '0.0001'),
      bank,
      skeleton,
      ...(jitter === '0.1' ? [] : [jitter]),
      ...(thinOnly === '0' ? [] : ['thin', thinOnly]),
    ]);
    runDir = join(work, `run-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`);
    mkdirSync(runDir, { recursive: true });
    const card = JSON.parse(readFileSync(join(root, 'models/default/card.json'), 'utf8')) as Record<string, unknown>;
    const baseCard = { format: card.format, version: card.version, config, normalisation: DEFAULT_NORMALISATION };
    writeFileSync(join(runDir, 'card.base.json'), JSON.stringify(baseCard));
    execFileSync(
      '/usr/bin/python3',
      [
        join(root, 'bench/reference/train_budget.py'),
        bank,
        join(runDir, 'card.base.json'),
        runDir,
        '--steps',
        steps,
        '--skeleton',
        String(skeleton),
        '--jitter',
        jitter,
        '--thin-only',
        thinOnly,
        '--lr',
        arg('--lr', '0.002'),
        '--lr-final',
        arg('--lr-final', '0.0001'),
        '--threads',
        arg('--threads', '2'),
      ],
      { stdio: 'inherit' },
    );
  }

  const heldOutShape = arg('--held-out-shape', '96');
  const voxelSize = arg('--voxel-size', '0.05');
  const radii = arg('--radii', '1,2,4');
  // Held-out scans of another size or voxel size get names of their own.
  const tag = heldOutShape === '96' && voxelSize === '0.05' ? '' : `-${heldOutShape}-${voxelSize}mm`;
  const scans: Record<string, string[]> = {};
  for (const d of difficulties) {
    scans[d] = seeds.map((s) => {
      const p = join(work, `${d}-${s}${tag}.zarr`);
      if (!existsSync(p)) cli(['synth', p, '--seed', s, '--shape', heldOutShape, '--voxel-size', voxelSize, '--difficulty', d, '--quiet']);
      return p;
    });
  }
  const rows: { steps: number; seconds: number; scores: Record<string, Scores> }[] = [];
  const log = JSON.parse(readFileSync(join(runDir, 'log.json'), 'utf8')) as {
    centres?: string;
    examples?: number;
    skeleton?: number;
    jitter?: number;
    thinOnly?: number;
    checkpoints: { steps: number; seconds: number; dir: string }[];
  };
  for (const ck of log.checkpoints) {
    const scores: Record<string, Scores> = {};
    for (const d of difficulties) scores[d] = scoreHeldOut(ck.dir, scans[d]!, runDir, radii);
    rows.push({ steps: ck.steps, seconds: ck.seconds, scores });
    console.log(
      `${String(ck.steps).padStart(6)} steps (${ck.seconds.toFixed(0)} s): ${difficulties.map((d) => `${d} ${fmtScores(scores[d]!)}`).join(' | ')}`,
    );
  }
  mkdirSync(join(root, 'bench/out'), { recursive: true });
  writeFileSync(
    join(root, `bench/out/training-budget-${runDir.split('-').pop()}.json`),
    JSON.stringify(
      {
        date: new Date().toISOString(),
        run: runDir,
        config,
        examples: log.examples ?? count,
        centres: log.centres ?? centres,
        skeleton: log.skeleton ?? skeleton,
        jitter: log.jitter ?? 0.1,
        thinOnly: log.thinOnly ?? 0,
        heldOut: { shape: Number(heldOutShape), voxelSizeMm: Number(voxelSize), radii },
        seeds,
        rows,
      },
      null,
      2,
    ),
  );
}

await main();
