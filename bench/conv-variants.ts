/**
 * Times every forward variant of the 3×3×3 convolution (`forwardCandidatesFor`: the default register
 * block, the same with its weights in a uniform buffer, a 4×4 block, the workgroup-tiled kernel) on the default model's inference layer shapes (an
 * 80³ tile and its 32³ context at batch 1), interleaved, medians of --reps, and prints what the
 * adapter's first-use timing chose for each shape (`Gpu.choices`, a fresh cache folder per run so
 * the choice is made here). Ratios are against the default block, measured in the same run.
 *
 *   node dist/bench/conv-variants.js [--reps 5] [--json out.json]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireGpu } from '../src/gpu/acquire.js';
import { fileChoiceStore } from '../src/gpu/kernel-choices-node.js';
import { Tensor } from '../src/nn/tensor.js';
import { conv3d, forwardCandidatesFor, forwardKey } from '../src/nn/ops/conv3d.js';
import { arg, median } from './args.js';

/** [cin, cout, size]: the dual model's 3×3×3 layers at an 80³ tile (full resolution) and a 32³ context. */
const SHAPES: [number, number, number][] = [
  [1, 8, 80],
  [8, 8, 80],
  [8, 16, 40],
  [16, 16, 40],
  [16, 32, 20],
  [32, 32, 20],
  [8, 8, 32],
  [16, 16, 16],
];

async function main(): Promise<void> {
  const reps = Number(arg('--reps', '5'));
  const gpu = await acquireGpu({ choiceStore: fileChoiceStore(mkdtempSync(join(tmpdir(), 'conv-variants-'))) });
  console.log(`adapter: ${gpu.adapter.description || gpu.adapter.device} (${gpu.adapter.backend})`);
  const rows = [];
  for (const [cin, cout, s] of SHAPES) {
    const shape = [1, cin, s, s, s] as const;
    const x = Tensor.fromArray(
      gpu,
      [...shape],
      Float32Array.from({ length: cin * s ** 3 }, (_, i) => Math.sin(i)),
    );
    const w = Tensor.fromArray(
      gpu,
      [cout, cin, 3, 3, 3],
      Float32Array.from({ length: cout * cin * 27 }, (_, i) => Math.cos(i) * 0.1),
    );
    const g = { kernel: 3, stride: 1, padding: 1 };
    // What the first-use timing picks here (it runs each candidate twice itself).
    (await conv3d(x, w, null, g)).release();
    const chosen = gpu.choices.get(forwardKey(cin, cout, [...shape]))!;
    const variants = forwardCandidatesFor(cin, cout, s);
    const ms: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v, []]));
    for (let r = 0; r < reps; r++)
      for (const v of r % 2 ? [...variants].reverse() : variants) {
        await gpu.sync();
        const t0 = performance.now();
        const y = await conv3d(x, w, null, { ...g, variant: v });
        await gpu.sync();
        ms[v]!.push(performance.now() - t0);
        y.release();
      }
    const med = Object.fromEntries(variants.map((v) => [v, median(ms[v]!)]));
    const base = med[variants[0]!]!;
    const gflops = (v: string): number => (2 * cin * cout * 27 * s ** 3) / med[v]! / 1e6;
    console.log(
      `${`${cin}→${cout} @${s}³`.padEnd(14)} ` +
        variants.map((v) => `${v} ${med[v]!.toFixed(1)} ms (${gflops(v).toFixed(1)} GFLOP/s, ×${(base / med[v]!).toFixed(2)})`).join('  ') +
        `  → chosen ${chosen}`,
    );
    rows.push({ cin, cout, size: s, ms: med, chosen });
    x.release();
    w.release();
  }
  const json = arg('--json', '');
  if (json) writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), adapter: gpu.adapter, reps, rows }, null, 2));
  gpu.destroy();
}

await main();
