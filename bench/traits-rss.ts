/**
 * Resident memory of `traits` on a large mask: writes an N³ segmentation (default N = 512) whose
 * labels/roots is a drawn root system (a primary, laterals and second-order laterals, radii 2–7
 * voxels), chunk by chunk so the writer never holds the volume, then measures it in a child
 * process (block 128, halo 16, all three mesh formats) and reports that process's peak RSS
 * (VmHWM) next to what one whole uint8 volume would take.
 *
 *   npx tsx bench/traits-rss.ts [--size 512] [--block 128] [--dir /tmp/rhizoct-traits-rss] [--keep]
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VolumeMeta } from '../src/io/volume.js';
import { OmeZarrWriter } from '../src/io/zarr-write.js';
import { measureTraits } from '../src/pipeline/traits.js';
import { type Box, type Vec3, makeBox } from '../src/volume/box.js';
import { ChunkGrid } from '../src/volume/chunk-grid.js';
import { arg, peakRssMiB } from './args.js';

interface Tube {
  a: Vec3;
  b: Vec3;
  r: number;
}

/** A seeded root system filling an N³ volume. */
function rootSystem(n: number): Tube[] {
  let s = 7;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32;
  };
  const tubes: Tube[] = [];
  // Primary: a polyline wandering down.
  let p: Vec3 = [0, n / 2, n / 2];
  const primary: Vec3[] = [p];
  while (p[0] < n - 8) {
    const q: Vec3 = [
      p[0] + 12,
      Math.min(n - 20, Math.max(20, p[1] + (rnd() - 0.5) * 8)),
      Math.min(n - 20, Math.max(20, p[2] + (rnd() - 0.5) * 8)),
    ];
    tubes.push({ a: p, b: q, r: 7 });
    primary.push(q);
    p = q;
  }
  for (let k = 0; k < 28; k++) {
    const base = primary[3 + Math.floor(rnd() * (primary.length - 6))]!;
    const ang = rnd() * 2 * Math.PI;
    let a = base;
    const steps = 4 + Math.floor(rnd() * 6);
    for (let i = 0; i < steps; i++) {
      const b: Vec3 = [
        Math.min(n - 6, a[0] + 4 + rnd() * 6),
        Math.min(n - 6, Math.max(5, a[1] + 18 * Math.sin(ang) + (rnd() - 0.5) * 6)),
        Math.min(n - 6, Math.max(5, a[2] + 18 * Math.cos(ang) + (rnd() - 0.5) * 6)),
      ];
      tubes.push({ a, b, r: 3.5 });
      if (i === 2 && rnd() < 0.7) {
        const ang2 = ang + (rnd() < 0.5 ? 1 : -1) * 1.2;
        tubes.push({
          a: b,
          b: [
            Math.min(n - 6, b[0] + 20),
            Math.min(n - 6, Math.max(5, b[1] + 35 * Math.sin(ang2))),
            Math.min(n - 6, Math.max(5, b[2] + 35 * Math.cos(ang2))),
          ],
          r: 2,
        });
      }
      a = b;
    }
  }
  return tubes;
}

function drawBox(box: Box, tubes: Tube[]): Uint8Array {
  const [bz, by, bx] = box.shape;
  const out = new Uint8Array(bz * by * bx);
  for (const t of tubes) {
    const lo = [0, 1, 2].map((k) => Math.max(box.offset[k]!, Math.floor(Math.min(t.a[k]!, t.b[k]!) - t.r - 1)));
    const hi = [0, 1, 2].map((k) => Math.min(box.offset[k]! + box.shape[k]! - 1, Math.ceil(Math.max(t.a[k]!, t.b[k]!) + t.r + 1)));
    if (lo.some((v, k) => v > hi[k]!)) continue;
    const ab = [t.b[0] - t.a[0], t.b[1] - t.a[1], t.b[2] - t.a[2]];
    const L2 = ab[0]! ** 2 + ab[1]! ** 2 + ab[2]! ** 2;
    for (let z = lo[0]!; z <= hi[0]!; z++) {
      for (let y = lo[1]!; y <= hi[1]!; y++) {
        for (let x = lo[2]!; x <= hi[2]!; x++) {
          const ap = [z - t.a[0], y - t.a[1], x - t.a[2]];
          const u = Math.max(0, Math.min(1, (ap[0]! * ab[0]! + ap[1]! * ab[1]! + ap[2]! * ab[2]!) / L2));
          if (Math.hypot(ap[0]! - u * ab[0]!, ap[1]! - u * ab[1]!, ap[2]! - u * ab[2]!) <= t.r) {
            out[((z - box.offset[0]) * by + (y - box.offset[1])) * bx + (x - box.offset[2])] = 1;
          }
        }
      }
    }
  }
  return out;
}

