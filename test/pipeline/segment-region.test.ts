import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/gpu.js';
import { OmeZarrWriter } from '../../src/io/zarr-write.js';
import { openVolume } from '../../src/io/open.js';
import { SegmentationOutput } from '../../src/io/segmentation-output.js';
import { type Box, type Vec3, wholeBox } from '../../src/volume/box.js';
import { ChunkGrid } from '../../src/volume/chunk-grid.js';
import { segment, type SegmentOptions } from '../../src/pipeline/segment.js';
import { synthesize } from '../../src/pipeline/synth.js';
import { evaluate } from '../../src/pipeline/eval.js';
import { measureTraits } from '../../src/pipeline/traits.js';
import { SilentProgress } from '../../src/pipeline/progress.js';
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { describeSegmentRun, register as registerSegment } from '../../src/cli/commands/segment.js';
import { testGpu } from '../helpers/gpu.js';
import { writeTinyModel } from './shard-fixtures.js';
import { freshSeed, rng } from '../helpers/random.js';

/**
 * `segment --region`: only the chunks meeting a box are segmented, in OUT itself, each to the
 * bytes a whole-scan run writes there; chunks outside are left as they were (or absent); the
 * metadata and the job file say which regions the output holds; a run without a region completes
 * it in place. Bad regions are refused, naming the option, before anything is written.
 */

let gpu: Gpu;
const seed = freshSeed();
const dir = mkdtempSync(join(tmpdir(), 'segment-region-'));
const input = join(dir, 'scan.zarr');
const model = join(dir, 'model');
const shape: Vec3 = [40, 50, 45]; // not a multiple of the chunk
const CHUNK = 16;

beforeAll(async () => {
  gpu = await testGpu();
  const r = rng(seed);
  const data = new Uint16Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(10000 + 20000 * r() * r());
  const w = await OmeZarrWriter.create(
    input,
    { shape, dtype: 'uint16', voxelSize: [0.05, 0.04, 0.04], unit: 'millimeter', origin: [1, 2, 3] },
    { zarrFormat: 2, chunkShape: [32, 32, 32], compression: { compression: 'blosc' }, levelCount: 2, method: 'mean' },
  );
  await w.writeLevelBox(0, wholeBox(shape), data);
  await w.finalize();
  await writeTinyModel(gpu, model, seed);
});

// Nothing removed by size or shape (minComponent, compactBelow 0): a region keeps small pieces reaching chunks not yet segmented, which
// the whole scan removes; that rule has its own test in segment.test.ts.
const base = {
  model,
  threshold: 0.5,
  tta: false,
  batch: 4,
  overwrite: false,
  chunk: CHUNK,
  progress: new SilentProgress(),
  minComponent: 0,
  compactBelow: 0,
};
const run = (o: Partial<SegmentOptions> & { output: string }): ReturnType<typeof segment> => segment({ ...base, input, ...o }, gpu);
const box = (ranges: [number, number][]): Box => ({
  offset: ranges.map((r) => r[0]) as unknown as Vec3,
  shape: ranges.map((r) => r[1] - r[0]) as unknown as Vec3,
});

async function readOut(path: string): Promise<{ prob: Uint8Array; mask: Uint8Array }> {
  const p = await openVolume(path);
  const m = await openVolume(path, { label: 'roots' });
  return { prob: (await p.readBox(wholeBox(p.shape))) as Uint8Array, mask: (await m.readBox(wholeBox(m.shape))) as Uint8Array };
}

/** Every chunk file of both arrays, with its bytes and modification time. */
function chunkFiles(path: string): Map<string, { bytes: Buffer; mtimeMs: number }> {
  const out = new Map<string, { bytes: Buffer; mtimeMs: number }>();
  for (const arr of ['0', 'labels/roots/0']) {
    const root = join(path, arr);
    if (!existsSync(root)) continue;
    for (const f of readdirSync(root, { recursive: true }).map(String)) {
      const file = join(root, f);
      if (f.endsWith('.zarray') || statSync(file).isDirectory()) continue;
      out.set(`${arr}/${f}`, { bytes: readFileSync(file), mtimeMs: statSync(file).mtimeMs });
    }
  }
  return out;
}

