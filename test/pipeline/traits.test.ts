import { spawnSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { measureMask } from '../../src/analysis/measure.js';
import { meshVolume, openEdges } from '../../src/analysis/marching-cubes.js';
import { polylineLength } from '../../src/analysis/graph.js';
import { register } from '../../src/cli/commands/traits.js';
import { measureTraits, measureTraitsBatch, NonBinaryMaskError } from '../../src/pipeline/traits.js';
import { writeSegmentation } from '../analysis/fixtures.js';
import { readPly, readStl, readVtp } from '../analysis/mesh-readers.js';
import { countOnes, randomTubes } from '../analysis/shapes.js';
import { synthesize } from '../../src/pipeline/synth.js';
import { readRsml } from '../../src/io/rsml.js';
import { classifyTips } from '../../src/synth/tips.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { testGpu } from '../helpers/gpu.js';
import { PYTHON, pythonHas, REPO_ROOT, tempDir } from '../io/helpers.js';

let dir = '';
let cleanup = async (): Promise<void> => {};
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('rhizoct-traits-'));
});
afterAll(() => cleanup());

const VS = 0.05;

describe('rhizoct traits on a segmentation', () => {
  const sys = randomTubes([96, 80, 80], 5, 6);
  let seg = '';
  beforeAll(async () => {
    seg = join(dir, 'seg.zarr');
    await writeSegmentation(seg, sys.data, sys.shape, { voxelSize: [VS, VS, VS], chunk: [32, 32, 32] });
  });

  it('streamed over 27 blocks agrees with measuring the whole volume at once (the halo approximation, measured)', async () => {
    const r = await measureTraits(seg, { out: join(dir, 'blocks'), block: 32, halo: 12, meshFormats: [] });
    const w = measureMask(sys.data, sys.shape, { spacing: [VS, VS, VS], unit: 'mm', minVoxels: 64 }).traits;
    const t = r.traits;
    const fig = {
      blocks: r.streaming.blocks,
      lengthBlocks: t.totalLength,
      lengthWhole: w.totalLength,
      skeletonBlocks: t.skeletonVoxels,
      skeletonWhole: w.skeletonVoxels,
      tips: [t.tips, w.tips],
      branch: [t.branchPoints, w.branchPoints],
    };
    console.log(`streamed vs whole: ${JSON.stringify(fig)}`);
    expect(r.streaming.blocks).toBe(27);
    expect(t.volume).toBe(w.volume);
    expect(Math.abs(t.totalLength / w.totalLength - 1)).toBeLessThan(0.01);
    expect(Math.abs(t.skeletonVoxels - w.skeletonVoxels)).toBeLessThanOrEqual(Math.ceil(0.02 * w.skeletonVoxels));
    expect(t.tips).toBe(w.tips);
    expect(t.convexHullVolume).toBeCloseTo(w.convexHullVolume, 9);
  });

  it('writes traits.json and traits.csv, RSML that reads back to its lengths, and closed meshes in VTP, STL and PLY', async () => {
    const out = join(dir, 'out');
    const r = await measureTraits(seg, { out, block: 48, halo: 12 });
    const json = JSON.parse(await readFile(join(out, 'traits.json'), 'utf8'));
    expect(json.traits.totalLength).toBeCloseTo(r.traits.totalLength, 9);
    expect(json.traits.unit).toBe('mm');
    const csv = (await readFile(join(out, 'traits.csv'), 'utf8')).trim().split('\n');
    expect(csv.length).toBe(2);
    const cols = csv[0]!.split(',');
    const row = csv[1]!.split(',');
    expect(Number(row[cols.indexOf('total_length_mm')])).toBeCloseTo(r.traits.totalLength, 4);
    expect(cols).toContain('rld_cm_per_cm3_depth_0-4.8mm');
    const back = readRsml(await readFile(join(out, 'roots.rsml'), 'utf8'));
    expect(back.roots.reduce((s, x) => s + polylineLength(x.points), 0)).toBeCloseTo(r.traits.centrelineLength, 4);
    const voxelVolume = countOnes(sys.data) * VS ** 3;
    const meshes = {
      vtp: readVtp(await readFile(join(out, 'roots.vtp'), 'utf8')),
      stl: readStl(new Uint8Array(await readFile(join(out, 'roots.stl')))),
      ply: readPly(new Uint8Array(await readFile(join(out, 'roots.ply')))),
    };
    for (const [name, m] of Object.entries(meshes)) {
      expect(openEdges(m.triangles), name).toBe(0);
      expect(meshVolume(m), name).toBeCloseTo(r.mesh!.volume, 6);
    }
    expect(Math.abs(r.mesh!.volume / voxelVolume - 1)).toBeLessThan(0.01); // roots of 1.5–3 voxels radius, volume-preserving mesh
    // Physical coordinates: the mesh lies where the mask is (x, y, z = index × 0.05 mm).
    const p = meshes.vtp.positions;
    let maxZ = 0;
    for (let i = 2; i < p.length; i += 3) maxZ = Math.max(maxZ, p[i]!);
    expect(maxZ).toBeLessThanOrEqual(96 * VS);
    expect(maxZ).toBeGreaterThan(80 * VS);
    expect(r.mesh!.files.sort()).toEqual(['roots.ply', 'roots.stl', 'roots.vtp']);
  });

  it('on several scans writes one CSV with a row per scan, and the command line does the same', async () => {
    const seg2 = join(dir, 'other.zarr');
    const sys2 = randomTubes([64, 64, 64], 8, 3);
    await writeSegmentation(seg2, sys2.data, sys2.shape, { voxelSize: [VS, VS, VS], chunk: [32, 32, 32] });
    const res = await measureTraitsBatch([seg, seg2, join(dir, 'missing.zarr')], { out: join(dir, 'batch'), meshFormats: [] });
    expect(res.reports.map((r) => r.scan)).toEqual(['seg', 'other']);
    expect(res.failures.length).toBe(1);
    expect(res.failures[0]!.error).toContain('missing.zarr');
    const lines = (await readFile(res.csv, 'utf8')).trim().split('\n');
    expect(lines.length).toBe(3);
    expect(lines[1]!.startsWith('seg,')).toBe(true);
    expect(lines[2]!.startsWith('other,')).toBe(true);
    await stat(join(dir, 'batch', 'seg', 'traits.json'));
    const program = new Command().exitOverride();
    register(program);
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await program.parseAsync(['node', 'rhizoct', 'traits', seg, seg2, '--out', join(dir, 'cli'), '--mesh', 'none', '-q']);
    } finally {
      log.mockRestore();
    }
    const cli = (await readFile(join(dir, 'cli', 'traits.csv'), 'utf8')).trim().split('\n');
    expect(cli.length).toBe(3);
    // --raw-mesh keeps marching cubes' vertices: the mesh falls short of the mask's volume.
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await program.parseAsync(['node', 'rhizoct', 'traits', seg, '--out', join(dir, 'raw'), '--mesh', 'ply', '--raw-mesh', '-q']);
    } finally {
      quiet.mockRestore();
    }
    const raw = JSON.parse(await readFile(join(dir, 'raw', 'traits.json'), 'utf8'));
    expect(raw.mesh.volumePreserving).toBe(false);
    expect(raw.mesh.volume / raw.traits.volume).toBeLessThan(0.985);
  });
});