async function makeMask(path: string, n: number): Promise<number> {
  const shape: Vec3 = [n, n, n];
  const meta: VolumeMeta = { shape, dtype: 'uint8', voxelSize: [0.02, 0.02, 0.02], unit: 'millimeter', origin: [0, 0, 0] };
  const chunk: Vec3 = [64, 64, 64];
  const base = {
    zarrFormat: 2 as const,
    chunkShape: chunk,
    compression: { compression: 'blosc' as const },
    levelCount: 1,
    overwrite: true,
  };
  const tubes = rootSystem(n);
  const grid = new ChunkGrid(shape, chunk);
  let voxels = 0;
  const img = await OmeZarrWriter.create(path, meta, { ...base, method: 'mean' });
  for (const c of grid.allChunks()) {
    const box = grid.chunkBox(c);
    const d = drawBox(box, tubes);
    for (const v of d) voxels += v;
    await img.writeLevelBox(0, box, d);
  }
  await img.finalize();
  const lab = await OmeZarrWriter.create(path, meta, { ...base, method: 'mode', label: 'roots' });
  for (const c of grid.allChunks()) {
    const box = grid.chunkBox(c);
    await lab.writeLevelBox(0, box, drawBox(box, tubes));
  }
  await lab.finalize();
  void makeBox;
  return voxels;
}

async function child(mask: string, out: string, block: number): Promise<void> {
  const t0 = performance.now();
  const r = await measureTraits(mask, { out, block, halo: 16 });
  console.log(
    JSON.stringify({
      peakRssMiB: peakRssMiB(),
      seconds: (performance.now() - t0) / 1000,
      blocks: r.streaming.blocks,
      faceVoxels: r.streaming.faceVoxels,
      seamVertices: r.streaming.seamVertices,
      skeletonVoxels: r.traits.skeletonVoxels,
      lengthMm: r.traits.totalLength,
      tips: r.traits.tips,
      triangles: r.mesh?.triangles,
      warnings: r.warnings,
    }),
  );
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(process.argv[3]!, process.argv[4]!, Number(process.argv[5]));
  const n = Number(arg('--size', '512'));
  const block = Number(arg('--block', '128'));
  const dir = arg('--dir', '/tmp/rhizoct-traits-rss');
  const mask = join(dir, `mask-${n}.zarr`);
  const out = join(dir, `traits-${n}`);
  const t0 = performance.now();
  const voxels = existsSync(join(mask, 'labels', 'roots', '.zattrs')) ? -1 : await makeMask(mask, n);
  console.log(
    `mask ${mask}: ${n}³ (${(n ** 3 / 2 ** 20).toFixed(0)} MiB as uint8)${voxels >= 0 ? `, ${voxels} root voxels` : ' (reused)'}, ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const self = fileURLToPath(import.meta.url);
  const time = existsSync('/usr/bin/time') ? ['/usr/bin/time', '-v'] : [];
  const tsx = [process.execPath, '--import', 'tsx'];
  const cmd = [...time, ...tsx, self, '--child', mask, out, String(block)];
  const res = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (res.status !== 0) throw new Error(`traits failed (${res.status}): ${res.stderr}`);
  const r = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as { peakRssMiB: number; seconds: number };
  const timeRss = /Maximum resident set size \(kbytes\): (\d+)/.exec(res.stderr);
  const peak = timeRss ? Number(timeRss[1]) / 1024 : r.peakRssMiB;
  console.log(`traits: ${JSON.stringify(r)}`);
  console.log(
    `peak RSS: ${peak.toFixed(0)} MiB${timeRss ? ' (/usr/bin/time -v)' : ' (VmHWM)'}; one whole uint8 volume would be ${(n ** 3 / 2 ** 20).toFixed(0)} MiB, its int32 labels ${((4 * n ** 3) / 2 ** 20).toFixed(0)} MiB`,
  );
  if (!process.argv.includes('--keep')) await rm(out, { recursive: true, force: true });
}

await main();
