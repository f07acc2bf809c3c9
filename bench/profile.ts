/**
 * Where the time of one inference batch and one training step of a model goes: wall time, GPU time
 * per kernel label (timestamp queries), and counts of dispatches, submits, uploads, readbacks and
 * buffers created. Medians over repetitions after a warm-up.
 *
 *   node dist/bench/profile.js [--model models/default] [--batch 4] [--train-batch 2] [--reps 3]
 */
import { join } from 'node:path';
import { acquireGpu } from '../src/gpu/acquire.js';
import type { Gpu } from '../src/gpu/gpu.js';
import { packageRoot } from '../src/gpu/shader-source-node.js';
import { loadModel } from '../src/nn/models/registry.js';
import { predictFused } from '../src/nn/models/infer.js';
import type { SegmentationModel } from '../src/nn/models/model.js';
import { Optimizer } from '../src/nn/train/optimizer.js';
import { Trainer } from '../src/nn/train/trainer.js';
import { PAPER_LOSS } from '../src/nn/train/losses.js';
import type { Example } from '../src/nn/train/examples.js';
import { arg, median } from './args.js';

interface Profile {
  wallS: number;
  gpuS: number;
  counts: Record<string, number>;
  byLabel: [string, number, number][];
}

async function profile(gpu: Gpu, reps: number, fn: () => Promise<void>): Promise<Profile> {
  await fn();
  const runs: Profile[] = [];
  for (let r = 0; r < reps; r++) {
    const c0 = { ...gpu.counters, created: gpu.pool.created };
    const t0 = performance.now();
    const t = await gpu.timed(fn);
    const wallS = (performance.now() - t0) / 1000;
    const c1 = { ...gpu.counters, created: gpu.pool.created };
    const counts = Object.fromEntries(Object.entries(c1).map(([k, v]) => [k, v - c0[k as keyof typeof c0]]));
    const byLabel = [...t.byLabel]
      .map(([l, ns]) => [l, ns / 1e9, t.countByLabel.get(l) ?? 0] as [string, number, number])
      .sort((a, b) => b[1] - a[1]);
    runs.push({ wallS, gpuS: (t.gpuNs ?? 0) / 1e9, counts, byLabel });
  }
  const mid = runs.map((r, i) => [r.wallS, i] as const).sort((a, b) => a[0] - b[0])[Math.floor(runs.length / 2)]![1];
  return { ...runs[mid]!, wallS: median(runs.map((r) => r.wallS)), gpuS: median(runs.map((r) => r.gpuS)) };
}

function print(title: string, p: Profile): void {
  console.log(`\n${title}: wall ${p.wallS.toFixed(3)} s, GPU (sum of pass times) ${p.gpuS.toFixed(3)} s`);
  console.log(
    `  counts: ${Object.entries(p.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  for (const [label, s, n] of p.byLabel.slice(0, 30))
    console.log(`  ${((100 * s) / p.gpuS).toFixed(1).padStart(5)}%  ${s.toFixed(4)} s  ×${String(n).padStart(3)}  ${label}`);
}

function randomExample(model: SegmentationModel): Example {
  const g = model.geometry;
  const cube = (n: number, f: () => number): Float32Array => Float32Array.from({ length: n ** 3 }, f);
  return {
    high: cube(g.highInput, () => Math.random() * 2 - 1),
    low: g.lowScale === 1 ? null : cube(g.lowInput, () => Math.random() * 2 - 1),
    tLow: cube(g.lowTarget / g.lowTargetScale, () => (Math.random() < 0.1 ? 1 : 0)),
    tHigh: cube(g.highOutput, () => (Math.random() < 0.1 ? 1 : 0)),
    tFused: cube(g.output, () => (Math.random() < 0.1 ? 1 : 0)),
    wSkeleton: null,
  };
}

async function main(): Promise<void> {
  const gpu = await acquireGpu();
  const reps = Number(arg('--reps', '3'));
  const { model } = await loadModel(gpu, arg('--model', join(packageRoot(), 'models/default')));
  console.log(`device: ${gpu.adapter.description || gpu.adapter.device} (${gpu.adapter.backend}); timestamps ${gpu.hasTimestamps}`);
  const batch = Number(arg('--batch', '4'));
  const exs = Array.from({ length: batch }, () => randomExample(model));
  print(
    `inference, batch ${batch}`,
    await profile(gpu, reps, async () => {
      await predictFused(
        gpu,
        model,
        exs.map((e) => e.high),
        exs.map((e) => e.low),
      );
    }),
  );
  const tb = Number(arg('--train-batch', '2'));
  const trainer = new Trainer(gpu, model, new Optimizer(model.parameters(), { kind: 'adam', lr: 1e-3 }), PAPER_LOSS);
  const texs = exs.slice(0, tb);
  print(
    `training step, batch ${tb}`,
    await profile(gpu, reps, async () => {
      await trainer.step(texs);
    }),
  );
  gpu.destroy();
}

await main();
