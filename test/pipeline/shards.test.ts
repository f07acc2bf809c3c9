import { spawn } from 'node:child_process';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConvertShard } from '../../src/cli/commands/convert.js';
import { describeSegmentRun } from '../../src/cli/commands/segment.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { NiftiSink } from '../../src/io/nifti-write.js';
import { FinalizeLock, SegmentationOutput, type JobIdentity } from '../../src/io/segmentation-output.js';
import { encodeTiffSlice } from '../../src/io/tiff-write.js';
import { convertToOmeZarr, type ConvertOptions } from '../../src/pipeline/convert.js';
import { GpuDownsampler } from '../../src/pipeline/downsample.js';
import { SilentProgress } from '../../src/pipeline/progress.js';
import { segment, type SegmentOptions } from '../../src/pipeline/segment.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng } from '../helpers/random.js';
import { tempDir } from '../io/helpers.js';
import { fileTree, readSegmentation, treeDifferences, writeRandomScan, writeTinyModel } from './shard-fixtures.js';

const seed = freshSeed();
let dir: string;
let cleanup: () => Promise<void>;
let gpu: Gpu;
let ds: GpuDownsampler;
let model: string;
let scan: string;
let small: string;
// 40 × 50 × 45 in chunks of 16: 3 × 4 × 3 = 36 chunks. 16 × 16 × 32: 2 chunks.
const shape: Vec3 = [40, 50, 45];
const smallShape: Vec3 = [16, 16, 32];

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('rhizoct-shards-'));
  gpu = await testGpu();
  ds = await GpuDownsampler.create(gpu);
  model = join(dir, 'model');
  await writeTinyModel(gpu, model, seed);
  scan = join(dir, 'scan.zarr');
  await writeRandomScan(scan, shape, seed);
  small = join(dir, 'small.zarr');
  await writeRandomScan(small, smallShape, seed + 1);
});
afterAll(() => cleanup());

const base = (over: Partial<SegmentOptions>): SegmentOptions => ({
  input: scan,
  output: '',
  model,
  threshold: 0.5,
  chunk: 16,
  tta: false,
  batch: 4,
  overwrite: false,
  progress: new SilentProgress(),
  ...over,
});

function same(a: { prob: Uint8Array; mask: Uint8Array }, b: { prob: Uint8Array; mask: Uint8Array }): boolean {
  return Buffer.compare(Buffer.from(a.prob), Buffer.from(b.prob)) === 0 && Buffer.compare(Buffer.from(a.mask), Buffer.from(b.mask)) === 0;
}

/** Runs the CLI (through tsx) in its own process; resolves with its exit code and output. */
function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(join('node_modules', '.bin', 'tsx'), ['src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => res({ code, out, err }));
  });
}