const grid = new ChunkGrid(shape, [CHUNK, CHUNK, CHUNK]);
const chunksOf = (b: Box): Vec3[] => [...grid.chunksIn(b)];
const key = (c: Vec3): string => c.join('/');
const attrs = (path: string, file = '.zattrs'): { rhizoct: Record<string, unknown> } =>
  JSON.parse(readFileSync(join(path, file), 'utf8')) as { rhizoct: Record<string, unknown> };

/** True when voxel i (of the whole volume) lies in one of the chunks. */
function inChunks(chunks: Vec3[]): (z: number, y: number, x: number) => boolean {
  const set = new Set(chunks.map(key));
  return (z, y, x) => set.has([Math.floor(z / CHUNK), Math.floor(y / CHUNK), Math.floor(x / CHUNK)].join('/'));
}

/** Compares `got` with the whole-scan reference voxel by voxel: equal inside `chunks`, 0 elsewhere. */
function expectRegionOf(got: { prob: Uint8Array; mask: Uint8Array }, ref: { prob: Uint8Array; mask: Uint8Array }, chunks: Vec3[]): void {
  const inside = inChunks(chunks);
  let checked = 0;
  for (let z = 0, i = 0; z < shape[0]; z++)
    for (let y = 0; y < shape[1]; y++)
      for (let x = 0; x < shape[2]; x++, i++) {
        const want = inside(z, y, x) ? [ref.prob[i]!, ref.mask[i]!] : [0, 0];
        if (got.prob[i] !== want[0] || got.mask[i] !== want[1])
          throw new Error(
            `voxel ${z},${y},${x} (${inside(z, y, x) ? 'segmented' : 'not segmented'}): probability ${got.prob[i]} mask ${got.mask[i]}, want ${want.join(', ')}`,
          );
        if (inside(z, y, x)) checked++;
      }
  expect(checked).toBeGreaterThan(0);
}