describe('rhizoct traits on bad input', () => {
  it('an empty mask: zero traits, a clear warning, no RSML or mesh, no crash', async () => {
    const p = join(dir, 'empty.zarr');
    await writeSegmentation(p, new Uint8Array(32 * 32 * 32), [32, 32, 32]);
    const r = await measureTraits(p, { out: join(dir, 'empty') });
    expect(r.traits.totalLength).toBe(0);
    expect(r.traits.volume).toBe(0);
    expect(r.traits.tips).toBe(0);
    expect(r.traits.solidity).toBeNull();
    expect(r.rsml).toBeNull();
    expect(r.mesh!.triangles).toBe(0);
    expect(r.warnings.join(' ')).toMatch(/empty/);
    const csv = await readFile(join(dir, 'empty', 'traits.csv'), 'utf8');
    expect(csv.split('\n')[1]).toContain('empty,');
  });

  it('a non-binary label: a message naming the file and the fix; with --threshold it is measured', async () => {
    const p = join(dir, 'nonbinary.zarr');
    const m = randomTubes([48, 40, 40], 4, 2);
    const labels = new Uint8Array(m.data.length);
    for (let i = 0; i < labels.length; i++) labels[i] = m.data[i] ? 1 + (i % 3) : 0;
    await writeSegmentation(p, m.data, m.shape, { labelValues: labels });
    const err = await measureTraits(p, { out: join(dir, 'nb') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonBinaryMaskError);
    expect((err as Error).message).toContain('nonbinary.zarr');
    expect((err as Error).message).toContain('--threshold');
    const r = await measureTraits(p, { out: join(dir, 'nb'), threshold: 1, meshFormats: [] });
    expect(r.traits.voxels).toBe(countOnes(m.data));
    // A 0/255 mask is a mask.
    const q = join(dir, 'mask255.zarr');
    await writeSegmentation(q, m.data, m.shape, { labelValues: m.data.map((v) => v * 255) });
    const r255 = await measureTraits(q, { out: join(dir, 'm255'), meshFormats: [] });
    expect(r255.traits.voxels).toBe(countOnes(m.data));
    expect(r255.warnings.join(' ')).toMatch(/255/);
  });

  it('a mask with no voxel size: traits in voxels, with a warning; with a scale but no unit, in voxels of that scale', async () => {
    const p = join(dir, 'nosize.zarr');
    const m = randomTubes([48, 40, 40], 6, 2);
    await writeSegmentation(p, m.data, m.shape, { voxelSize: [1, 1, 1], unit: '' });
    const r = await measureTraits(p, { out: join(dir, 'nosize'), meshFormats: ['ply'] });
    expect(r.traits.unit).toBe('voxel');
    expect(r.traits.volume).toBe(countOnes(m.data));
    expect(r.warnings.join(' ')).toMatch(/no voxel size/);
    const rsml = readRsml(await readFile(join(dir, 'nosize', 'roots.rsml'), 'utf8'));
    expect(rsml.unit).toBe('pixel');
    // A scale without a unit (a segmentation of pyramid level 2 of a scan without a voxel size
    // records 4 × 4 × 4): traits are in voxels of that scale, comparable with the full scan's.
    const q = join(dir, 'scaled.zarr');
    await writeSegmentation(q, m.data, m.shape, { voxelSize: [4, 4, 4], unit: '' });
    const s4 = await measureTraits(q, { out: join(dir, 'scaled'), meshFormats: ['ply'] });
    expect(s4.traits.unit).toBe('voxel');
    expect(s4.traits.volume).toBe(64 * countOnes(m.data));
    expect(s4.traits.totalLength / r.traits.totalLength).toBeCloseTo(4, 6);
    expect(s4.mesh!.volume / r.mesh!.volume).toBeCloseTo(64, 3);
    expect(s4.warnings.join(' ')).toMatch(/voxel size of 4 × 4 × 4 but no unit/);
  });
});

/**
 * Synthetic scans from `rhizoct synth` (GPU, lavapipe on CI): sparse systems (one primary with
 * short laterals, so most tips lie inside the 6.4 mm field of view) and dense ones (the medium
 * and hard presets' architecture: tens to hundreds of tips, roots pressed against each other).
 * Truth: the generator's RSML (length and frustum volume inside the view, lateral bases inside
 * their parent left out) and its free tips as `classifyTips` (src/synth/tips.ts) counts them:
 * what a mask can show as tips.
 */
describe("rhizoct traits on synthetic scans, against the generator's RSML", () => {
  const N = 128;
  const OV = [
    'architecture.primaries=1,1',
    'architecture.primaryRadius=0.3,0.35',
    'architecture.primaryAngle=3,8',
    'architecture.order.1.length=1.6',
    'architecture.order.1.lengthSpread=1.2',
    'architecture.order.0.spacing=0.6',
    'architecture.order.0.basalZone=0.5',
  ];
  let gpu: Gpu | undefined;
  let gpuError = '';
  beforeAll(async () => {
    try {
      gpu = await testGpu();
    } catch (e) {
      gpuError = (e as Error).message;
    }
  });

  it('length and volume within 5%, tips within 10% over the scans (±1 per scan); our RSML validates and reads back', async (ctx) => {
    if (!gpu) {
      console.log(`[SKIPPED: no WebGPU device for rhizoct synth: ${gpuError}]`);
      return ctx.skip();
    }
    const rows: Record<string, number>[] = [];
    let tips = 0;
    let truthTips = 0;
    for (const seed of [2, 3]) {
      const r = await synthesize(join(dir, `synth-${seed}.zarr`), {
        seed,
        shape: [N, N, N],
        voxelSize: [VS, VS, VS],
        difficulty: 'easy',
        chunkShape: [64, 64, 64],
        overrides: OV,
        gpu,
      });
      const t = await measureTraits(r.output, { out: join(dir, `synth-${seed}`), meshFormats: ['vtp'] });
      const truth = readRsml(await readFile(r.rsml, 'utf8'));
      const tipsIn = classifyTips(truth.roots, [N * VS, N * VS, N * VS], VS).free;
      rows.push({
        seed,
        length: t.traits.totalLength,
        truthLength: r.stats.lengthInViewMm,
        volume: t.traits.volume,
        truthVolume: r.stats.rsmlVolumeMm3,
        tips: t.traits.tips,
        truthTips: tipsIn,
        meshVolume: t.mesh!.volume,
      });
      tips += t.traits.tips;
      truthTips += tipsIn;
      expect(Math.abs(t.traits.totalLength / r.stats.lengthInViewMm - 1)).toBeLessThan(0.05);
      expect(Math.abs(t.traits.volume / r.stats.rsmlVolumeMm3 - 1)).toBeLessThan(0.05);
      expect(Math.abs(t.traits.tips - tipsIn)).toBeLessThanOrEqual(1);
      expect(Math.abs(t.mesh!.volume / t.traits.volume - 1)).toBeLessThan(0.01);
      const ours = readRsml(await readFile(join(dir, `synth-${seed}`, 'roots.rsml'), 'utf8'));
      expect(ours.roots.reduce((s, x) => s + polylineLength(x.points), 0)).toBeCloseTo(t.traits.centrelineLength, 4);
      if (pythonHas('lxml')) {
        const xsd = join(REPO_ROOT, 'test', 'analysis', 'rsml.xsd');
        const script =
          'import sys\nfrom lxml import etree\ns = etree.XMLSchema(etree.parse(sys.argv[1]))\nd = etree.parse(sys.argv[2])\nprint("valid" if s.validate(d) else str(s.error_log))';
        const v = spawnSync(PYTHON, ['-c', script, xsd, join(dir, `synth-${seed}`, 'roots.rsml')], { encoding: 'utf8' });
        expect(v.stdout.trim()).toBe('valid');
      }
    }
    console.log(
      `synthetic scans vs generator: ${JSON.stringify(rows.map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number(v.toFixed(4))]))))}`,
    );
    expect(Math.abs(tips / truthTips - 1)).toBeLessThanOrEqual(0.1);
  });
  it('dense systems (medium and hard presets): tips within 10% of the free tips, length and volume within 5%, mesh volume within 1% of the mask', async (ctx) => {
    if (!gpu) {
      console.log(`[SKIPPED: no WebGPU device for rhizoct synth: ${gpuError}]`);
      return ctx.skip();
    }
    const M = 160;
    const rows: Record<string, number | string>[] = [];
    for (const [difficulty, seed] of [
      ['medium', 3],
      ['hard', 5],
    ] as const) {
      const r = await synthesize(join(dir, `dense-${seed}.zarr`), {
        seed,
        shape: [M, M, M],
        voxelSize: [VS, VS, VS],
        difficulty,
        chunkShape: [64, 64, 64],
        gpu,
      });
      const t = await measureTraits(r.output, { out: join(dir, `dense-${seed}`), meshFormats: ['ply'] });
      const truth = classifyTips(readRsml(await readFile(r.rsml, 'utf8')).roots, [M * VS, M * VS, M * VS], VS);
      rows.push({
        difficulty,
        seed,
        tips: t.traits.tips,
        freeTips: truth.free,
        touchingTips: truth.touching,
        length: t.traits.totalLength / r.stats.lengthInViewMm,
        volume: t.traits.volume / r.stats.rsmlVolumeMm3,
        meshVolume: t.mesh!.volume / t.traits.volume,
      });
      expect(truth.free).toBeGreaterThan(25);
      expect(Math.abs(t.traits.tips / truth.free - 1)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(t.traits.totalLength / r.stats.lengthInViewMm - 1)).toBeLessThan(0.05);
      expect(Math.abs(t.traits.volume / r.stats.rsmlVolumeMm3 - 1)).toBeLessThan(0.05);
      expect(Math.abs(t.mesh!.volume / t.traits.volume - 1)).toBeLessThan(0.01); // the mask's volume, by the mesh (thin roots: as drawn 3.5% short)
    }
    console.log(`dense synthetic systems vs generator: ${JSON.stringify(rows)}`);
  });
});