describe(`segment --shard is idempotent (seed ${seed})`, () => {
  let reference: Awaited<ReturnType<typeof readSegmentation>>;

  it('three shards in turn give the single-process result; any shard run again finds nothing to do', async () => {
    const one = join(dir, 'one.zarr');
    expect((await segment(base({ output: one }), gpu)).complete).toBe(true);
    reference = await readSegmentation(one);
    const out = join(dir, 'three.zarr');
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await segment(base({ output: out, shard: { index: i, count: 3 } }), gpu));
    expect(runs.map((r) => r.complete)).toEqual([false, false, true]);
    expect(runs.map((r) => r.chunks.written)).toEqual([12, 12, 12]);
    expect(same(await readSegmentation(out), reference)).toBe(true);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(readdirSync(out).filter((n) => n.startsWith('.finalize') || n === '.done')).toEqual([]);

    const again = await segment(base({ output: out, shard: { index: 1, count: 3 } }), gpu);
    expect(again).toMatchObject({ complete: true, alreadyComplete: true, chunks: { total: 36, thisShard: 12, skipped: 12, written: 0 } });
    expect(describeSegmentRun(again)).toMatch(/^shard 1\/3: nothing to do: .*three\.zarr is already complete, made by this same job$/);
    // Another shard count over the same finished output: the job (not the sharding) is what must match.
    expect((await segment(base({ output: out, shard: { index: 0, count: 5 } }), gpu)).alreadyComplete).toBe(true);
    expect(existsSync(`${out}.partial`), 'no stray partial beside the finished output').toBe(false);
    // Without --shard a finished output is still refused, as before.
    await expect(segment(base({ output: out }), gpu)).rejects.toThrow(/already exists/);
  });

  it('a shard whose chunks are all done, or that has none, exits saying so; the last one finalises', async () => {
    const out = join(dir, 'few.zarr');
    const o = (i: number): SegmentOptions => base({ input: small, output: out, shard: { index: i, count: 5 } });
    const empty = await segment(o(3), gpu);
    expect(empty).toMatchObject({ complete: false, alreadyComplete: false, chunks: { total: 2, thisShard: 0, written: 0 } });
    expect(describeSegmentRun(empty)).toMatch(
      /^shard 3\/5: nothing to do: this shard has no chunks \(the output has 2\); .*few\.zarr is not complete yet/,
    );
    expect((await segment(o(0), gpu)).complete).toBe(false);
    const redo = await segment(o(0), gpu);
    expect(describeSegmentRun(redo)).toMatch(/^shard 0\/5: nothing to do: all 1 of its chunks were already done; .* is not complete yet/);
    expect((await segment(o(1), gpu)).complete).toBe(true);
    const late = await segment(o(4), gpu);
    expect(late.alreadyComplete).toBe(true);
    const whole = join(dir, 'few-whole.zarr');
    await segment(base({ input: small, output: whole }), gpu);
    expect(same(await readSegmentation(out), await readSegmentation(whole))).toBe(true);
  });

  it('a shard of another job refuses a finished output or a partial one, naming each difference', async () => {
    const out = join(dir, 'three.zarr');
    await expect(segment(base({ output: out, threshold: 0.6, shard: { index: 0, count: 3 } }), gpu)).rejects.toThrow(
      /three\.zarr: is the finished segmentation of another job: threshold 0\.5 in the output, 0\.6 now/,
    );
    await expect(segment(base({ output: out, chunk: 32, tta: true, shard: { index: 0, count: 3 } }), gpu)).rejects.toThrow(
      /tta false in the output, true now; chunk \[16, 16, 16\] in the output, \[32, 32, 32\] now/,
    );
    const part = join(dir, 'part.zarr');
    await segment(base({ output: part, shard: { index: 0, count: 3 } }), gpu);
    await expect(segment(base({ output: part, threshold: 0.7, shard: { index: 1, count: 3 } }), gpu)).rejects.toThrow(
      /part\.zarr\.partial: partial output was started by another job \(threshold 0\.5 in the output, 0\.7 now\)/,
    );
  });

  it('validates options before writing anything', async () => {
    const out = join(dir, 'bad.zarr');
    for (const [over, msg] of [
      [{ chunk: Number('abc') }, /chunk must be a whole number from 1 to 1024, got null/],
      [{ chunk: 0 }, /chunk must be/],
      [{ threshold: 1 }, /threshold must be a number above 0 and below 1/],
      [{ batch: 0 }, /batch must be/],
      [{ level: -1 }, /level must be/],
      [{ shard: { index: 3, count: 3 } }, /shard must be i\/N/],
      [{ shard: { index: 0, count: 3 }, overwrite: true }, /--overwrite cannot be used with --shard/],
    ] as [Partial<SegmentOptions>, RegExp][]) {
      await expect(segment(base({ output: out, ...over }), gpu), JSON.stringify(over)).rejects.toThrow(msg);
      expect(existsSync(`${out}.partial`), JSON.stringify(over)).toBe(false);
    }
  });

  it('finalisation happens once when shards finish at the same moment', async () => {
    const job: JobIdentity = { input: 'x', model: 'm', threshold: 0.5, tta: false, chunk: [8, 8, 8] };
    const meta = {
      shape: [12, 8, 20] as Vec3,
      dtype: 'uint8' as const,
      voxelSize: [1, 1, 1] as Vec3,
      unit: 'micrometer' as const,
      origin: [0, 0, 0] as Vec3,
    };
    for (let trial = 0; trial < 4; trial++) {
      const out = join(dir, `race${trial}.zarr`);
      const outs = await Promise.all([0, 1, 2].map(() => SegmentationOutput.open(out, meta, job, { compression: 'blosc' }, false, true)));
      for (const c of outs[0]!.grid.chunksIn({ offset: [0, 0, 0], shape: meta.shape })) {
        const n = outs[0]!.grid.chunkBox(c).shape.reduce((a, b) => a * b, 1);
        await outs[(c[0] + c[2]) % 3]!.writeChunk(c, new Uint8Array(n).fill(7), new Uint8Array(n).fill(1));
      }
      const done = await Promise.all(outs.map((o) => o!.tryFinalize({ trial })));
      expect(done, 'every shard sees the output complete').toEqual([true, true, true]);
      expect(existsSync(`${out}.partial`)).toBe(false);
      expect(readdirSync(out).sort()).toEqual(['.zattrs', '.zgroup', '0', 'labels', 'rhizoct-job.json']);
      const got = await readSegmentation(out);
      expect(got.prob.every((v) => v === 7) && got.mask.every((v) => v === 1)).toBe(true);
    }
  });

  it('a finalising lock left by a killed process is broken once stale; a live one is waited for', async () => {
    const job: JobIdentity = { input: 'y', model: 'm', threshold: 0.5, tta: false, chunk: [8, 8, 8] };
    const meta = {
      shape: [8, 8, 8] as Vec3,
      dtype: 'uint8' as const,
      voxelSize: [1, 1, 1] as Vec3,
      unit: 'micrometer' as const,
      origin: [0, 0, 0] as Vec3,
    };
    const out = join(dir, 'locked.zarr');
    const o = (await SegmentationOutput.open(out, meta, job, { compression: 'blosc' }, false, true))!;
    await o.writeChunk([0, 0, 0], new Uint8Array(512), new Uint8Array(512));
    const lock = join(`${out}.partial`, FinalizeLock.FILE);
    writeFileSync(lock, 'node-that-died pid 1 abc\n');
    expect(await o.tryFinalize({}, 300), 'a fresh lock of another process: wait, then report not complete').toBe(false);
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(lock, old, old);
    expect(await o.tryFinalize({}), 'a lock untouched for 10 minutes is stale').toBe(true);
    expect(readdirSync(out).filter((n) => n.startsWith('.finalize'))).toEqual([]);
  });

  it('shards started together as separate processes: all exit 0, one finalises, the result is the single run; started again, all exit 0 with nothing to do', async () => {
    // 32 × 32 × 16 in chunks of 16: exactly one chunk per shard, so they finish together.
    const four = join(dir, 'four-in.zarr');
    await writeRandomScan(four, [32, 32, 16], seed + 2);
    const whole = join(dir, 'four-whole.zarr');
    await segment(base({ input: four, output: whole }), gpu);
    const out = join(dir, 'four.zarr');
    const args = (i: number): string[] => ['segment', four, out, '--model', model, '--chunk', '16', '--shard', `${i}/4`];
    const first = await Promise.all([0, 1, 2, 3].map((i) => cli(args(i))));
    for (const r of first) expect(r.code, r.err).toBe(0);
    expect(first.filter((r) => /^wrote /m.test(r.out)).length, first.map((r) => r.out).join('')).toBeGreaterThanOrEqual(1);
    expect(same(await readSegmentation(out), await readSegmentation(whole))).toBe(true);
    const second = await Promise.all([0, 1, 2, 3].map((i) => cli(args(i))));
    for (const [i, r] of second.entries()) {
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain(`shard ${i}/4: nothing to do: ${out} is already complete, made by this same job`);
    }
    const other = await cli([...args(0).map((a) => (a === '16' ? '32' : a)), '--threshold', '0.4']);
    expect(other.code).toBe(1);
    expect(other.err).toMatch(
      /four\.zarr: is the finished segmentation of another job: threshold 0\.5 in the output, 0\.4 now; chunk \[16, 16, 16\] in the output, \[32, 32, 32\] now/,
    );
  });
});