describe(`segment --region (seed ${seed})`, () => {
  let ref: Awaited<ReturnType<typeof readOut>>;
  const out = join(dir, 'region.zarr');
  const first = box([
    [5, 20],
    [10, 30],
    [0, 10],
  ]); // meets chunks z 0–1, y 0–1, x 0: 4 chunks
  const second = box([
    [33, 40],
    [33, 48],
    [33, 45],
  ]); // the far corner: 1 chunk
  let afterFirst: Map<string, { bytes: Buffer; mtimeMs: number }>;

  it('a whole-scan reference', async () => {
    const s = await run({ output: join(dir, 'whole.zarr') });
    expect(s.complete).toBe(true);
    ref = await readOut(join(dir, 'whole.zarr'));
    expect(new Set(ref.prob).size, 'varied probabilities').toBeGreaterThan(5);
  });

  it('segments only the chunks meeting the box, each byte for byte as the whole-scan run; the rest absent and said to be not segmented', async () => {
    const s = await run({ output: out, region: first });
    const want = chunksOf(first);
    expect(want.length).toBe(4);
    expect(s.complete).toBe(false);
    expect(s.region).toEqual([
      [5, 20],
      [10, 30],
      [0, 10],
    ]);
    expect(s.chunks).toEqual({ total: grid.chunkCount, thisShard: 4, skipped: 0, written: 4 });
    expect(s.coverage).toMatchObject({
      complete: false,
      regions: [
        [
          [5, 20],
          [10, 30],
          [0, 10],
        ],
      ],
      chunks: { segmented: 4, total: grid.chunkCount },
    });
    expect(existsSync(`${out}.partial`), 'a region run works in OUT itself').toBe(false);
    afterFirst = chunkFiles(out);
    expect([...afterFirst.keys()].sort()).toEqual(want.flatMap((c) => [`0/${key(c)}`, `labels/roots/0/${key(c)}`]).sort());
    expectRegionOf(await readOut(out), ref, want);
    // The metadata says it is not complete, and which region it holds, in the image, the label and the job file.
    for (const file of ['.zattrs', 'labels/roots/.zattrs']) {
      expect(attrs(out, file).rhizoct.coverage, file).toMatchObject({
        complete: false,
        regions: [
          [
            [5, 20],
            [10, 30],
            [0, 10],
          ],
        ],
        chunks: { segmented: 4, total: grid.chunkCount },
      });
      expect(String((attrs(out, file).rhizoct.coverage as { note: string }).note)).toMatch(/not segmented/);
    }
    expect((JSON.parse(readFileSync(join(out, 'rhizoct-job.json'), 'utf8')) as { coverage: unknown }).coverage).toMatchObject({
      complete: false,
      regions: [
        [
          [5, 20],
          [10, 30],
          [0, 10],
        ],
      ],
    });
    expect(await SegmentationOutput.isComplete(out)).toBe(false);
    expect(describeSegmentRun(s)).toMatch(
      new RegExp(
        `segmented --region 5:20,10:30,0:10: 4 chunks written, 0 already done; .*region\\.zarr holds 1 region \\(5:20,10:30,0:10\\), 4 of ${grid.chunkCount} chunks segmented; the rest is not segmented`,
      ),
    );
  });

  it('a second region updates the store in place: its chunks added, every other chunk file untouched', async () => {
    await new Promise((r) => setTimeout(r, 20)); // a rewrite would show in the modification time
    const s = await run({ output: out, region: second });
    expect(s.chunks.written).toBe(1);
    const now = chunkFiles(out);
    for (const [k, v] of afterFirst) {
      expect(now.get(k)?.mtimeMs, `${k} not rewritten`).toBe(v.mtimeMs);
      expect(Buffer.compare(now.get(k)!.bytes, v.bytes), `${k} unchanged`).toBe(0);
    }
    const both = [...chunksOf(first), ...chunksOf(second)];
    expect(now.size).toBe(2 * both.length);
    expectRegionOf(await readOut(out), ref, both);
    expect(s.coverage).toMatchObject({
      regions: [
        [
          [5, 20],
          [10, 30],
          [0, 10],
        ],
        [
          [33, 40],
          [33, 48],
          [33, 45],
        ],
      ],
      chunks: { segmented: 5 },
    });
    expect(attrs(out).rhizoct.coverage).toMatchObject({
      regions: [
        [
          [5, 20],
          [10, 30],
          [0, 10],
        ],
        [
          [33, 40],
          [33, 48],
          [33, 45],
        ],
      ],
    });
  });

  it('the same region again has nothing to do', async () => {
    const s = await run({ output: out, region: second });
    expect(s.chunks).toMatchObject({ written: 0, skipped: 1 });
    expect(describeSegmentRun(s)).toMatch(/nothing to do: all 1 of its chunks were already segmented by this job/);
  });

  it('eval and traits refuse a region store: its absent chunks were not looked at', async () => {
    const partial = /region\.zarr: holds only some regions of the scan .*2 regions .*complete it with rhizoct segment without --region/;
    await expect(evaluate(out, input, { bands: 1, progress: new SilentProgress() })).rejects.toThrow(partial);
    await expect(measureTraits(out, { out: join(dir, 'traits-of-region') })).rejects.toThrow(partial);
    expect(existsSync(join(dir, 'traits-of-region')), 'nothing written').toBe(false);
  });

  it('a region run stopped early lists only what it finished; run again, it resumes and lists the region', async () => {
    const o = join(dir, 'stopped.zarr');
    const r = box([
      [0, 40],
      [0, 20],
      [0, 20],
    ]); // 3 × 2 × 2 = 12 chunks
    const s = await run({ output: o, region: r, stopAfter: 3 });
    const done = s.chunks.written; // the chunk computed while the third was written is written too
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(12);
    expect(attrs(o).rhizoct.coverage).toMatchObject({ complete: false, regions: [], chunks: { segmented: done } });
    const again = await run({ output: o, region: r });
    expect(again.chunks).toMatchObject({ written: 12 - done, skipped: done });
    expect(attrs(o).rhizoct.coverage).toMatchObject({
      regions: [
        [
          [0, 40],
          [0, 20],
          [0, 20],
        ],
      ],
      chunks: { segmented: 12 },
    });
    expectRegionOf(await readOut(o), ref, chunksOf(r));
  });

  it('a run without a region completes the store in place, skipping what it holds, to the whole-scan bytes', async () => {
    await expect(run({ output: out, shard: { index: 0, count: 2 } }), 'shards do not complete a region store').rejects.toThrow(
      /region\.zarr: holds only some regions of the scan .*run once without --shard/,
    );
    const s = await run({ output: out });
    expect(s.complete).toBe(true);
    expect(s.chunks.skipped).toBe(5);
    expect(s.chunks.written).toBe(grid.chunkCount - 5);
    const got = await readOut(out);
    expect(Buffer.compare(Buffer.from(got.prob), Buffer.from(ref.prob))).toBe(0);
    expect(Buffer.compare(Buffer.from(got.mask), Buffer.from(ref.mask))).toBe(0);
    expect(attrs(out).rhizoct.coverage, 'a complete output has no coverage').toBeUndefined();
    expect(attrs(out, 'labels/roots/.zattrs').rhizoct.coverage).toBeUndefined();
    expect((JSON.parse(readFileSync(join(out, 'rhizoct-job.json'), 'utf8')) as { coverage?: unknown }).coverage).toBeUndefined();
    expect(existsSync(join(out, '.done'))).toBe(false);
    expect(await SegmentationOutput.isComplete(out)).toBe(true);
  });

  it('a region of a complete output of the same job has nothing to do and writes nothing', async () => {
    const before = chunkFiles(out);
    const s = await run({ output: out, region: first });
    expect(s.complete).toBe(true);
    expect(s.chunks).toMatchObject({ written: 0, skipped: 4 });
    const now = chunkFiles(out);
    for (const [k, v] of before) expect(now.get(k)?.mtimeMs, k).toBe(v.mtimeMs);
    expect(describeSegmentRun(s)).toMatch(/nothing to do.*is complete/);
  });

  it('keepSameJob with overwrite (the viewer): a region store of the same job is completed, not replaced', async () => {
    const o = join(dir, 'keep.zarr');
    await run({ output: o, region: second });
    const s = await run({ output: o, overwrite: true, keepSameJob: true });
    expect(s.complete).toBe(true);
    expect(s.chunks.skipped).toBe(1);
    const again = await run({ output: o, overwrite: true, keepSameJob: true });
    expect(again.alreadyComplete, 'complete and the same job: nothing to do').toBe(true);
    const other = await run({ output: o, overwrite: true, keepSameJob: true, threshold: 0.6, region: second });
    expect(other.chunks.written, "another job's output is replaced").toBe(1);
    expect(attrs(o).rhizoct.threshold).toBe(0.6);
  });

  it("refuses a region outside the scan, empty or malformed, another job's output, and --shard/--level/--nifti with it, writing nothing", async () => {
    const o = join(dir, 'refused.zarr');
    const cases: [Partial<SegmentOptions>, RegExp][] = [
      [
        {
          region: box([
            [0, 40],
            [0, 50],
            [0, 46],
          ]),
        },
        /--region 0:40,0:50,0:46 of .*scan\.zarr \(shape 40×50×45\): x 0:46 ends past the scan's 45 voxels along x \(0:45\)/,
      ],
      [
        {
          region: box([
            [40, 41],
            [0, 1],
            [0, 1],
          ]),
        },
        /--region .*z 40:41 ends past the scan's 40 voxels/,
      ],
      [{ region: { offset: [0, 0, 0], shape: [4, 0, 4] } }, /--region y 0:0 is empty/],
      [{ region: { offset: [-1, 0, 0], shape: [4, 4, 4] } }, /--region z starts at -1/],
      [{ region: { offset: [0, 0, 0.5], shape: [4, 4, 4] } }, /--region x .* must be whole numbers/],
      [{ region: first, shard: { index: 0, count: 2 } }, /--region cannot be used with --shard/],
      [{ region: first, level: 1 }, /--region .*cannot be used with --level/],
      [{ region: first, nifti: join(dir, 'm.nii') }, /--nifti .*cannot be used with --region/],
    ];
    for (const [opts, msg] of cases) await expect(run({ output: o, ...opts }), JSON.stringify(opts)).rejects.toThrow(msg);
    expect(existsSync(o) || existsSync(`${o}.partial`) || existsSync(`${o}.input.zarr`), 'nothing written').toBe(false);
    // Another job's output (another threshold) is refused, naming the difference, and kept as it was.
    const before = chunkFiles(out);
    await expect(run({ output: out, region: second, threshold: 0.7 })).rejects.toThrow(
      /region\.zarr: is the segmentation of another job: threshold 0\.5 in the output, 0\.7 now.*--overwrite/,
    );
    expect(chunkFiles(out).size).toBe(before.size);
  });

  it('the command line: --region parsed and refused naming the option, before a GPU is acquired; a region run says what the output holds', async () => {
    const o = join(dir, 'cli.zarr');
    const program = (): Command => {
      const p = new Command().exitOverride();
      registerSegment(p);
      p.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined }));
      return p;
    };
    const cli = (...args: string[]): Promise<unknown> =>
      program().parseAsync(['node', 'rhizoct', 'segment', input, o, '--model', model, '--quiet', ...args]);
    await expect(cli('--region', '0:4,0:4')).rejects.toThrow(
      /option '--region <z0:z1,y0:y1,x0:x1>' argument '0:4,0:4' is invalid\. must be z0:z1,y0:y1,x0:x1/,
    );
    await expect(cli('--region', '0:4,4:4,0:4')).rejects.toThrow(/--region.*must not be empty: y range 4:4/);
    await expect(cli('--region', '0:4,0:4,0:x')).rejects.toThrow(/--region.*x range "0:x": bounds must be a whole number ≥ 0, got "x"/);
    await expect(cli('--region', '0:4,0:4,0:4', '--shard', '0/2')).rejects.toThrow(/--region 0:4,0:4,0:4 cannot be used with --shard/);
    await expect(cli('--region', '0:41,0:4,0:4', '--chunk', '16')).rejects.toThrow(
      /--region 0:41,0:4,0:4 of .*: z 0:41 ends past the scan's 40 voxels/,
    );
    expect(existsSync(o) || existsSync(`${o}.partial`)).toBe(false);
    const r = spawnSync(
      join('node_modules', '.bin', 'tsx'),
      // Nothing removed by size, as the reference (`base`): the default --min-component would drop the
      // small pieces lying wholly inside the region's chunks, which the reference keeps.
      ['src/cli/main.ts', 'segment', input, o, '--model', model, '--chunk', '16', '--min-component', '0', '--region', '5:20,10:30,0:10'],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /segmented --region 5:20,10:30,0:10: 4 chunks written, 0 already done; .*cli\.zarr holds 1 region \(5:20,10:30,0:10\), 4 of \d+ chunks segmented; the rest is not segmented/,
    );
    expectRegionOf(await readOut(o), ref, chunksOf(first));
  });
});

