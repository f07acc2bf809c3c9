/**
 * Corrective annotation, simulated (after RootPainter's simulation benchmark): a soil the base
 * model does poorly on; each round a simulated person paints K corrective strokes on a training
 * scan where the current segmentation is wrong (bench/simulated-annotator.ts), they are written to
 * the scan's labels/annotations, the model fine-tunes on all strokes so far from the previous
 * round's model for a fixed wall time (`rhizoct train --annotations --time-limit`), and held-out
 * scans of the same soil are segmented and scored.
 *
 *   node dist/bench/annotate-loop.js [--from models/default] [--size 96] [--rounds 5] [--strokes 30]
 *        [--seconds 285] [--train 601] [--val 971,972] [--lr 0.001] [--steps 15] [--patience 4] [--keep-base 0]
 *        [--difficulty medium] [--set root.value=0.5 ...] [--out bench/out/annotate-loop] [--plot-only bench/out/annotate-loop]
 *
 * Writes OUT.json (per round: strokes, annotated voxels, training steps and seconds, held-out
 * Dice, precision, recall and recall by root radius) and OUT.png (held-out Dice by round).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openVolume } from '../src/io/open.js';
import { seededRandom } from '../src/nn/models/registry.js';
import { DIFFICULTIES, isDifficulty } from '../src/synth/params.js';
import { writeStrokeLabels } from '../src/pipeline/stroke-labels.js';
import { Canvas, textWidth } from '../src/synth/figure.js';
import { wholeBox } from '../src/volume/box.js';
import { arg } from './args.js';
import { cli, fmtScores, root, scoreHeldOut, type Scores } from './held-out.js';
import { paintCorrections, type StrokeReport } from './simulated-annotator.js';

function args(name: string): string[] {
  return process.argv.flatMap((a, i) => (a === name && process.argv[i + 1] ? [process.argv[i + 1]!] : []));
}

/**
 * Roots brighter than the fines they lie in (0.5 on the generator's scale instead of 0.37: dense,
 * lignified or air-dry roots); the default model, trained on darker roots, misses most of them.
 * Chosen by measurement: held-out Dice of models/default 0.33 on seed 71 (root.value=0.2: 0.38).
 */
const BRIGHT_ROOTS = ['root.value=0.5'];

interface Round {
  round: number;
  strokes: StrokeReport | null;
  annotated: { root: number; notRoot: number };
  training: {
    steps: number;
    seconds: number;
    wallSeconds: number;
    epochs: number;
    valDice: number | null;
    patchesPerSecond: number | null;
  } | null;
  heldOut: Scores;
  trainScan: Scores;
}

async function readMask(path: string, label: string | null): Promise<Uint8Array> {
  const v = await openVolume(path, label ? { label } : {});
  const d = await v.readBox(wholeBox(v.shape));
  await v.close();
  return Uint8Array.from(d as ArrayLike<number>, (x) => (x > 0 ? 1 : 0));
}

function overlap(truth: Uint8Array, pred: Uint8Array): Scores {
  let tp = 0,
    fp = 0,
    fn = 0;
  for (let i = 0; i < truth.length; i++) {
    if (pred[i] && truth[i]) tp++;
    else if (pred[i]) fp++;
    else if (truth[i]) fn++;
  }
  return { dice: (2 * tp) / (2 * tp + fp + fn), precision: tp / (tp + fp), recall: tp / (tp + fn) };
}

