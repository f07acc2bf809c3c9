/**
 * How well `rhizoct traits` recovers the generator's root systems: synthesises scans of each
 * preset (their default architectures: dense systems, roots pressed against each other), measures
 * their ground-truth masks, and compares with the generator's RSML: length and volume in view,
 * tips against the free tips (`classifyTips`: those a mask can show), and the mesh's enclosed
 * volume against the mask's. Prints a table and writes bench/out/traits-accuracy.json.
 *
 *   node dist/bench/traits-accuracy.js [--size 160] [--scans easy:1,easy:2,medium:1,…]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireGpu } from '../src/gpu/acquire.js';
import { readRsml } from '../src/io/rsml.js';
import { synthesize } from '../src/pipeline/synth.js';
import { measureTraits } from '../src/pipeline/traits.js';
import { isDifficulty } from '../src/synth/params.js';
import { classifyTips } from '../src/synth/tips.js';
import { arg } from './args.js';
import { root } from './held-out.js';

const DEFAULT_SCANS = 'easy:1,easy:2,medium:1,medium:2,medium:3,medium:4,medium:5,hard:3,hard:4,hard:5';

async function main(): Promise<void> {
  const n = Number(arg('--size', '160'));
  const vs = 0.05;
  const scans = arg('--scans', DEFAULT_SCANS)
    .split(',')
    .map((s) => {
      const [d, seed] = s.split(':');
      if (!d || !isDifficulty(d) || !Number.isInteger(Number(seed))) throw new Error(`--scans: "${s}" is not preset:seed (e.g. medium:3)`);
      return { difficulty: d, seed: Number(seed) };
    });
  const gpu = await acquireGpu();
  const work = mkdtempSync(join(tmpdir(), 'rhizoct-bench-traits-'));
  const rows: Record<string, number | string>[] = [];
  try {
    console.log(`${n}³ scans, voxel ${vs} mm; tips: ours / the generator's free tips (+ tips touching another root)`);
    console.log('scan        length  volume  mesh/mask  tips       touching  loops');
    for (const { difficulty, seed } of scans) {
      const r = await synthesize(join(work, `${difficulty}-${seed}.zarr`), {
        seed,
        shape: [n, n, n],
        voxelSize: [vs, vs, vs],
        difficulty,
        chunkShape: [64, 64, 64],
        gpu,
      });
      const t = await measureTraits(r.output, { out: join(work, `${difficulty}-${seed}`), meshFormats: ['ply'] });
      const tips = classifyTips(readRsml(readFileSync(r.rsml, 'utf8')).roots, [n * vs, n * vs, n * vs], vs);
      const row = {
        scan: `${difficulty} ${seed}`,
        length: t.traits.totalLength / r.stats.lengthInViewMm,
        volume: t.traits.volume / r.stats.rsmlVolumeMm3,
        meshVolume: t.mesh!.volume / t.traits.volume,
        tips: t.traits.tips,
        freeTips: tips.free,
        touchingTips: tips.touching,
        loops: t.traits.loops,
      };
      rows.push(row);
      console.log(
        `${row.scan.padEnd(10)}  ${row.length.toFixed(3)}   ${row.volume.toFixed(3)}   ${row.meshVolume.toFixed(4)}     ${String(row.tips).padStart(3)} / ${String(row.freeTips).padEnd(3)}  ${String(row.touchingTips).padStart(5)}     ${row.loops}`,
      );
    }
    const sum = (k: 'tips' | 'freeTips' | 'touchingTips'): number => rows.reduce((a, x) => a + (x[k] as number), 0);
    const worst = (k: 'length' | 'volume' | 'meshVolume'): number => Math.max(...rows.map((x) => Math.abs((x[k] as number) - 1)));
    console.log(
      `all: tips ${sum('tips')} / ${sum('freeTips')} free (${((sum('tips') / sum('freeTips') - 1) * 100).toFixed(1)}%); ${sum('touchingTips')} more touch another root (${((100 * sum('touchingTips')) / (sum('freeTips') + sum('touchingTips'))).toFixed(0)}% of those in view and off the faces)`,
    );
    console.log(
      `worst: length ${(100 * worst('length')).toFixed(1)}%, volume ${(100 * worst('volume')).toFixed(1)}%, mesh vs mask ${(100 * worst('meshVolume')).toFixed(2)}%`,
    );
    mkdirSync(join(root, 'bench/out'), { recursive: true });
    writeFileSync(
      join(root, 'bench/out/traits-accuracy.json'),
      JSON.stringify({ date: new Date().toISOString(), size: n, voxelMm: vs, rows }, null, 2),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
    gpu.destroy();
  }
}

await main();
