/**
 * Does a model work on scans it was not made from? Scores models side by side with rhizoct's own
 * `segment` + `eval` (all voxels of a set pooled, recall by root radius) on:
 *   - the random family, held-out seeds (950001…) neither trained nor validated on;
 *   - the presets' held-out scans (seeds 1001, 1002: the project's long-standing held-out set);
 *   - scans of the independent test generator (bench/independent/generate.py: other code, other
 *     physics of soil and roots; never used for training or tuning), four kinds.
 *
 *   node dist/bench/generalisation.js [--models models/default,/tmp/model-old] [--segment-args "--scales 0"]
 *     [--sets random,medium,hard,easy,loam,sand,peat,air] [--size 96] [--work /tmp/rhizoct-generalisation]
 * Each model may carry its own segment arguments after a colon: `models/default:--scales 0` (a comma
 * followed by a digit stays with them: `/tmp/m:--scales 0,1`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { arg, modelList } from './args.js';
import { cli, fmtScores, type HeldOut, root, scoreHeldOut, type Scores } from './held-out.js';

const INDEPENDENT_KINDS = ['loam', 'sand', 'peat', 'air'];

function heldOutSet(name: string, size: string, work: string): HeldOut[] {
  if (name === 'random' || name === 'medium' || name === 'hard' || name === 'easy') {
    const seeds = name === 'random' ? ['950001', '950002', '950003', '950004', '950005', '950006'] : ['1001', '1002'];
    return seeds.map((s) => {
      const p = join(work, `${name}-${s}-${size}.zarr`);
      if (!existsSync(p)) cli(['synth', p, '--seed', s, '--shape', size, '--difficulty', name, '--quiet']);
      return p;
    });
  }
  if (!INDEPENDENT_KINDS.includes(name)) throw new Error(`unknown set ${name}`);
  return ['1', '2'].map((s) => {
    const dir = join(work, `independent-${name}-${s}-${size}`);
    if (!existsSync(join(dir, 'roots.nii.gz'))) {
      execFileSync('/usr/bin/python3', [join(root, 'bench/independent/generate.py'), dir, '--seed', s, '--kind', name, '--shape', size], {
        stdio: 'inherit',
      });
    }
    return { scan: join(dir, 'scan.nii.gz'), truth: join(dir, 'roots.nii.gz') };
  });
}

function main(): void {
  const work = arg('--work', '/tmp/rhizoct-generalisation');
  const size = arg('--size', '96');
  const sets = arg('--sets', ['random', 'medium', 'hard', 'easy', ...INDEPENDENT_KINDS].join(',')).split(',');
  const models = modelList(arg('--models', 'models/default'));
  mkdirSync(work, { recursive: true });
  const data = Object.fromEntries(sets.map((s) => [s, heldOutSet(s, size, work)]));
  const rows: { model: string; segmentArgs: string[]; set: string; scores: Scores; seconds: number }[] = [];
  for (const m of models) {
    const [model, extra] = m.split(':');
    const segmentArgs = extra ? extra.trim().split(/\s+/) : [];
    for (const s of sets) {
      const t0 = performance.now();
      const scores = scoreHeldOut(model!, data[s]!, work, '1,2,4', segmentArgs);
      const seconds = (performance.now() - t0) / 1000;
      rows.push({ model: model!, segmentArgs, set: s, scores, seconds });
      console.log(`${m.padEnd(28)} ${s.padEnd(7)} ${fmtScores(scores)} (${seconds.toFixed(0)} s)`);
    }
  }
  mkdirSync(join(root, 'bench/out'), { recursive: true });
  const out = join(root, 'bench/out/generalisation.json');
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), size: Number(size), sets: data, rows }, null, 2));
  console.log(`wrote ${out}`);
}

main();