function plot(rounds: Round[], path: string, title: string, caption: string): void {
  const W = 560,
    H = 340,
    x0 = 60,
    y0 = 40,
    w = 460,
    h = 230;
  const c = new Canvas(W, H);
  c.text(title, W / 2 - textWidth(title) / 2, 12);
  c.rect(x0, y0, 1, h, [0, 0, 0]);
  c.rect(x0, y0 + h, w, 1, [0, 0, 0]);
  const n = Math.max(1, rounds.length - 1);
  const px = (r: number): number => x0 + Math.round((r / n) * w);
  const py = (d: number): number => y0 + h - Math.round(d * h);
  for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    c.rect(x0 - 4, py(t), 4, 1, [0, 0, 0]);
    c.text(t.toFixed(1), x0 - 30, py(t) - 3);
  }
  for (const t of [0.6, 0.85]) for (let x = x0; x < x0 + w; x += 6) c.rect(x, py(t), 3, 1, t === 0.85 ? [0, 150, 0] : [160, 160, 160]);
  c.text('TARGET 0.85', x0 + w - textWidth('TARGET 0.85') - 4, py(0.85) - 10, [0, 150, 0]);
  rounds.forEach((r) => {
    c.rect(px(r.round), y0 + h, 1, 4, [0, 0, 0]);
    c.text(String(r.round), px(r.round) - 3, y0 + h + 8);
  });
  c.text(caption, x0 + 10, y0 + h + 22);
  const series: { key: 'heldOut' | 'trainScan'; color: [number, number, number]; label: string }[] = [
    { key: 'heldOut', color: [200, 30, 30], label: 'HELD-OUT SCANS DICE' },
    { key: 'trainScan', color: [60, 90, 200], label: 'ANNOTATED SCAN DICE' },
  ];
  series.forEach((s, si) => {
    for (let i = 1; i < rounds.length; i++) {
      const a = rounds[i - 1]!,
        b = rounds[i]!;
      for (const o of [0, 1]) c.line(px(a.round), py(a[s.key].dice) + o, px(b.round), py(b[s.key].dice) + o, s.color);
    }
    for (const r of rounds) c.rect(px(r.round) - 2, py(r[s.key].dice) - 2, 5, 5, s.color);
    c.rect(x0 + 12, y0 + 8 + si * 12, 14, 3, s.color);
    c.text(s.label, x0 + 30, y0 + 6 + si * 12);
  });
  writeFileSync(path, c.png());
}

const caption = (k: number, s: number): string => `ROUND (0 = BASE MODEL; UP TO ${k} STROKES, ${s} S TRAINING EACH)`;

