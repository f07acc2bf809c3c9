/**
 * Trains the shipped default model (models/default): synthesises the training scans (the random
 * family, seeds 10001…, plus one scan of each preset family's kind), draws a bank of examples with
 * rhizoct's own sampler, trains the default dual architecture on it with the PyTorch reference
 * trainer (bench/reference/train_budget.py: the same loss, optimiser, schedule, augmentations and
 * batch-norm calibration as `rhizoct train`, 14× its step rate on this CPU), scores every
 * checkpoint with rhizoct's own `segment` + `eval` on held-out validation scans (random family
 * seeds 900001…, medium 901, hard 902) and installs the best one with a card that records the
 * trainer, data, recipe and validation. Run by scripts/train-default.sh.
 *
 *   node dist/bench/train-default.js [--work /tmp/rhizoct-train-default] [--random 48] [--shape 128]
 *     [--examples 5000] [--steps 2000,4000,6000,8000] [--threads 2] [--out models/default] [--val-random 4]
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_NORMALISATION, PRESETS } from '../src/nn/models/registry.js';
import type { DualConfig } from '../src/nn/models/dual.js';
import { arg } from './args.js';
import { dumpExamples } from './example-bank.js';
import { cli, fmtScores, root, scoreHeldOut, type Scores } from './held-out.js';

/** The preset scans kept in the training set, so the presets' scores do not step back. */
const PRESET_SCANS: [string, number, string][] = [['train-m1', 101, 'medium'], ['train-m2', 102, 'medium'], ['train-h1', 201, 'hard'], ['train-e1', 301, 'easy']];
const RANDOM_SEED0 = 10001;
const VAL_RANDOM_SEED0 = 900001;

function synth(path: string, seed: number, family: string, shape: string): string {
  if (!existsSync(path)) cli(['synth', path, '--seed', String(seed), '--difficulty', family, '--shape', shape, '--quiet']);
  return path;
}

async function main(): Promise<void> {
  const work = arg('--work', '/tmp/rhizoct-train-default');
  const nRandom = Number(arg('--random', '48'));
  const shape = arg('--shape', '128');
  const count = Number(arg('--examples', '5000'));
  const steps = arg('--steps', '2000,4000,6000,8000');
  const out = resolve(arg('--out', join(root, 'models/default')));
  const config = PRESETS.dual as DualConfig;
  mkdirSync(work, { recursive: true });

  const t0 = performance.now();
  const scans: string[] = [];
  for (let i = 0; i < nRandom; i++) scans.push(synth(join(work, `random-${RANDOM_SEED0 + i}.zarr`), RANDOM_SEED0 + i, 'random', shape));
  for (const [name, seed, family] of PRESET_SCANS) scans.push(synth(join(work, `${name}.zarr`), seed, family, shape));
  const val: Record<string, string[]> = {
    random: Array.from({ length: Number(arg('--val-random', '4')) }, (_, i) => synth(join(work, `val-random-${VAL_RANDOM_SEED0 + i}.zarr`), VAL_RANDOM_SEED0 + i, 'random', '96')),
    medium: [synth(join(work, 'val-m.zarr'), 901, 'medium', '96')],
    hard: [synth(join(work, 'val-h.zarr'), 902, 'hard', '96')],
  };
  console.error(`scans ready (${((performance.now() - t0) / 1000).toFixed(0)} s)`);

  const bank = join(work, `bank-${nRandom}r-${shape}-${count}`);
  await dumpExamples({ scans, config, count, seed: 7, centres: 'volume', skeleton: false }, bank);
  const runDir = join(work, `run-${nRandom}r-${count}-${steps.replaceAll(',', '_')}`);
  mkdirSync(runDir, { recursive: true });
  const baseCard = { format: 'rhizoct-model', version: 1, config, normalisation: DEFAULT_NORMALISATION };
  writeFileSync(join(runDir, 'card.base.json'), JSON.stringify(baseCard));
  const trainArgs = ['--steps', steps, '--lr', '0.002', '--lr-final', '0.0001', '--batch', '2', '--seed', '7', '--threads', arg('--threads', '2')];
  if (!existsSync(join(runDir, 'log.json')) || !(JSON.parse(readFileSync(join(runDir, 'log.json'), 'utf8')) as { checkpoints: unknown[] }).checkpoints.length) {
    execFileSync('/usr/bin/python3', [join(root, 'bench/reference/train_budget.py'), bank, join(runDir, 'card.base.json'), runDir, ...trainArgs], { stdio: 'inherit' });
  }

  const log = JSON.parse(readFileSync(join(runDir, 'log.json'), 'utf8')) as { checkpoints: { steps: number; seconds: number; dir: string }[] };
  let best: { steps: number; seconds: number; dir: string; scores: Record<string, Scores>; mean: number } | null = null;
  for (const ck of log.checkpoints) {
    const scores: Record<string, Scores> = {};
    for (const [k, v] of Object.entries(val)) scores[k] = scoreHeldOut(ck.dir, v, runDir);
    // Validation: mean Dice over the families, the random family counting as much as the presets together.
    const mean = (2 * scores.random!.dice + scores.medium!.dice + scores.hard!.dice) / 4;
    console.log(`${ck.steps} steps: ${Object.entries(scores).map(([k, s]) => `${k} ${fmtScores(s)}`).join(' | ')} → ${mean.toFixed(3)}`);
    if (!best || mean > best.mean) best = { ...ck, scores, mean };
  }
  if (!best) throw new Error(`${runDir}: the trainer left no checkpoint`);
  const card = JSON.parse(readFileSync(join(best.dir, 'card.json'), 'utf8')) as Record<string, unknown>;
  card.training = {
    trainer: 'PyTorch reference trainer (bench/reference/train_budget.py) on examples drawn by rhizoct\'s own sampler; same loss, optimiser, schedule, augmentations and batch-norm calibration as `rhizoct train`',
    command: `scripts/train-default.sh (node dist/bench/train-default.js ${process.argv.slice(2).join(' ')})`,
    data: { random: { family: 'random', seeds: `${RANDOM_SEED0}-${RANDOM_SEED0 + nRandom - 1}`, shape: Number(shape) }, presets: PRESET_SCANS.map(([n, s, f]) => ({ name: n, seed: s, family: f, shape: Number(shape) })) },
    examples: count,
    sampling: 'PAPER_SAMPLING (70% near roots, jitter 8, 30% uniform)',
    recipe: { optimizer: 'adam', lr: 0.002, lrFinal: 0.0001, schedule: 'cosine', batch: 2, seed: 7, dice: 0.5, augment: 'flips, quarter turns in y-x, intensity gain and bias ±0.1', steps: best.steps, checkpoints: steps },
    seconds: best.seconds,
  };
  card.validation = { method: 'rhizoct segment + rhizoct eval on held-out scans, all voxels pooled per family', scans: val, scores: best.scores, selectedBy: 'mean Dice (random family weighted 2, medium 1, hard 1)' };
  const tmp = `${out}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  cpSync(join(best.dir, 'model.safetensors'), join(tmp, 'model.safetensors'));
  writeFileSync(join(tmp, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  writeFileSync(join(tmp, 'train-log.json'), `${JSON.stringify(log, null, 1)}\n`);
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  console.log(`installed ${best.steps} steps as ${out} (validation ${best.mean.toFixed(3)})`);
}

await main();
