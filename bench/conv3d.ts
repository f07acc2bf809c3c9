/**
 * Times our conv3d kernels (forward, backward-data, backward-weight) on the layer shapes of the
 * mlmr network and, in the same run, PyTorch's conv3d on the same machine, printing GFLOP/s and
 * ratios. Also measures the device's own FMA ceiling for context.
 *
 *   node dist/bench/conv3d.js [--reps 5] [--torch-device cpu|cuda] [--tf32] [--json out.json] [--quick]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { acquireGpu } from '../src/gpu/acquire.js';
import { packageRoot } from '../src/gpu/shader-source-node.js';
import { Tensor } from '../src/nn/tensor.js';
import { conv3d, conv3dBackwardData, conv3dBackwardWeight } from '../src/nn/ops/conv3d.js';
import { fmaCeiling, timeMedian } from './device-ceiling.js';

interface TorchRun {
  device: string;
  torch: string;
  threads: number;
  results: { fwd_ms: number; bwd_data_ms: number; bwd_weight_ms: number }[];
}

interface Shape {
  name: string;
  n: number;
  cin: number;
  cout: number;
  d: number;
  k: number;
  s: number;
  p: number;
}

const MLMR_SHAPES: Shape[] = [
  { name: '16→16 @64³', n: 1, cin: 16, cout: 16, d: 64, k: 3, s: 1, p: 1 },
  { name: '32→32 @32³', n: 1, cin: 32, cout: 32, d: 32, k: 3, s: 1, p: 1 },
  { name: '128→128 @16³', n: 1, cin: 128, cout: 128, d: 16, k: 3, s: 1, p: 1 },
  { name: '1→16 @128³', n: 1, cin: 1, cout: 16, d: 128, k: 3, s: 1, p: 1 },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const reps = Number(arg('--reps') ?? 5);
  const shapes = process.argv.includes('--quick') ? MLMR_SHAPES.slice(0, 2) : MLMR_SHAPES;
  const gpu = await acquireGpu();
  const ours = [];
  for (const s of shapes) {
    const r = (n: number): Float32Array => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
    const xs = [s.n, s.cin, s.d, s.d, s.d] as const;
    const x = Tensor.fromArray(gpu, xs, r(s.n * s.cin * s.d ** 3));
    const w = Tensor.fromArray(gpu, [s.cout, s.cin, s.k, s.k, s.k], r(s.cout * s.cin * s.k ** 3));
    const g = { kernel: s.k, stride: s.s, padding: s.p };
    const y0 = await conv3d(x, w, null, g);
    const dy = Tensor.fromArray(gpu, y0.shape, r(y0.size));
    const dw = Tensor.empty(gpu, w.shape);
    const fwd = await timeMedian(gpu, reps, async () => (await conv3d(x, w, null, g)).release());
    const bwdData = await timeMedian(gpu, reps, async () => (await conv3dBackwardData(dy, w, xs, g)).release());
    const bwdWeight = await timeMedian(gpu, reps, () => conv3dBackwardWeight(x, dy, dw, g));
    const flops = 2 * s.n * s.cin * s.cout * s.k ** 3 * y0.shape[2] * y0.shape[3] * y0.shape[4];
    ours.push({ shape: s, flops, fwd_ms: fwd, bwd_data_ms: bwdData, bwd_weight_ms: bwdWeight });
    for (const t of [x, w, y0, dy, dw]) t.release();
    gpu.pool.trim();
  }
  const peak = await fmaCeiling(gpu);
  const device = `${gpu.adapter.description || gpu.adapter.device} (${gpu.adapter.backend})`;
  gpu.destroy();

  const torchDevice = arg('--torch-device') ?? 'cpu';
  const pyArgs = [
    join(packageRoot(), 'bench/reference/conv3d_torch.py'),
    JSON.stringify(shapes),
    '--device',
    torchDevice,
    '--reps',
    String(reps),
  ];
  if (process.argv.includes('--tf32')) pyArgs.push('--tf32');
  let torch: TorchRun | null = null;
  try {
    torch = JSON.parse(execFileSync('/usr/bin/python3', pyArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as TorchRun;
  } catch (e) {
    console.error(`PyTorch peer unavailable (${(e as Error).message.split('\n')[0]}); printing ours only`);
  }

  const gf = (flops: number, ms: number): number => flops / ms / 1e6;
  console.log(`rhizoct conv3d: ${device}; device FMA ceiling (fma_peak.wgsl) ${peak.toFixed(1)} GFLOP/s`);
  if (torch)
    console.log(
      `PyTorch ${torch.torch} conv3d on ${torch.device}, ${torch.threads} threads${process.argv.includes('--tf32') ? ', TF32 on' : ''}`,
    );
  console.log('GFLOP/s (median of ' + reps + ')    ours fwd  torch fwd  ratio | ours bwd-data torch  ratio | ours bwd-w torch  ratio');
  const rows = ours.map((o, i) => {
    const t = torch?.results[i];
    const row = {
      shape: o.shape.name,
      ours: { fwd: gf(o.flops, o.fwd_ms), bwd_data: gf(o.flops, o.bwd_data_ms), bwd_weight: gf(o.flops, o.bwd_weight_ms) },
      torch: t ? { fwd: gf(o.flops, t.fwd_ms), bwd_data: gf(o.flops, t.bwd_data_ms), bwd_weight: gf(o.flops, t.bwd_weight_ms) } : null,
      ms: { ours: o, torch: t ?? null },
    };
    const f = (v: number | undefined): string => (v === undefined ? '   -  ' : v.toFixed(2).padStart(7));
    const ratio = (a: number, b: number | undefined): string => (b ? (a / b).toFixed(3).padStart(6) : '   -  ');
    console.log(
      `${o.shape.name.padEnd(22)} ${f(row.ours.fwd)} ${f(row.torch?.fwd)} ${ratio(row.ours.fwd, row.torch?.fwd)} | ${f(row.ours.bwd_data)} ${f(row.torch?.bwd_data)} ${ratio(row.ours.bwd_data, row.torch?.bwd_data)} | ${f(row.ours.bwd_weight)} ${f(row.torch?.bwd_weight)} ${ratio(row.ours.bwd_weight, row.torch?.bwd_weight)}`,
    );
    return row;
  });
  const out = arg('--json') ?? join(packageRoot(), 'bench/out/conv3d.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        device,
        fmaPeakGflops: peak,
        torch: torch && { device: torch.device, version: torch.torch, threads: torch.threads },
        rows,
      },
      null,
      2,
    ),
  );
  console.log(`wrote ${out}`);
}

await main();
