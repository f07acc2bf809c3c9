/**
 * Segments a synthetic scan with a model (default models/default) with our WGSL pipeline and, in
 * the same run, with the PyTorch reference of the same network, weights and tiling
 * (bench/reference/segment_torch.py), printing voxels/s for both, the ratio, peak RSS, and how far
 * the two probability maps differ.
 *
 *   node dist/bench/segment.js [--size 128] [--model models/default] [--torch-device cpu|cuda]
 *   node dist/bench/segment.js --rss 256,1024 --stop-after 24   (resident memory vs volume size)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/gpu/shader-source-node.js';
import { openVolume } from '../src/io/open.js';
import { wholeBox } from '../src/volume/box.js';
import { arg } from './args.js';

const root = packageRoot();
const cli = (args: string[]): string => execFileSync(process.execPath, [join(root, 'bin/rhizoct.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

async function main(): Promise<void> {
  const model = arg('--model', join(root, 'models/default'));
  const work = mkdtempSync(join(tmpdir(), 'rhizoct-bench-seg-'));
  try {
    if (process.argv.includes('--rss')) {
      const sizes = arg('--rss', '256,1024').split(',').map(Number);
      const stop = arg('--stop-after', '24');
      console.log(`peak RSS of rhizoct segment vs input size (first ${stop} chunks of 64³; ${model})`);
      for (const n of sizes) {
        const scan = join(work, `scan${n}.zarr`);
        cli(['synth', scan, '--seed', '5', '--shape', String(n), '--difficulty', 'medium', '--quiet']);
        const s = JSON.parse(cli(['segment', scan, join(work, `seg${n}.zarr`), '--model', model, '--quiet', '--json', '--stop-after', stop])) as { peakRssMiB: number; voxelsPerSecond: number; chunks: { written: number } };
        console.log(`${String(n).padStart(5)}³: peak RSS ${s.peakRssMiB.toFixed(0)} MiB, ${s.chunks.written} chunks, ${(s.voxelsPerSecond / 1e3).toFixed(1)} kvoxel/s`);
        rmSync(scan, { recursive: true, force: true });
      }
      return;
    }
    const size = Number(arg('--size', '128'));
    const scan = join(work, 'scan.zarr');
    cli(['synth', scan, '--seed', '11', '--shape', String(size), '--difficulty', 'medium', '--quiet']);
    const ours = JSON.parse(cli(['segment', scan, join(work, 'seg.zarr'), '--model', model, '--quiet', '--json'])) as { voxelsPerSecond: number; seconds: number; peakRssMiB: number; gpuSeconds: number | null; device: string };
    const probsPath = join(work, 'torch.u8');
    const torch = JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'bench/reference/segment_torch.py'), scan, model, '--device', arg('--torch-device', 'cpu'), '--out', probsPath], { encoding: 'utf8' })) as { voxels_per_second: number; seconds: number; device: string; torch: string };
    const ourProb = await openVolume(join(work, 'seg.zarr'));
    const a = (await ourProb.readBox(wholeBox(ourProb.shape))) as Uint8Array;
    const b = new Uint8Array(readFileSync(probsPath));
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    const result = { date: new Date().toISOString(), size, model, ours, torch, ratio: ours.voxelsPerSecond / torch.voxels_per_second, maxProbabilityDifference255: maxDiff };
    console.log(`scan ${size}³ (synthetic, medium), model ${model}`);
    console.log(`ours   ${ours.device}: ${(ours.voxelsPerSecond / 1e3).toFixed(1)} kvoxel/s (${ours.seconds.toFixed(1)} s, GPU ${ours.gpuSeconds?.toFixed(1) ?? '-'} s), peak RSS ${ours.peakRssMiB.toFixed(0)} MiB`);
    console.log(`torch  ${torch.device}, PyTorch ${torch.torch}: ${(torch.voxels_per_second / 1e3).toFixed(1)} kvoxel/s (${torch.seconds.toFixed(1)} s)`);
    console.log(`ratio  ${result.ratio.toFixed(3)} (ours / PyTorch); probabilities differ by at most ${maxDiff}/255`);
    mkdirSync(join(root, 'bench/out'), { recursive: true });
    writeFileSync(arg('--json', join(root, 'bench/out/segment.json')), JSON.stringify(result, null, 2));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
