/**
 * Segments a synthetic scan with a model (default models/default) with our WGSL pipeline and, in
 * the same run, with the PyTorch reference of the same network, weights and tiling
 * (bench/reference/segment_torch.py), printing voxels/s for both, the ratio, peak RSS, and how far
 * the two probability maps differ.
 *
 *   node dist/bench/segment.js [--size 128] [--model models/default] [--torch-device cpu|cuda]
 *       [--reps 3] [--tiles 32,64] [--torch-threads 2,1]
 * Both sides run at full resolution only (--scales 0) with each tile size in --tiles (32: the
 * model's own 48³ patch; 64: the 80³ patch `segment` uses by default); every pairing's ratio is
 * printed, and the largest probability difference against the peer at the same tile.
 *   node dist/bench/segment.js --rss 256,1024 --stop-after 24   (resident memory vs volume size)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/gpu/shader-source-node.js';
import { openVolume } from '../src/io/open.js';
import { wholeBox } from '../src/volume/box.js';
import { arg, median } from './args.js';

const root = packageRoot();
const cli = (args: string[]): string =>
  execFileSync(process.execPath, [join(root, 'bin/rhizoct.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

interface Ours {
  voxelsPerSecond: number;
  seconds: number;
  peakRssMiB: number;
  gpuSeconds: number | null;
  device: string;
}
interface Torch {
  voxels_per_second: number;
  seconds: number;
  device: string;
  torch: string;
}

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
        const s = JSON.parse(
          cli(['segment', scan, join(work, `seg${n}.zarr`), '--model', model, '--quiet', '--json', '--stop-after', stop]),
        ) as { peakRssMiB: number; voxelsPerSecond: number; chunks: { written: number } };
        console.log(
          `${String(n).padStart(5)}³: peak RSS ${s.peakRssMiB.toFixed(0)} MiB, ${s.chunks.written} chunks, ${(s.voxelsPerSecond / 1e3).toFixed(1)} kvoxel/s`,
        );
        rmSync(scan, { recursive: true, force: true });
      }
      return;
    }
    const size = Number(arg('--size', '128'));
    const reps = Number(arg('--reps', '3'));
    const tiles = arg('--tiles', '32,64').split(',').map(Number);
    const threads = arg('--torch-threads', '2,1').split(',').map(Number);
    const scan = join(work, 'scan.zarr');
    cli(['synth', scan, '--seed', '11', '--shape', String(size), '--difficulty', 'medium', '--quiet']);
    // Single scale on both sides: the peer runs the network at full resolution only.
    const runOurs = (tile: number, k: number): Ours =>
      JSON.parse(
        cli([
          'segment',
          scan,
          join(work, `seg-${tile}-${k}.zarr`),
          '--model',
          model,
          '--scales',
          '0',
          '--tile',
          String(tile),
          '--quiet',
          '--json',
        ]),
      ) as Ours;
    const runTorch = (tile: number, t: number, out: string): Torch =>
      JSON.parse(
        execFileSync(
          '/usr/bin/python3',
          [
            join(root, 'bench/reference/segment_torch.py'),
            scan,
            model,
            '--device',
            arg('--torch-device', 'cpu'),
            '--threads',
            String(t),
            '--tile',
            String(tile),
            '--out',
            out,
          ],
          { encoding: 'utf8' },
        ),
      ) as Torch;
    // Interleaved repetitions, so a burst of load elsewhere on the machine hits every variant alike.
    const ours = new Map<number, Ours[]>(tiles.map((t) => [t, []]));
    const torch = new Map<string, Torch[]>();
    for (let k = 0; k < reps; k++) {
      for (const tile of tiles) {
        ours.get(tile)!.push(runOurs(tile, k));
        for (const t of threads) {
          const key = `${tile}/${t}`;
          if (!torch.has(key)) torch.set(key, []);
          torch.get(key)!.push(runTorch(tile, t, join(work, `torch-${tile}.u8`)));
        }
      }
    }
    const device = ours.get(tiles[0]!)![0]!.device;
    console.log(`scan ${size}³ (synthetic, medium), model ${model}, --scales 0, medians of ${reps}`);
    console.log(`ours: ${device}; PyTorch ${torch.values().next().value![0]!.torch} on the same CPU`);
    const rows = [];
    for (const tile of tiles) {
      const o = ours.get(tile)!;
      const ov = median(o.map((r) => r.voxelsPerSecond));
      const a = (await (await openVolume(join(work, `seg-${tile}-0.zarr`))).readBox(wholeBox([size, size, size]))) as Uint8Array;
      const b = new Uint8Array(readFileSync(join(work, `torch-${tile}.u8`)));
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
      const peers = threads.map((t) => ({
        threads: t,
        voxelsPerSecond: median(torch.get(`${tile}/${t}`)!.map((r) => r.voxels_per_second)),
      }));
      rows.push({
        tile,
        ours: {
          voxelsPerSecond: ov,
          seconds: median(o.map((r) => r.seconds)),
          gpuSeconds: median(o.map((r) => r.gpuSeconds ?? 0)),
          peakRssMiB: Math.max(...o.map((r) => r.peakRssMiB)),
        },
        torch: peers,
        maxProbabilityDifference255: maxDiff,
      });
      console.log(
        `tile ${tile}: ours ${(ov / 1e3).toFixed(1)} kvoxel/s (${median(o.map((r) => r.seconds)).toFixed(1)} s) | ${peers.map((p) => `PyTorch ${p.threads} thr ${(p.voxelsPerSecond / 1e3).toFixed(1)} kvoxel/s`).join(' | ')} | probabilities vs PyTorch at the same tile: at most ${maxDiff}/255`,
      );
    }
    for (const r of rows)
      for (const base of rows)
        for (const p of base.torch) {
          console.log(
            `ratio ours(tile ${r.tile}) / PyTorch(tile ${base.tile}, ${p.threads} thr) = ${(r.ours.voxelsPerSecond / p.voxelsPerSecond).toFixed(3)}`,
          );
        }
    mkdirSync(join(root, 'bench/out'), { recursive: true });
    writeFileSync(
      arg('--json', join(root, 'bench/out/segment.json')),
      JSON.stringify({ date: new Date().toISOString(), size, model, reps, device, rows }, null, 2),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
