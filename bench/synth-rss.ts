/**
 * Resident memory and speed of `rhizoct synth` on a large scan: generates an N³ scan (default
 * N = 512, medium preset, 50 µm voxels, 64³ chunks, full pyramid) in a child process and reports
 * that process's peak RSS (VmHWM), the time and the voxels per second. Memory should be bounded
 * by one slab (one row of chunks) plus the pyramid's buffers, not by the volume.
 *
 *   npx tsx bench/synth-rss.ts [--size 512] [--difficulty medium] [--dir /tmp/rhizoct-synth-rss] [--keep]
 *   (or npm run build && node dist/bench/synth-rss.js …)
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesize } from '../src/pipeline/synth.js';
import { isDifficulty } from '../src/synth/params.js';
import { arg, peakRssMiB } from './args.js';

async function child(out: string, n: number, difficulty: string): Promise<void> {
  if (!isDifficulty(difficulty)) throw new Error(`unknown difficulty ${difficulty}`);
  const r = await synthesize(out, { seed: 1, shape: [n, n, n], voxelSize: [0.05, 0.05, 0.05], difficulty, overwrite: true });
  console.log(
    JSON.stringify({
      peakRssMiB: peakRssMiB(),
      seconds: r.seconds,
      voxelsPerSecond: r.voxelsPerSecond,
      levels: r.levels.length,
      roots: r.stats.roots,
      segments: r.stats.segments,
      objects: r.stats.objects,
    }),
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]!, Number(process.argv[4]), process.argv[5]!);
  const n = Number(arg('--size', '512'));
  const difficulty = arg('--difficulty', 'medium');
  const dir = arg('--dir', '/tmp/rhizoct-synth-rss');
  await mkdir(dir, { recursive: true });
  const out = join(dir, `synth-${n}.zarr`);
  const self = fileURLToPath(import.meta.url);
  // Run the child the way this script runs (tsx for .ts, plain node for the built .js).
  const runner = self.endsWith('.ts') ? [process.execPath, '--import', 'tsx', self] : [process.execPath, self];
  const time = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-v'] : [];
  const cmd = [...time, ...runner, '--child', out, String(n), difficulty];
  const res = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.status !== 0) throw new Error(`synth failed (${res.status}): ${res.stderr}`);
  const r = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as {
    peakRssMiB: number;
    seconds: number;
    voxelsPerSecond: number;
    levels: number;
    roots: number;
    segments: number;
    objects: number;
  };
  const timeRss = /Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr);
  const peak = timeRss ? Number(timeRss[1]) / 1024 : r.peakRssMiB;
  const slabMiB = (64 * n * n * 3) / 2 ** 20;
  console.log(
    `synth ${n}³ ${difficulty}: ${r.seconds.toFixed(1)} s, ${(r.voxelsPerSecond / 1e6).toFixed(2)} M voxels/s, ${r.levels} levels; ${r.roots} roots (${r.segments} segments), ${r.objects} soil objects`,
  );
  console.log(
    `peak RSS: ${peak.toFixed(0)} MiB${timeRss ? ' (/usr/bin/time -v)' : ' (VmHWM)'}; volume ${((3 * n ** 3) / 2 ** 20).toFixed(0)} MiB (image + mask), one slab ${slabMiB.toFixed(0)} MiB`,
  );
  if (!process.argv.includes('--keep')) await rm(out, { recursive: true, force: true });
}

await main();
