/**
 * Trains the default architecture on the random synth family (an experiment; models/default is
 * still made by scripts/train-default.sh, see bench/RESULTS.md): synthesises the training scans (the random
 * family, seeds 10001…, plus one scan of each preset family's kind), draws a bank of examples with
 * rhizoct's own sampler, trains the default dual architecture on it with the PyTorch reference
 * trainer (bench/reference/train_budget.py: the same loss, optimiser, schedule, augmentations and
 * batch-norm calibration as `rhizoct train`, 14× its step rate on this CPU), scores every
 * checkpoint with rhizoct's own `segment` + `eval` on held-out validation scans (random family
 * seeds 900001…, medium 901, hard 902) and installs the best one with a card that records the
 * trainer, data, recipe and validation. Run by scripts/train-random.sh.
 *
 *   node dist/bench/train-random.js [--work /tmp/rhizoct-train-random] [--random 48] [--shape 128]
 *     [--examples 5000] [--steps 2000,4000,6000,8000] [--stop N] [--anneal N] [--threads 2] [--out /tmp/rhizoct-random-model]
 *     [--val-random 4] [--init MODEL] [--ignore-thin R] [--lr 0.002] [--lr-final 0.0001] [--preset-examples N]
 *     [--widths 8,16,32] [--low-widths 8,16] [--val-scales 0] [--coarse-examples N] [--coarse-random N]
 *     [--permute-axes]
 * --init starts from a saved model's weights (fine-tuning, e.g. from models/default) instead of a
 * fresh initialisation; --ignore-thin R leaves roots thinner than R voxels (and a voxel around them)
 * out of the loss, so labels the scan barely shows do not dominate what the network is asked.
 * --preset-examples N draws N more examples from the preset scans alone into a second bank pooled
 * with the first, so the presets' share of training is not only their 4 of 52 scans.
 * --extra-presets FAMILY:SEED,… adds preset scans to that second bank only (the first bank, and so
 * the recipe of earlier models, is unchanged), e.g. easy:302 where one family steps back.
 * --widths / --low-widths train a wider network; with --init the saved model is widened first, its
 * function unchanged (bench/reference/rhizoct_models.py widen), so training starts from its answers.
 * --coarse-examples N draws N more examples from levels 1 and 2 of four 256³ preset scans (seeds 111,
 * 112 medium, 211 hard, 311 easy; bench/coarse-scans.ts), pooled too: what a soil looks like where
 * multi-scale segmentation shows it averaged. --coarse-random N adds N 256³ random-family scans
 * (seeds 20001…) to those, so the averaged soils are not only the presets'.
 * --val-scales: the pyramid levels `segment` runs the checkpoints at for validation: full resolution
 * by default (what the trainer teaches; fusing coarse levels halved the precision of a model that
 * learned the random family, bench/RESULTS.md), `auto` to score them as `segment` runs by default.
 * --stop N ends the cosine schedule of --steps early, at step N (a checkpoint must be listed there);
 * --anneal N then trains N more steps from that checkpoint, the rate decaying on a cosine from where
 * the schedule had reached to the final rate (how the shipped model was made when time ran short).
 * --permute-axes draws the order of each example's axes too, so thick roots that ran along z in the
 * scans are also seen running across the patch (the bean's laterals, bench/RESULTS.md).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_NORMALISATION, PRESETS } from '../src/nn/models/registry.js';
import type { DualConfig } from '../src/nn/models/dual.js';
import { arg } from './args.js';
import { coarseCopy } from './coarse-scans.js';
import { dumpExamples } from './example-bank.js';
import { cli, fmtScores, root, scoreHeldOut, type Scores } from './held-out.js';

/** The preset scans kept in the training set, so the presets' scores do not step back. */
const PRESET_SCANS: [string, number, string][] = [
  ['train-m1', 101, 'medium'],
  ['train-m2', 102, 'medium'],
  ['train-h1', 201, 'hard'],
  ['train-e1', 301, 'easy'],
];
/** Preset scans whose pyramid levels COARSE_LEVELS are drawn from with --coarse-examples. */
const COARSE_SHAPE = 256;
const COARSE_LEVELS = [1, 2];
const COARSE_SCANS: [string, number, string][] = [
  ['coarse-m1', 111, 'medium'],
  ['coarse-m2', 112, 'medium'],
  ['coarse-h1', 211, 'hard'],
  ['coarse-e1', 311, 'easy'],
];
/** First seed of the 256³ random-family scans added to the coarse scans with --coarse-random N. */
const COARSE_RANDOM_SEED0 = 20001;
const RANDOM_SEED0 = 10001;
const VAL_RANDOM_SEED0 = 900001;