describe('segment --region with the default model on a synthetic scan', () => {
  it('a region runs on the tile chosen for the whole scan, so its job is the whole-scan job', async () => {
    // 72³ at level 0 only: one 144³ patch predicting 128³ computes less than eight 80³ predicting 64³.
    const scan = join(dir, 'tile-128.zarr');
    const s: Vec3 = [72, 72, 72];
    const w = await OmeZarrWriter.create(
      scan,
      { shape: s, dtype: 'uint8', voxelSize: [0.05, 0.05, 0.05], unit: 'millimeter', origin: [0, 0, 0] },
      { zarrFormat: 2, chunkShape: [32, 32, 32], compression: { compression: 'blosc' }, levelCount: 1, method: 'mean' },
    );
    const r = rng(seed + 1);
    await w.writeLevelBox(
      0,
      wholeBox(s),
      Uint8Array.from({ length: s[0] * s[1] * s[2] }, () => Math.floor(256 * r())),
    );
    await w.finalize();
    const opts = { ...base, model: 'models/default', input: scan, chunk: 64, stopAfter: 0 };
    const job = (file: string): Record<string, unknown> => (JSON.parse(readFileSync(file, 'utf8')) as { job: Record<string, unknown> }).job;
    const whole = await segment({ ...opts, output: join(dir, 'tile-whole.zarr') }, gpu);
    const region = box([
      [64, 72],
      [0, 64],
      [0, 64],
    ]);
    const part = await segment({ ...opts, output: join(dir, 'tile-region.zarr'), region }, gpu);
    expect([whole.tile, part.tile]).toEqual([128, 128]);
    expect(job(join(dir, 'tile-whole.zarr.partial', 'rhizoct-job.json')).tile).toBe(128);
    expect(job(join(dir, 'tile-region.zarr', 'rhizoct-job.json'))).toEqual(job(join(dir, 'tile-whole.zarr.partial', 'rhizoct-job.json')));
    const asked = await segment({ ...opts, output: join(dir, 'tile-64.zarr'), region, tile: 64 }, gpu);
    expect(asked.tile).toBe(64);
    expect(job(join(dir, 'tile-64.zarr', 'rhizoct-job.json')).tile).toBe(64);
  });

  it('the chunks meeting the region hold exactly what a whole-scan run writes there', async () => {
    const scan = join(dir, 'synth.zarr');
    const s: Vec3 = [48, 64, 72];
    await synthesize(scan, { seed: 3, shape: s, voxelSize: [0.05, 0.05, 0.05], difficulty: 'medium', chunkShape: [32, 32, 32], gpu });
    const opts = { ...base, model: 'models/default', input: scan, chunk: 32 };
    const whole = await segment({ ...opts, output: join(dir, 'synth-whole.zarr') }, gpu);
    expect(whole.complete).toBe(true);
    const region = box([
      [20, 30],
      [40, 64],
      [0, 20],
    ]); // chunks z 0, y 1, x 0: 1 of 2 × 2 × 3
    const part = await segment({ ...opts, output: join(dir, 'synth-region.zarr'), region }, gpu);
    expect(part.chunks.written).toBe(1);
    const a = await readOut(join(dir, 'synth-whole.zarr'));
    const b = await readOut(join(dir, 'synth-region.zarr'));
    let roots = 0;
    for (let z = 0, i = 0; z < s[0]; z++)
      for (let y = 0; y < s[1]; y++)
        for (let x = 0; x < s[2]; x++, i++) {
          const inside = z < 32 && y >= 32 && x < 32;
          if (b.prob[i] !== (inside ? a.prob[i] : 0) || b.mask[i] !== (inside ? a.mask[i] : 0))
            throw new Error(`voxel ${z},${y},${x}: ${b.prob[i]}/${b.mask[i]} vs whole ${a.prob[i]}/${a.mask[i]}`);
          if (inside && a.mask[i]) roots++;
        }
    console.log(
      `default model: ${roots} root voxels in the region's chunk, identical to the whole-scan run (${whole.seconds.toFixed(1)} s whole, ${part.seconds.toFixed(1)} s region)`,
    );
  }, 600_000);
});
