/**
 * One training step (forward, the three heads' BCE, backward, Adam) of each architecture preset:
 * ours (WGSL) and the PyTorch peer on the same machine in one run, patches/s and memory.
 *
 *   node dist/bench/train.js [--batch 2] [--reps 3] [--presets dual,mlmr] [--torch-device cpu|cuda]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireGpu } from '../src/gpu/acquire.js';
import { packageRoot } from '../src/gpu/shader-source-node.js';
import { buildModel, PRESETS, type ModelConfig } from '../src/nn/models/registry.js';
import { Optimizer } from '../src/nn/train/optimizer.js';
import { Trainer } from '../src/nn/train/trainer.js';
import { PAPER_LOSS } from '../src/nn/train/losses.js';
import type { Example } from '../src/nn/train/examples.js';
import { arg } from './args.js';

interface TorchStep {
  step_seconds: number;
  patches_per_second: number;
  peak_memory_mib: number;
  memory_kind: string;
  device: string;
}

async function main(): Promise<void> {
  const batch = Number(arg('--batch', '2'));
  const reps = Number(arg('--reps', '3'));
  const presets = arg('--presets', 'dual,mlmr').split(',');
  const gpu = await acquireGpu();
  const device = `${gpu.adapter.description || gpu.adapter.device} (${gpu.adapter.backend})`;
  const rows = [];
  for (const name of presets) {
    const config = PRESETS[name] as ModelConfig;
    const model = buildModel(gpu, config, 1);
    const g = model.geometry;
    const cube = (n: number, f: () => number): Float32Array => Float32Array.from({ length: n ** 3 }, f);
    const ex = (): Example => ({
      high: cube(g.highInput, () => Math.random() * 2 - 1),
      low: g.lowScale === 1 ? null : cube(g.lowInput, () => Math.random() * 2 - 1),
      tLow: cube(g.lowTarget / g.lowTargetScale, () => (Math.random() < 0.1 ? 1 : 0)),
      tHigh: cube(g.highOutput, () => (Math.random() < 0.1 ? 1 : 0)),
      tFused: cube(g.output, () => (Math.random() < 0.1 ? 1 : 0)),
      wSkeleton: null,
    });
    const examples = Array.from({ length: batch }, ex);
    const trainer = new Trainer(gpu, model, new Optimizer(model.parameters(), { kind: 'adam', lr: 1e-3 }), PAPER_LOSS);
    gpu.pool.trim();
    gpu.pool.peakBytesLive = gpu.pool.stats().live;
    await trainer.step(examples);
    const ts: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await trainer.step(examples);
      ts.push((performance.now() - t0) / 1000);
    }
    ts.sort((a, b) => a - b);
    const step = ts[Math.floor(ts.length / 2)]!;
    const oursMem = gpu.pool.stats().peakLive / 2 ** 20;
    model.clear();
    let torch: TorchStep | null = null;
    try {
      torch = JSON.parse(
        execFileSync(
          '/usr/bin/python3',
          [
            join(packageRoot(), 'bench/reference/train_torch.py'),
            JSON.stringify(config),
            '--device',
            arg('--torch-device', 'cpu'),
            '--batch',
            String(batch),
            '--reps',
            String(reps),
          ],
          { encoding: 'utf8' },
        ),
      ) as TorchStep;
    } catch (e) {
      console.error(`PyTorch peer failed: ${(e as Error).message.split('\n')[0]}`);
    }
    const row = { preset: name, config, batch, ours: { stepSeconds: step, patchesPerSecond: batch / step, gpuMemoryMiB: oursMem }, torch };
    rows.push(row);
    console.log(
      `${name.padEnd(5)} batch ${batch}: ours ${row.ours.patchesPerSecond.toFixed(3)} patches/s (${step.toFixed(2)} s/step, ${oursMem.toFixed(0)} MiB GPU buffers) | PyTorch ${torch ? `${torch.patches_per_second.toFixed(3)} patches/s (${torch.peak_memory_mib.toFixed(0)} MiB ${torch.memory_kind}) | ratio ${(row.ours.patchesPerSecond / torch.patches_per_second).toFixed(3)}` : 'n/a'}`,
    );
  }
  gpu.destroy();
  mkdirSync(join(packageRoot(), 'bench/out'), { recursive: true });
  writeFileSync(join(packageRoot(), 'bench/out/train.json'), JSON.stringify({ date: new Date().toISOString(), device, rows }, null, 2));
  console.log(`device: ${device}`);
}

await main();