const PRESET_FAMILIES = ['medium', 'hard', 'easy'];

/** `easy:302,hard:202` → scans named like PRESET_SCANS' (train-e302, train-h202). */
function parseExtraPresets(text: string): [string, number, string][] {
  if (!text) return [];
  return text.split(',').map((item) => {
    const [family, seed] = item.split(':');
    if (!PRESET_FAMILIES.includes(family!) || !/^\d+$/.test(seed ?? ''))
      throw new Error(`--extra-presets: '${item}' is not FAMILY:SEED with FAMILY one of ${PRESET_FAMILIES.join(', ')}`);
    const known = PRESET_SCANS.find(([, s]) => s === Number(seed));
    if (known) throw new Error(`--extra-presets: seed ${seed} is already ${known[0]}`);
    return [`train-${family![0]}${seed}`, Number(seed), family!];
  });
}

function synth(path: string, seed: number, family: string, shape: string): string {
  if (!existsSync(path)) cli(['synth', path, '--seed', String(seed), '--difficulty', family, '--shape', shape, '--quiet']);
  return path;
}

interface Log {
  checkpoints: { steps: number; seconds: number; dir: string }[];
}

async function main(): Promise<void> {
  const work = arg('--work', '/tmp/rhizoct-train-random');
  const nRandom = Number(arg('--random', '48'));
  const shape = arg('--shape', '128');
  const count = Number(arg('--examples', '5000'));
  const steps = arg('--steps', '2000,4000,6000,8000');
  const valScales = arg('--val-scales', '0');
  const out = resolve(arg('--out', '/tmp/rhizoct-random-model'));
  const widths = arg('--widths', '');
  const lowWidths = arg('--low-widths', '');
  const config: DualConfig = {
    ...(PRESETS.dual as DualConfig),
    ...(widths ? { widths: widths.split(',').map(Number) } : {}),
    ...(lowWidths ? { lowWidths: lowWidths.split(',').map(Number) } : {}),
  };
  mkdirSync(work, { recursive: true });

  const t0 = performance.now();
  const scans: string[] = [];
  for (let i = 0; i < nRandom; i++) scans.push(synth(join(work, `random-${RANDOM_SEED0 + i}.zarr`), RANDOM_SEED0 + i, 'random', shape));
  for (const [name, seed, family] of PRESET_SCANS) scans.push(synth(join(work, `${name}.zarr`), seed, family, shape));
  const val: Record<string, string[]> = {
    random: Array.from({ length: Number(arg('--val-random', '4')) }, (_, i) =>
      synth(join(work, `val-random-${VAL_RANDOM_SEED0 + i}.zarr`), VAL_RANDOM_SEED0 + i, 'random', '96'),
    ),
    medium: [synth(join(work, 'val-m.zarr'), 901, 'medium', '96')],
    hard: [synth(join(work, 'val-h.zarr'), 902, 'hard', '96')],
  };
  console.error(`scans ready (${((performance.now() - t0) / 1000).toFixed(0)} s)`);

  const bank = join(work, `bank-${nRandom}r-${shape}-${count}`);
  await dumpExamples({ scans, config, count, seed: 7, centres: 'volume', skeleton: false }, bank);
  const presetCount = Number(arg('--preset-examples', '0'));
  const extraPresets = parseExtraPresets(arg('--extra-presets', ''));
  if (extraPresets.length > 0 && presetCount === 0) throw new Error('--extra-presets needs --preset-examples');
  const extraTag = extraPresets.length > 0 ? `-x${extraPresets.map(([, s]) => s).join('_')}` : '';
  const presetBank = join(work, `bank-presets-${shape}-${presetCount}${extraTag}`);
  if (presetCount > 0) {
    const extra = extraPresets.map(([name, seed, family]) => synth(join(work, `${name}.zarr`), seed, family, shape));
    await dumpExamples(
      { scans: [...scans.slice(nRandom), ...extra], config, count: presetCount, seed: 8, centres: 'volume', skeleton: false },
      presetBank,
    );
  }
  // Examples of soils as multi-scale segmentation shows them at levels 1 and 2.
  const coarseCount = Number(arg('--coarse-examples', '0'));
  const coarseRandom = Number(arg('--coarse-random', '0'));
  const coarseScans: [string, number, string][] = [
    ...COARSE_SCANS,
    ...Array.from({ length: coarseRandom }, (_, i): [string, number, string] => [
      `coarse-r${COARSE_RANDOM_SEED0 + i}`,
      COARSE_RANDOM_SEED0 + i,
      'random',
    ]),
  ];
  const coarseBank = join(work, `bank-coarse-${coarseCount}${coarseRandom > 0 ? `-r${coarseRandom}` : ''}`);
  if (coarseCount > 0) {
    const coarse: string[] = [];
    for (const [name, seed, family] of coarseScans) {
      const full = synth(join(work, `${name}-${COARSE_SHAPE}.zarr`), seed, family, String(COARSE_SHAPE));
      for (const level of COARSE_LEVELS)
        coarse.push(await coarseCopy(full, level, join(work, `${name}-${COARSE_SHAPE}-level${level}.zarr`)));
    }
    await dumpExamples({ scans: coarse, config, count: coarseCount, seed: 9, centres: 'volume', skeleton: false }, coarseBank);
  }
  const banks = [bank, ...(presetCount > 0 ? [presetBank] : []), ...(coarseCount > 0 ? [coarseBank] : [])].join(',');
  // Phase 1: a cosine schedule over the last of --steps, stopped early at --stop if given;
  // phase 2 (--anneal N): N more steps from the rate reached there down to the final rate.
  const lr0 = Number(arg('--lr', '0.002'));
  const lr1 = Number(arg('--lr-final', '0.0001'));
  const init = arg('--init', '');
  const ignoreThin = Number(arg('--ignore-thin', '0'));
  // GAIN,BIAS,GAMMA: the reference trainer's wide intensity augmentation (see train_budget.py).
  const intensity = arg('--intensity', '');
  const [gainReach, biasReach, gammaReach] = intensity.split(',');
  // Every example also in one of the 6 orders of its axes (the reference trainer's --permute-axes).
  const permuteAxes = process.argv.includes('--permute-axes');
  const schedule = steps.split(',').map(Number);
  const total = schedule[schedule.length - 1]!;
  const stop = Number(arg('--stop', String(total)));
  const anneal = Number(arg('--anneal', '0'));
  const variant = `${presetCount > 0 ? `-p${presetCount}${extraTag}` : ''}${coarseCount > 0 ? `-c${coarseCount}` : ''}${coarseRandom > 0 ? `-cr${coarseRandom}` : ''}${init ? '-ft' : ''}${ignoreThin > 0 ? `-it${ignoreThin}` : ''}${intensity ? `-i${intensity.replaceAll(',', '_')}` : ''}${permuteAxes ? '-pa' : ''}${lr0 !== 0.002 ? `-lr${lr0}` : ''}${widths || lowWidths ? `-w${config.widths.join('_')}-lw${config.lowWidths.join('_')}` : ''}`;
  const runDir = join(work, `run-${nRandom}r-${count}-${steps.replaceAll(',', '_')}${variant}`);
  const baseCard = { format: 'rhizoct-model', version: 1, config, normalisation: DEFAULT_NORMALISATION };
  const threads = arg('--threads', '2');
  /** Runs the trainer in `dir` unless a checkpoint at step `last` is already there. */
  const train = (dir: string, last: number, args: string[]): Log => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'card.base.json'), JSON.stringify(baseCard));
    const done = (): Log | null =>
      existsSync(join(dir, 'log.json')) ? (JSON.parse(readFileSync(join(dir, 'log.json'), 'utf8')) as Log) : null;
    if (!done()?.checkpoints.some((c) => c.steps === last)) {
      const extra = [
        ...(ignoreThin > 0 ? ['--ignore-thin', String(ignoreThin)] : []),
        ...(intensity ? ['--intensity', intensity] : []),
        ...(permuteAxes ? ['--permute-axes'] : []),
      ];
      execFileSync(
        '/usr/bin/python3',
        [
          join(root, 'bench/reference/train_budget.py'),
          banks,
          join(dir, 'card.base.json'),
          dir,
          '--batch',
          '2',
          '--seed',
          '7',
          '--threads',
          threads,
          ...extra,
          ...args,
        ],
        { stdio: 'inherit' },
      );
    }
    return done()!;
  };
  const phase1 = train(runDir, stop, [
    '--steps',
    steps,
    '--lr',
    String(lr0),
    '--lr-final',
    String(lr1),
    ...(init ? ['--init', resolve(init)] : []),
    ...(stop < total ? ['--stop', String(stop)] : []),
  ]);
  const checkpoints = [...phase1.checkpoints];
  if (anneal > 0) {
    const reached = lr1 + (lr0 - lr1) * 0.5 * (1 + Math.cos((Math.PI * (stop - 1)) / total));
    const annealFrom = checkpoints.find((c) => c.steps === stop)?.dir ?? null;
    if (!annealFrom) throw new Error(`--anneal needs a checkpoint at step ${stop} in ${runDir}`);
    const phase2 = train(`${runDir}-stop${stop}-anneal${anneal}`, anneal, [
      '--init',
      annealFrom,
      '--steps',
      `${anneal / 2},${anneal}`,
      '--lr',
      reached.toPrecision(4),
      '--lr-final',
      String(lr1),
    ]);
    const before = phase1.checkpoints.find((c) => c.steps === stop)!.seconds;
    checkpoints.push(...phase2.checkpoints.map((c) => ({ ...c, steps: stop + c.steps, seconds: before + c.seconds })));
  }

  // A fine-tune's starting point is scored too: the run must beat it to be worth installing.
  if (init) checkpoints.unshift({ steps: 0, seconds: 0, dir: resolve(init) });
  let best: { steps: number; seconds: number; dir: string; scores: Record<string, Scores>; mean: number } | null = null;
  for (const ck of checkpoints) {
    const scores: Record<string, Scores> = {};
    for (const [k, v] of Object.entries(val)) scores[k] = scoreHeldOut(ck.dir, v, runDir, undefined, ['--scales', valScales]);
    // Validation: mean Dice over the families, the random family counting as much as the presets together.
    const mean = (2 * scores.random!.dice + scores.medium!.dice + scores.hard!.dice) / 4;
    console.log(
      `${ck.steps} steps: ${Object.entries(scores)
        .map(([k, s]) => `${k} ${fmtScores(s)}`)
        .join(' | ')} → ${mean.toFixed(3)}`,
    );
    if (!best || mean > best.mean) best = { ...ck, scores, mean };
  }
  if (!best) throw new Error(`${runDir}: the trainer left no checkpoint`);
  const card = JSON.parse(readFileSync(join(best.dir, 'card.json'), 'utf8')) as Record<string, unknown>;
  card.training = {
    trainer:
      "PyTorch reference trainer (bench/reference/train_budget.py) on examples drawn by rhizoct's own sampler; same loss, optimiser, schedule, augmentations and batch-norm calibration as `rhizoct train`",
    command: `scripts/train-random.sh (node dist/bench/train-random.js ${process.argv.slice(2).join(' ')})`,
    data: {
      random: { family: 'random', seeds: `${RANDOM_SEED0}-${RANDOM_SEED0 + nRandom - 1}`, shape: Number(shape) },
      presets: PRESET_SCANS.map(([n, s, f]) => ({ name: n, seed: s, family: f, shape: Number(shape) })),
      presetBankOnly: extraPresets.map(([n, s, f]) => ({ name: n, seed: s, family: f, shape: Number(shape) })),
    },
    examples: count,
    presetExamples: presetCount,
    coarseExamples:
      coarseCount > 0
        ? {
            count: coarseCount,
            scans: coarseScans.map(([n, s, f]) => ({ name: n, seed: s, family: f, shape: COARSE_SHAPE, levels: COARSE_LEVELS })),
          }
        : null,
    init: init ? { model: init, card: JSON.parse(readFileSync(join(init, 'card.json'), 'utf8')).training?.command ?? null } : null,
    ignoreThinRadius: ignoreThin > 0 ? ignoreThin : null,
    sampling: 'PAPER_SAMPLING (70% near roots, jitter 8, 30% uniform)',
    recipe: {
      optimizer: 'adam',
      lr: lr0,
      lrFinal: lr1,
      batch: 2,
      seed: 7,
      dice: 0.5,
      augment: `flips, quarter turns in y-x${permuteAxes ? ', any order of the axes' : ''}${
        intensity
          ? `; intensity gain log-uniform in [1/${gainReach}, ${gainReach}], bias ±${biasReach}, gamma log-uniform in [1/${gammaReach}, ${gammaReach}]`
          : ', intensity gain and bias ±0.1'
      }`,
      steps: best.steps,
      schedule:
        anneal > 0
          ? `cosine over ${total} steps stopped at ${stop}, then ${anneal} steps annealed on a cosine from the rate reached there to ${lr1}`
          : `cosine over ${total} steps`,
    },
    seconds: best.seconds,
  };
  card.validation = {
    method: `rhizoct segment --scales ${valScales} + rhizoct eval on held-out scans, all voxels pooled per family`,
    scans: val,
    scores: best.scores,
    selectedBy: 'mean Dice (random family weighted 2, medium 1, hard 1)',
  };
  const tmp = `${out}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  cpSync(join(best.dir, 'model.safetensors'), join(tmp, 'model.safetensors'));
  writeFileSync(join(tmp, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  writeFileSync(join(tmp, 'train-log.json'), `${JSON.stringify({ phase1: phase1, checkpoints }, null, 1)}\n`);
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  console.log(`installed ${best.steps} steps as ${out} (validation ${best.mean.toFixed(3)})`);
}

await main();
