/**
 * Resident memory of `convert` on a large TIFF stack: generates an N³ uint16 stack of
 * single-slice TIFFs (default N = 1024, 2 GiB) under a scratch folder, converts it to an
 * OME-Zarr pyramid in a child process, and reports that process's peak RSS (VmHWM).
 * The bound: under 1 GiB for N = 1024.
 *
 *   npm run build && node dist/bench/convert-rss.js [--size 1024] [--dir /tmp/rhizoct-rss] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeTiffSlice } from '../src/io/tiff-write.js';
import { convertToOmeZarr } from '../src/pipeline/convert.js';
import { arg, peakRssMiB } from './args.js';

const LIMIT_MIB = 1024;

async function makeStack(dir: string, n: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).filter((f) => f.endsWith('.tif')).length === n) return;
  const slice = new Uint16Array(n * n);
  let seed = 12345;
  for (let z = 0; z < n; z++) {
    // Smooth ramps plus a little noise: compressible, but not trivially.
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        slice[y * n + x] = ((x * 3 + y * 5 + z * 7) % 4096) + (seed >>> 28);
      }
    }
    await writeFile(join(dir, `slice_${String(z).padStart(4, '0')}.tif`), encodeTiffSlice(slice, n, n));
  }
}

async function child(stack: string, out: string): Promise<void> {
  const t0 = performance.now();
  const r = await convertToOmeZarr(stack, out, { overwrite: true });
  console.log(
    JSON.stringify({ peakRssMiB: peakRssMiB(), seconds: (performance.now() - t0) / 1000, levels: r.levels, chunks: r.chunksWritten }),
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]!, process.argv[4]!);
  const n = Number(arg('--size', '1024'));
  const dir = arg('--dir', '/tmp/rhizoct-rss');
  const stack = join(dir, `stack-${n}`);
  const out = join(dir, `out-${n}.zarr`);
  const t0 = performance.now();
  await makeStack(stack, n);
  console.log(
    `stack ${stack}: ${n}×${n}×${n} uint16 (${((2 * n ** 3) / 2 ** 30).toFixed(2)} GiB) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const self = fileURLToPath(import.meta.url);
  const time = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-v'] : [];
  const cmd = [...time, process.execPath, self, '--child', stack, out];
  const res = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.status !== 0) throw new Error(`convert failed (${res.status}): ${res.stderr}`);
  const r = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as {
    peakRssMiB: number;
    seconds: number;
    levels: number[][];
    chunks: number;
  };
  const timeRss = /Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr);
  const peak = timeRss ? Number(timeRss[1]) / 1024 : r.peakRssMiB;
  console.log(`convert: ${r.seconds.toFixed(1)} s, ${r.levels.length} levels, ${r.chunks} chunks`);
  console.log(
    `peak RSS: ${peak.toFixed(0)} MiB${timeRss ? ' (/usr/bin/time -v)' : ' (VmHWM)'}; bound ${LIMIT_MIB} MiB → ${peak < LIMIT_MIB ? 'PASS' : 'FAIL'}`,
  );
  if (!process.argv.includes('--keep')) await rm(out, { recursive: true, force: true });
  if (peak >= LIMIT_MIB) process.exitCode = 1;
}

await main();