async function main(): Promise<void> {
  const replot = arg('--plot-only', '');
  if (replot) {
    // Redraws OUT.png from a finished run's OUT.json.
    const j = JSON.parse(readFileSync(`${replot}.json`, 'utf8')) as {
      difficulty?: string;
      soil: string[];
      strokesPerRound: number;
      secondsPerRound: number;
      rounds: Round[];
    };
    plot(
      j.rounds,
      `${replot}.png`,
      `CORRECTIVE ANNOTATION, SIMULATED (${[j.difficulty ?? 'medium', ...j.soil].join(' ').toUpperCase()})`,
      caption(j.strokesPerRound, j.secondsPerRound),
    );
    return;
  }
  const from = arg('--from', join(root, 'models/default'));
  const size = arg('--size', '96');
  const rounds = Number(arg('--rounds', '5'));
  const K = Number(arg('--strokes', '30'));
  const seconds = arg('--seconds', '285');
  const lr = arg('--lr', '0.001');
  const steps = arg('--steps', '15');
  const patience = arg('--patience', '4');
  const keepBase = arg('--keep-base', '0');
  const length = Number(arg('--stroke-length', '12'));
  const difficulty = arg('--difficulty', 'medium');
  if (!isDifficulty(difficulty)) throw new Error(`--difficulty must be one of ${DIFFICULTIES.join(', ')}, got ${difficulty}`);
  const soil = args('--set').length > 0 ? args('--set') : BRIGHT_ROOTS;
  const out = arg('--out', join(root, 'bench/out/annotate-loop'));
  const work = mkdtempSync(join(tmpdir(), 'rhizoct-bench-annotate-'));
  const rand = seededRandom(Number(arg('--seed', '1')));
  mkdirSync(join(out, '..'), { recursive: true });
  try {
    const synth = (kind: string, seed: string): string => {
      const p = join(work, `${kind}-${seed}.zarr`);
      cli(['synth', p, '--seed', seed, '--shape', size, '--difficulty', difficulty, ...soil.flatMap((s) => ['--set', s]), '--quiet']);
      return p;
    };
    const scan = synth('annotate', arg('--train', '601'));
    const val = arg('--val', '971,972')
      .split(',')
      .map((s) => synth('val', s));
    console.log(
      `soil: ${difficulty} preset with ${soil.join(' ')}, ${size}³; one scan to annotate, ${val.length} held out; ${rounds} rounds of ${K} strokes, ${seconds} s of training each`,
    );
    const truth = await readMask(scan, 'roots');
    const shape = (await openVolume(scan)).shape as unknown as [number, number, number];
    const annotations = new Uint8Array(truth.length);
    let model = from;
    const history: Round[] = [];
    const cpus = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const result = (): Record<string, unknown> => ({
      date: new Date().toISOString(),
      from,
      size,
      difficulty,
      soil,
      strokesPerRound: K,
      strokeLength: length,
      secondsPerRound: Number(seconds),
      lr,
      steps,
      patience,
      keepBase: Number(keepBase),
      loadAverage: cpus(),
      rounds: history,
    });
    for (let round = 0; round <= rounds; round++) {
      let strokes: StrokeReport | null = null;
      let training: Round['training'] = null;
      const seg = join(work, `annotated-seg.zarr`);
      cli(['segment', scan, seg, '--model', model, '--quiet', '--overwrite']);
      const pred = await readMask(seg, 'roots');
      let trainScan = overlap(truth, pred);
      if (history.length > 0) history[history.length - 1]!.trainScan = trainScan;
      if (round > 0) {
        strokes = paintCorrections(truth, pred, annotations, shape, { strokes: K, length, rand });
        await writeStrokeLabels(scan, annotations);
        const next = join(work, `round-${round}`);
        const t0 = performance.now();
        cli([
          'train',
          '--from',
          model,
          '--data',
          scan,
          '--annotations',
          '--out',
          next,
          '--time-limit',
          seconds,
          '--epochs',
          '1000',
          '--steps',
          steps,
          '--patience',
          patience,
          '--keep-base',
          keepBase,
          '--batch',
          '2',
          '--lr',
          lr,
          '--calibrate-bn',
          '0',
          '--val-patches',
          '64',
          '--seed',
          String(round),
          '--quiet',
        ]);
        const wallSeconds = (performance.now() - t0) / 1000;
        const log = JSON.parse(readFileSync(join(next, 'train-log.json'), 'utf8')) as {
          history: { step: number; seconds: number; val: { dice: number }; patchesPerSecond: number; best?: boolean }[];
        };
        const card = JSON.parse(readFileSync(join(next, 'card.json'), 'utf8')) as { validation?: { dice?: number } };
        const h = log.history;
        training = {
          steps: h[h.length - 1]?.step ?? 0,
          seconds: h.reduce((a, e) => a + e.seconds, 0),
          wallSeconds,
          epochs: h.length,
          valDice: card.validation?.dice ?? null,
          patchesPerSecond: h.length ? h.reduce((a, e) => a + e.patchesPerSecond, 0) / h.length : null,
        };
        model = next;
      }
      const heldOut = scoreHeldOut(model, val, work, '1,2,4');
      if (round === rounds) {
        cli(['segment', scan, seg, '--model', model, '--quiet', '--overwrite']);
        trainScan = overlap(truth, await readMask(seg, 'roots'));
      }
      const annotated = { root: annotations.filter((v) => v === 1).length, notRoot: annotations.filter((v) => v === 2).length };
      history.push({ round, strokes, annotated, training, heldOut, trainScan });
      const t = training
        ? `, trained ${training.steps} steps in ${training.seconds.toFixed(0)} s (${training.wallSeconds.toFixed(0)} s wall, held-out-stroke Dice ${training.valDice?.toFixed(3) ?? '—'})`
        : '';
      const s = strokes
        ? `${strokes.strokes} strokes (${strokes.root} root, ${strokes.notRoot} not root, ${strokes.nearRoot} beside roots), ${annotated.root + annotated.notRoot} voxels painted so far${t}; `
        : '';
      console.log(
        `round ${round}: ${s}held out ${fmtScores(heldOut)}; annotated scan Dice ${round === rounds ? trainScan.dice.toFixed(3) : '(next round)'}`,
      );
      writeFileSync(`${out}.json`, JSON.stringify(result(), null, 2));
      plot(
        history,
        `${out}.png`,
        `CORRECTIVE ANNOTATION, SIMULATED (${[difficulty, ...soil].join(' ').toUpperCase()})`,
        caption(K, Number(seconds)),
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
