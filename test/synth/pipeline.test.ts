import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/commands/synth.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { openZarr } from '../../src/io/zarr-source.js';
import { RSML_NAME, synthesize, type SynthResult } from '../../src/pipeline/synth.js';
import { readRsml } from '../../src/io/rsml.js';
import { polylineLength } from '../../src/synth/rsml.js';
import { tubeStats, tubesFromRsml, unionVolumeMC } from '../../src/synth/truth.js';
import type { V3 } from '../../src/synth/vec.js';
import type { Vec3 } from '../../src/volume/box.js';
import { testGpu } from '../helpers/gpu.js';
import { tempDir } from '../io/helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let gpu: Gpu;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('rhizoct-synth-'));
  gpu = await testGpu();
});
afterAll(async () => {
  await cleanup();
});

const N = 56;
const VS = 0.06;
const SHAPE: Vec3 = [N, N, N];

async function files(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(root, p), await readFile(p));
    }
  };
  await walk(root);
  return out;
}

describe('rhizoct synth output', () => {
  const runs = new Map<string, SynthResult>();
  const run = async (name: string, seed: number, difficulty: 'easy' | 'medium' | 'hard' = 'hard'): Promise<SynthResult> => {
    const r = await synthesize(join(dir, name), { seed, shape: SHAPE, voxelSize: [VS, VS, VS], difficulty, gpu, chunkShape: [32, 32, 32] });
    runs.set(name, r);
    return r;
  };

  it('writes an OME-Zarr uint16 image with labels/roots and roots.rsml, readable by io/', async () => {
    const r = await run('a.zarr', 21);
    const img = await openZarr(r.output);
    expect(img.format).toBe('ome-zarr');
    expect(img.shape).toEqual(SHAPE);
    expect(img.dtype).toBe('uint16');
    expect(img.voxelSize).toEqual([VS, VS, VS]);
    expect(img.unit).toBe('millimeter');
    expect(img.labels).toEqual(['roots']);
    const mask = await openZarr(r.output, { label: 'roots' });
    expect(mask.dtype).toBe('uint8');
    expect(mask.shape).toEqual(SHAPE);
    const m = await mask.readBox({ offset: [0, 0, 0], shape: SHAPE });
    let n = 0;
    for (const v of m) {
      expect(v === 0 || v === 1).toBe(true);
      n += v;
    }
    expect(n).toBe(r.stats.maskVoxels);
    expect(n).toBeGreaterThan(0);
    const attrs = JSON.parse(await readFile(join(r.output, '.zattrs'), 'utf8')) as {
      rhizoct: { synth: { seed: number; rsml: string; stats: { maskVoxels: number } } };
    };
    expect(attrs.rhizoct.synth.seed).toBe(21);
    expect(attrs.rhizoct.synth.rsml).toBe(RSML_NAME);
    expect(attrs.rhizoct.synth.stats.maskVoxels).toBe(n);
    expect((await stat(join(r.output, RSML_NAME))).isFile()).toBe(true);
    // No working folders left behind.
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('agrees with its RSML: root volume, length and centrelines', async () => {
    for (const [name, seed, d] of [
      ['b.zarr', 3, 'medium'],
      ['c.zarr', 4, 'hard'],
    ] as const) {
      const r = await run(name, seed, d);
      const rs = readRsml(await readFile(r.rsml, 'utf8'), r.rsml);
      expect(rs.roots.length).toBe(r.stats.roots);
      expect(rs.roots.reduce((a, q) => a + polylineLength(q.points), 0)).toBeCloseTo(r.stats.lengthMm, 6);
      const lo: V3 = [-VS / 2, -VS / 2, -VS / 2];
      const hi: V3 = [(N - 0.5) * VS, (N - 0.5) * VS, (N - 0.5) * VS];
      const tubes = tubesFromRsml(rs.roots);
      // 1. The rendered partial volume integrates the union of the RSML tubes (Monte Carlo oracle).
      const mc = unionVolumeMC(tubes, lo, hi, 150_000, seed);
      const label = `${name}: rendered ${r.stats.coverageVolumeMm3.toFixed(4)} mm³, RSML union ${mc.volume.toFixed(4)} ± ${mc.stderr.toFixed(4)}`;
      expect(Math.abs(r.stats.coverageVolumeMm3 - mc.volume), label).toBeLessThan(0.01 * mc.volume + 4 * mc.stderr);
      // 2. Length × cross-section from the RSML (frustums, lateral bases inside parents left out)
      //    matches the mask's voxel count within 8%: roots touch but do not interpenetrate, and
      //    the mask adds a voxel line for roots thinner than a voxel (so it is a little larger).
      const ts = tubeStats(tubes, lo, hi);
      const maskVol = r.stats.maskVoxels * VS ** 3;
      expect(Math.abs(maskVol / ts.volume - 1), `${name}: mask ${maskVol.toFixed(4)} mm³ vs RSML ${ts.volume.toFixed(4)} mm³`).toBeLessThan(
        0.08,
      );
      // 3. Every RSML point in the field of view lies in a root voxel.
      const mask = await (await openZarr(r.output, { label: 'roots' })).readBox({ offset: [0, 0, 0], shape: SHAPE });
      let inView = 0;
      let inMask = 0;
      for (const q of rs.roots) {
        for (const p of q.points) {
          const [ix, iy, iz] = p.map((v) => Math.round(v / VS));
          if ([ix, iy, iz].some((i) => i! < 0 || i! >= N)) continue;
          inView++;
          if (mask[(iz! * N + iy!) * N + ix!]) inMask++;
        }
      }
      expect(inView).toBeGreaterThan(50);
      expect(inMask).toBe(inView);
    }
  });

  it('gives the same bytes for the same seed, other bytes for another seed', async () => {
    const a = runs.get('a.zarr') ?? (await run('a.zarr', 21));
    const again = await run('a2.zarr', 21);
    const fa = await files(a.output);
    const fb = await files(again.output);
    expect([...fb.keys()].sort()).toEqual([...fa.keys()].sort());
    for (const [k, v] of fa) expect(v.equals(fb.get(k)!), k).toBe(true);
    const other = await run('other.zarr', 22);
    const fo = await files(other.output);
    const differ = [...fa.keys()].filter((k) => k.startsWith('0/') && fo.has(k) && !fo.get(k)!.equals(fa.get(k)!));
    expect(differ.length).toBeGreaterThan(0);
    expect(fo.get(RSML_NAME)!.equals(fa.get(RSML_NAME)!)).toBe(false);
  });

  it('runs from the command line, refuses to overwrite, and rejects bad flags', async () => {
    const make = (): Command => {
      const p = new Command();
      p.exitOverride();
      p.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
      register(p);
      return p;
    };
    const out = join(dir, 'cli.zarr');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await make().parseAsync([
        'node',
        'rhizoct',
        'synth',
        out,
        '--shape',
        '24,28,32',
        '--voxel-size',
        '80',
        '--unit',
        'um',
        '--seed',
        '5',
        '--difficulty',
        'easy',
        '--noise',
        '0.05',
        '--container',
        'none',
        '--set',
        'architecture.orders=2',
        '--levels',
        '1',
        '--json',
      ]);
      const printed = JSON.parse(log.mock.calls.map((c) => String(c[0])).join('\n')) as SynthResult;
      expect(printed.shape).toEqual([24, 28, 32]);
      expect(printed.voxelSize[0]).toBeCloseTo(0.08, 12);
      expect(printed.levels.length).toBe(1);
      const img = await openZarr(out);
      expect(img.shape).toEqual([24, 28, 32]);
      const attrs = JSON.parse(await readFile(join(out, '.zattrs'), 'utf8')) as {
        rhizoct: { synth: { params: { scan: { noise: number }; container: { diameter: number } } } };
      };
      expect(attrs.rhizoct.synth.params.scan.noise).toBe(0.05);
      expect(attrs.rhizoct.synth.params.container.diameter).toBe(-1);
    } finally {
      log.mockRestore();
    }
    await expect(make().parseAsync(['node', 'rhizoct', 'synth', out, '--shape', '8', '--quiet'])).rejects.toThrow(/already exists/);
    await expect(make().parseAsync(['node', 'rhizoct', 'synth', out, '--shape', '8,8'])).rejects.toThrow(/--shape/);
    await expect(make().parseAsync(['node', 'rhizoct', 'synth', out, '--difficulty', 'insane'])).rejects.toThrow(/difficulty/);
    await expect(
      make().parseAsync(['node', 'rhizoct', 'synth', join(dir, 'x.zarr'), '--shape', '8', '--set', 'soil.bogus=1']),
    ).rejects.toThrow(/soil.bogus/);
  });
});