describe(`convert --shard (seed ${seed})`, () => {
  const volume = async (name: string, s: Vec3): Promise<string> => {
    const r = rng(seed + s[0]);
    const p = join(dir, name);
    const sink = await NiftiSink.create(
      p,
      { shape: s, dtype: 'uint16', voxelSize: [0.02, 0.02, 0.02], unit: 'millimeter', origin: [1, 2, 3] },
      { overwrite: true },
    );
    await sink.writeBox(
      makeBox([0, 0, 0], s),
      Uint16Array.from({ length: s[0] * s[1] * s[2] }, () => Math.floor(r() * 65536)),
    );
    await sink.finalize();
    return p;
  };

  it('N shards started together write the same bytes as one process, for Zarr v2 and v3, even and odd chunk depths', async () => {
    // 140 × 132 × 136: three levels, so the last shard builds level 2 from the shards' level 1.
    const input = await volume('vol.nii', [140, 132, 136]);
    for (const [k, c] of (
      [
        { chunk: [16, 32, 32], zarrFormat: 2, n: 4 },
        { chunk: [5, 64, 48], zarrFormat: 3, n: 3 },
      ] as { chunk: Vec3; zarrFormat: 2 | 3; n: number }[]
    ).entries()) {
      const o: ConvertOptions = { chunkShape: c.chunk, zarrFormat: c.zarrFormat, downsampler: ds };
      const single = join(dir, `vol-single${k}.zarr`);
      const res = await convertToOmeZarr(input, single, o);
      expect(res.levels).toHaveLength(3);
      const sharded = join(dir, `vol-sharded${k}.zarr`);
      const runs = await Promise.all(
        Array.from({ length: c.n }, (_, i) => convertToOmeZarr(input, sharded, { ...o, shard: { index: i, count: c.n } })),
      );
      expect(
        runs.filter((r) => r.shard!.finalised),
        'exactly one shard finalises',
      ).toHaveLength(1);
      // Shards that finished before the last slab was done report the output pending; that is all.
      expect(runs.filter((r) => r.shard!.finalised)[0]!.shard!.complete).toBe(true);
      expect(treeDifferences(fileTree(single), fileTree(sharded)), JSON.stringify(c)).toEqual([]);
      expect(existsSync(`${sharded}.partial`)).toBe(false);
    }
  });

  it('a shard with no slabs, a shard rerun, a shard after the end and a shard of another job', async () => {
    const input = await volume('vol2.nii', [40, 36, 30]);
    const out = join(dir, 'vol2.zarr');
    const o = (i: number, over: Partial<ConvertOptions> = {}): ConvertOptions => ({
      chunkShape: [8, 16, 16],
      maxLevels: 1,
      downsampler: ds,
      shard: { index: i, count: 7 },
      ...over,
    });
    // One level: a slab is one chunk row, 5 slabs for 7 shards.
    const none = await convertToOmeZarr(input, out, o(6));
    expect(none.shard).toMatchObject({ units: 5, mine: 0, complete: false });
    expect(describeConvertShard(none)).toMatch(
      /^shard 6\/7: nothing to do: this shard has no slabs \(the volume has 5\); .* is not complete yet/,
    );
    await convertToOmeZarr(input, out, o(2));
    expect(describeConvertShard(await convertToOmeZarr(input, out, o(2)))).toMatch(
      /^shard 2\/7: nothing to do: all 1 of its slabs were already done; .* is not complete yet/,
    );
    await expect(convertToOmeZarr(input, out, o(3, { chunkShape: [8, 8, 8] }))).rejects.toThrow(
      /vol2\.zarr\.partial: was started by another conversion: chunks: \[8,16,16\] in the output, \[8,8,8\] now \(0\/\.zarray\)/,
    );
    for (const i of [0, 1, 3]) expect((await convertToOmeZarr(input, out, o(i))).shard!.complete).toBe(false);
    const last = await convertToOmeZarr(input, out, o(4));
    expect(last.shard).toMatchObject({ complete: true, finalised: true });
    const again = await convertToOmeZarr(input, out, o(5));
    expect(describeConvertShard(again)).toMatch(/^shard 5\/7: nothing to do: .*vol2\.zarr is already complete, made by this same job$/);
    await expect(convertToOmeZarr(input, out, o(0, { compression: 'zstd' }))).rejects.toThrow(
      /vol2\.zarr: is the finished conversion of another job: compressor\.id: "blosc" in the output, "zstd" now/,
    );
    const single = join(dir, 'vol2-single.zarr');
    await convertToOmeZarr(input, single, { chunkShape: [8, 16, 16], maxLevels: 1 });
    expect(treeDifferences(fileTree(single), fileTree(out))).toEqual([]);
    await expect(convertToOmeZarr(input, join(dir, 'x.zarr'), o(0, { overwrite: true }))).rejects.toThrow(
      /--overwrite cannot be used with --shard/,
    );
    expect(existsSync(join(dir, 'x.zarr.partial'))).toBe(false);
  });

  it('a shard refuses a partial output left by a convert without --shard, naming it, and writes nothing', async () => {
    const input = await volume('vol3.nii', [20, 18, 16]);
    const out = join(dir, 'vol3.zarr');
    await mkdir(join(`${out}.partial`, '0'), { recursive: true });
    await expect(
      convertToOmeZarr(input, out, { chunkShape: [8, 16, 16], maxLevels: 1, downsampler: ds, shard: { index: 0, count: 2 } }),
    ).rejects.toThrow(/vol3\.zarr\.partial: exists but is not a sharded conversion/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(`${out}.partial`), 'the shard added nothing to it').toEqual(['0']);
  });

  it('a TIFF slice folder converted by three processes started together equals the single run', async () => {
    const src = join(dir, 'tifs');
    await mkdir(src);
    const r = rng(seed + 7);
    const [nz, ny, nx] = [70, 66, 68];
    for (let z = 0; z < nz; z++) {
      const s = Uint16Array.from({ length: ny * nx }, () => Math.floor(r() * 4000));
      await writeFile(join(src, `slice${String(z).padStart(4, '0')}.tif`), encodeTiffSlice(s, nx, ny));
    }
    const single = join(dir, 'tifs-single.zarr');
    await convertToOmeZarr(src, single, { chunkShape: [16, 32, 32], downsampler: ds, voxelSize: [0.1, 0.1, 0.1], unit: 'millimeter' });
    const out = join(dir, 'tifs.zarr');
    const args = (i: number): string[] => [
      'convert',
      src,
      out,
      '--chunk',
      '16,32,32',
      '--voxel-size',
      '0.1',
      '--unit',
      'mm',
      '--shard',
      `${i}/3`,
    ];
    const runs = await Promise.all([0, 1, 2].map((i) => cli(args(i))));
    for (const x of runs) expect(x.code, x.err).toBe(0);
    expect(runs.filter((x) => /this shard built the coarser levels and finished it/.test(x.out))).toHaveLength(1);
    expect(treeDifferences(fileTree(single), fileTree(out))).toEqual([]);
    const again = await cli(args(1));
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('shard 1/3: nothing to do');
  });
});
