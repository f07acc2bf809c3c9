import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/gpu.js';
import { OmeZarrWriter } from '../../src/io/zarr-write.js';
import { openVolume } from '../../src/io/open.js';
import { type Vec3, wholeBox } from '../../src/volume/box.js';
import { labelComponents } from '../../src/analysis/components.js';
import { maskInMemory, removeSpecks } from '../../src/analysis/speck-filter.js';
import { buildModel, saveModel } from '../../src/nn/models/registry.js';
import { segment } from '../../src/pipeline/segment.js';
import { convertToOmeZarr } from '../../src/pipeline/convert.js';
import { predictFused } from '../../src/nn/models/infer.js';
import { SilentProgress } from '../../src/pipeline/progress.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng } from '../helpers/random.js';

let gpu: Gpu;
const seed = freshSeed();
const dir = mkdtempSync(join(tmpdir(), 'segment-'));
const input = join(dir, 'scan.zarr');
const model = join(dir, 'model');
const shape = [40, 50, 45] as const; // not a multiple of any chunk
// A longer run for the kill test, so the kill lands mid-way even on a loaded machine.
const bigInput = join(dir, 'big.zarr');
const bigShape = [64, 112, 112] as const;

beforeAll(async () => {
  gpu = await testGpu();
  const r = rng(seed);
  const data = new Uint16Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(10000 + 20000 * r() * r());
  const w = await OmeZarrWriter.create(
    input,
    { shape: [...shape], dtype: 'uint16', voxelSize: [0.05, 0.04, 0.04], unit: 'millimeter', origin: [1, 2, 3] },
    { zarrFormat: 2, chunkShape: [32, 32, 32], compression: { compression: 'blosc' }, levelCount: 1, method: 'mean' },
  );
  await w.writeLevelBox(0, wholeBox([...shape]), data);
  await w.finalize();
  const big = new Uint16Array(bigShape[0] * bigShape[1] * bigShape[2]);
  for (let i = 0; i < big.length; i++) big[i] = Math.floor(10000 + 20000 * r() * r());
  const wb = await OmeZarrWriter.create(
    bigInput,
    { shape: [...bigShape], dtype: 'uint16', voxelSize: [0.05, 0.04, 0.04], unit: 'millimeter', origin: [1, 2, 3] },
    { zarrFormat: 2, chunkShape: [32, 32, 32], compression: { compression: 'blosc' }, levelCount: 1, method: 'mean' },
  );
  await wb.writeLevelBox(0, wholeBox([...bigShape]), big);
  await wb.finalize();
  const m = buildModel(gpu, { arch: 'dual', patch: 16, widths: [4, 6], lowScale: 2, lowPatch: 12, lowWidths: [3, 5] }, seed);
  // Output weights scaled so the untrained network's logits have an SD of ~2 on inputs like the
  // scan's: its probabilities then spread over 0..255 whatever the seed (a fixed large scale
  // saturated them to a handful of values on some seeds).
  const head = m.parameters().find((p) => p.name === 'fuse.3.weight')!.item.value;
  const bias = m.parameters().find((p) => p.name === 'fuse.3.bias')!.item.value;
  const headW = Float32Array.from({ length: head.size }, () => r() * 2 - 1);
  gpu.upload(headW, head.buffer);
  gpu.upload(new Float32Array(bias.size), bias.buffer);
  const g = m.geometry;
  const like = (n: number): Float32Array => Float32Array.from({ length: n ** 3 }, () => r() * r());
  const probe = await predictFused(gpu, m, [like(g.highInput), like(g.highInput)], [like(g.lowInput), like(g.lowInput)]);
  const logits = Array.from(probe, (v) => Math.log(v / (1 - v)));
  const mean = logits.reduce((a, b) => a + b, 0) / logits.length;
  const sd = Math.sqrt(logits.reduce((a, b) => a + (b - mean) ** 2, 0) / logits.length);
  gpu.upload(
    headW.map((v) => (v * 2) / sd),
    head.buffer,
  );
  await saveModel(m, model, { normalisation: { offset: 10000, scale: 20000 } });
});

// Unfiltered masks (minComponent and compactBelow 0), so each mask voxel is its probability's threshold; the filter has its own test below.
const base = {
  model,
  threshold: 0.5,
  tta: false,
  batch: 4,
  overwrite: false,
  progress: new SilentProgress(),
  minComponent: 0,
  compactBelow: 0,
};

async function readOut(path: string): Promise<{
  prob: Uint8Array;
  mask: Uint8Array;
  meta: { shape: readonly number[]; voxelSize: readonly number[]; origin: readonly number[] };
}> {
  const p = await openVolume(path);
  const m = await openVolume(path, { label: 'roots' });
  const prob = (await p.readBox(wholeBox(p.shape))) as Uint8Array;
  const mask = (await m.readBox(wholeBox(m.shape))) as Uint8Array;
  return { prob, mask, meta: { shape: p.shape, voxelSize: p.voxelSize, origin: p.origin } };
}

function cli(args: string[]): ReturnType<typeof spawn> {
  // Its own process group, so a kill reaches tsx's child node process too.
  return spawn(join('node_modules', '.bin', 'tsx'), ['src/cli/main.ts', ...args], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
}

async function runCli(args: string[]): Promise<void> {
  const p = cli(args);
  let err = '';
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((res) => p.on('exit', res));
  if (code !== 0) throw new Error(`rhizoct ${args.join(' ')} exited ${code}: ${err}`);
}

describe(`segment: streaming, block-size invariant, resumable, shardable (seed ${seed})`, () => {
  let reference: Awaited<ReturnType<typeof readOut>>;

  it('writes probabilities and mask with the input shape, voxel size and origin', async () => {
    const s = await segment({ ...base, input, output: join(dir, 'a.zarr'), chunk: 16 }, gpu);
    expect(s.complete).toBe(true);
    expect(s.chunks.written).toBe(s.chunks.total);
    reference = await readOut(join(dir, 'a.zarr'));
    expect([...reference.meta.shape]).toEqual([...shape]);
    expect([...reference.meta.voxelSize]).toEqual([0.05, 0.04, 0.04]);
    expect([...reference.meta.origin]).toEqual([1, 2, 3]);
    const distinct = new Set(reference.prob);
    expect(distinct.size, 'an untrained network still gives varied probabilities').toBeGreaterThan(5);
    for (let i = 0; i < reference.prob.length; i++) {
      if (reference.prob[i]! >= 128 !== (reference.mask[i] === 1) && Math.abs(reference.prob[i]! - 127.5) > 1)
        throw new Error(`mask disagrees with probability at ${i}`);
    }
  });

  it('gives identical bytes for a different block size', async () => {
    await segment({ ...base, input, output: join(dir, 'b.zarr'), chunk: 48 }, gpu);
    const b = await readOut(join(dir, 'b.zarr'));
    expect(Buffer.compare(Buffer.from(b.prob), Buffer.from(reference.prob))).toBe(0);
    expect(Buffer.compare(Buffer.from(b.mask), Buffer.from(reference.mask))).toBe(0);
  });

  it('decodes a non-Zarr input once into a temporary pyramid, removed when done, with the same result', async () => {
    const nii = join(dir, 'scan.nii');
    await convertToOmeZarr(input, nii);
    const out = join(dir, 'from-nifti.zarr');
    const s = await segment({ ...base, input: nii, output: out, chunk: 16 }, gpu);
    expect(s.complete).toBe(true);
    expect(existsSync(`${out}.input.zarr`), 'the temporary pyramid is removed').toBe(false);
    const n = await readOut(out);
    expect(Buffer.compare(Buffer.from(n.prob), Buffer.from(reference.prob))).toBe(0);
  });

  it('resumes after an interruption, skipping finished chunks, to identical bytes', async () => {
    const out = join(dir, 'c.zarr');
    const first = await segment({ ...base, input, output: out, chunk: 16, stopAfter: 5 }, gpu);
    expect(first.complete).toBe(false);
    expect(existsSync(out)).toBe(false);
    const second = await segment({ ...base, input, output: out, chunk: 16 }, gpu);
    expect(second.chunks.skipped).toBe(first.chunks.written);
    expect(first.chunks.written).toBeGreaterThanOrEqual(5);
    expect(second.complete).toBe(true);
    const c = await readOut(out);
    expect(Buffer.compare(Buffer.from(c.prob), Buffer.from(reference.prob))).toBe(0);
  });

  it('a run killed mid-way (SIGKILL) and restarted gives the uninterrupted result', async () => {
    const out = join(dir, 'k.zarr');
    const args = [
      'segment',
      bigInput,
      out,
      '--model',
      model,
      '--chunk',
      '16',
      '--batch',
      '1',
      '--min-component',
      '0',
      '--compact-below',
      '0',
      '--quiet',
    ];
    const p = cli(args);
    let exited = false;
    let err = '';
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exit = new Promise((r) => p.on('exit', () => r((exited = true))));
    const done = join(`${out}.partial`, '.done');
    const t0 = Date.now();
    while (!exited && !(existsSync(done) && readdirSync(done).length >= 3) && Date.now() - t0 < 60_000)
      await new Promise((r) => setTimeout(r, 20));
    expect(exited, `the run ended before it could be killed: ${err}`).toBe(false);
    process.kill(-p.pid!, 'SIGKILL');
    await exit;
    const killedAt = readdirSync(done).length;
    expect(killedAt, 'killed mid-way, not at the end').toBeLessThan(4 * 7 * 7);
    expect(existsSync(out), 'a killed run leaves no complete-looking output').toBe(false);
    await runCli(args);
    const k = await readOut(out);
    const whole = await segment({ ...base, input: bigInput, output: join(dir, 'k-whole.zarr'), chunk: 32 }, gpu);
    expect(whole.complete).toBe(true);
    const w = await readOut(join(dir, 'k-whole.zarr'));
    expect(Buffer.compare(Buffer.from(k.prob), Buffer.from(w.prob))).toBe(0);
    expect(Buffer.compare(Buffer.from(k.mask), Buffer.from(w.mask))).toBe(0);
  });

  it('three shards as separate processes produce the single-process result', async () => {
    const out = join(dir, 's.zarr');
    await Promise.all(
      [0, 1, 2].map((i) => runCli(['segment', input, out, '--model', model, '--chunk', '16', '--shard', `${i}/3`, '--quiet'])),
    );
    const s = await readOut(out);
    expect(Buffer.compare(Buffer.from(s.prob), Buffer.from(reference.prob))).toBe(0);
  });

  it('a disk that fills up mid-run: a clear error, the written chunks intact, and a re-run on more space resumes to the full result', async (ctx) => {
    // A real full disk: a small tmpfs (needs root, as on CI's VM); skipped, saying why, elsewhere.
    const mnt = join(dir, 'small-disk');
    mkdirSync(mnt);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=48k', 'tmpfs', mnt], { encoding: 'utf8' });
    if (mount.status !== 0) {
      console.log(`[SKIPPED: cannot mount a small tmpfs to fill (${(mount.stderr || String(mount.error)).trim()})]`);
      return ctx.skip();
    }
    try {
      const out = join(mnt, 'full.zarr');
      const err = await segment({ ...base, input, output: out, chunk: 16 }, gpu).then(
        () => null,
        (e: Error) => e,
      );
      expect(err, 'the run must fail on a 48 KiB disk').not.toBeNull();
      expect(err!.message).toMatch(
        /full\.zarr: writing chunk \d+\.\d+\.\d+ failed: the disk is full \(ENOSPC\)\. \d+ of 36 chunks are written and intact .*run the same command again to resume/,
      );
      const done = readdirSync(join(`${out}.partial`, '.done')).length;
      expect(done, 'some chunks were written before the disk filled').toBeGreaterThan(0);
      expect(done).toBeLessThan(36);
      expect(err!.message).toContain(`${done} of 36`);
      expect(existsSync(out), 'no complete-looking output').toBe(false);
      expect(
        readdirSync(join(`${out}.partial`, '0')).filter((f) => f.includes('.tmp-')),
        'no temp files left behind',
      ).toEqual([]);
      expect(spawnSync('mount', ['-o', 'remount,size=8m', mnt]).status).toBe(0);
      const second = await segment({ ...base, input, output: out, chunk: 16 }, gpu);
      expect(second.complete).toBe(true);
      expect(second.chunks.skipped).toBe(done);
      const full = await readOut(out);
      await segment({ ...base, input, output: join(dir, 'full-reference.zarr'), chunk: 16 }, gpu);
      const reference = await readOut(join(dir, 'full-reference.zarr'));
      expect(Buffer.compare(Buffer.from(full.prob), Buffer.from(reference.prob))).toBe(0);
      expect(Buffer.compare(Buffer.from(full.mask), Buffer.from(reference.mask))).toBe(0);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('--min-component removes the pieces of the mask under the size, the same whatever the chunking, sharding or regions', async () => {
    // A threshold that leaves about a tenth of the voxels root, and a size between the pieces' sizes,
    // so that whatever the seed's untrained network gives there are pieces to remove and to keep.
    const sorted = Uint8Array.from(reference.prob).sort();
    const sparse = { ...base, threshold: Math.min(0.99, Math.max(0.01, sorted[Math.floor(0.9 * sorted.length)]! / 255)) };
    await segment({ ...sparse, input, output: join(dir, 'sp-none.zarr'), chunk: 16 }, gpu);
    const none = await readOut(join(dir, 'sp-none.zarr'));
    const lab = labelComponents(none.mask, [...shape], 26);
    const sizes = Array.from(lab.sizes.slice(1)).sort((a, b) => a - b);
    const min = Math.max(2, sizes[Math.floor(sizes.length / 2)]!);
    const small = sizes.filter((v) => v < min).length;
    expect(small, 'the unfiltered mask has pieces under the size').toBeGreaterThan(0);
    expect(lab.count - small, 'and pieces at or over it').toBeGreaterThan(0);
    const want = Uint8Array.from(none.mask, (v, i) => (v && lab.sizes[lab.labels[i]!]! >= min ? 1 : 0));
    const same = (got: Awaited<ReturnType<typeof readOut>>, what: string): void => {
      expect(Buffer.compare(Buffer.from(got.mask), Buffer.from(want)), `${what}: the mask`).toBe(0);
      expect(Buffer.compare(Buffer.from(got.prob), Buffer.from(none.prob)), `${what}: the probabilities are not filtered`).toBe(0);
    };
    for (const chunk of [16, 48]) {
      const out = join(dir, `sp-${chunk}.zarr`);
      const s = await segment({ ...sparse, input, output: out, chunk, minComponent: min }, gpu);
      expect(s.complete).toBe(true);
      same(await readOut(out), `chunk ${chunk}`);
      const attrs = JSON.parse(readFileSync(join(out, 'labels', 'roots', '.zattrs'), 'utf8')) as {
        rhizoct: { specks: { minComponent: number; removed: number; components: number } };
      };
      expect(attrs.rhizoct.specks).toMatchObject({ minComponent: min, removed: small, components: lab.count });
    }
    const sharded = join(dir, 'sp-shards.zarr');
    for (const index of [0, 1, 2])
      await segment({ ...sparse, input, output: sharded, chunk: 16, minComponent: min, shard: { index, count: 3 } }, gpu);
    same(await readOut(sharded), 'three shards');
    // A region store, then completed in place: a piece reaching a chunk not yet segmented is kept until then.
    const regions = join(dir, 'sp-regions.zarr');
    const region = { offset: [0, 0, 0] as Vec3, shape: [24, 30, 45] as Vec3 };
    await segment({ ...sparse, input, output: regions, chunk: 16, minComponent: min, region }, gpu);
    const part = (await readOut(regions)).mask;
    const inRegion = (i: number): boolean => Math.floor(i / (shape[1] * shape[2])) < 32 && Math.floor(i / shape[2]) % shape[1] < 32;
    for (let i = 0; i < part.length; i++) {
      if (part[i]) expect(inRegion(i) && none.mask[i], `voxel ${i} lies in the region's chunks and was root`).toBeTruthy();
      else if (inRegion(i) && want[i]) expect.fail(`voxel ${i} of the region is kept in the whole scan but not in the region`);
    }
    const store = JSON.parse(readFileSync(join(regions, 'labels', 'roots', '.zattrs'), 'utf8')) as {
      rhizoct: { specks: { open: number; removed: number } };
    };
    expect(store.rhizoct.specks.open, 'pieces under the size that reach chunks not yet segmented are kept for now').toBeGreaterThan(0);
    expect(store.rhizoct.specks.removed).toBeGreaterThan(0);
    const s = await segment({ ...sparse, input, output: regions, chunk: 16, minComponent: min }, gpu);
    expect(s.complete).toBe(true);
    same(await readOut(regions), 'regions, then completed');
    // Compact pieces: the same rule as the filter run on the unfiltered mask in memory. The size rule
    // off, so that the small pieces every seed's mask has (one or two voxels are compact) meet it.
    const rule = { minVoxels: 0, compactBelow: 1_000_000 };
    const compact = join(dir, 'sp-compact.zarr');
    await segment({ ...sparse, input, output: compact, chunk: 16, minComponent: rule.minVoxels, compactBelow: rule.compactBelow }, gpu);
    const filtered = Uint8Array.from(none.mask);
    const memory = maskInMemory(filtered, [...shape], [16, 16, 16]);
    const expected = await removeSpecks(memory, [...memory.grid.allChunks()], rule);
    expect(expected.compact, 'some pieces are compact').toBeGreaterThan(0);
    const got = await readOut(compact);
    expect(Buffer.compare(Buffer.from(got.mask), Buffer.from(filtered)), '--compact-below: the mask').toBe(0);
    const attrs = JSON.parse(readFileSync(join(compact, 'labels', 'roots', '.zattrs'), 'utf8')) as { rhizoct: { specks: unknown } };
    expect(attrs.rhizoct.specks).toMatchObject({
      minComponent: rule.minVoxels,
      compactBelow: rule.compactBelow,
      compact: expected.compact,
      removed: expected.removed,
    });
  });

  it('refuses an existing output of another shape or job', async () => {
    await expect(segment({ ...base, input, output: join(dir, 'a.zarr'), chunk: 16 }, gpu)).rejects.toThrow(/already exists/);
  });

  it('refuses to resume a partial output made from an input of another shape, naming the folder', async () => {
    const out = join(dir, 'x.zarr');
    const first = await segment({ ...base, input, output: out, chunk: 16, stopAfter: 2 }, gpu);
    expect(first.complete).toBe(false);
    await expect(segment({ ...base, input: bigInput, output: out, chunk: 16 }, gpu)).rejects.toThrow(
      /x\.zarr\.partial.*shape \[40, 50, 45\].*\[64, 112, 112\]/,
    );
  });

  it('rejects a model card whose normalisation cannot be used, naming the card', async () => {
    const { readFileSync, writeFileSync, mkdirSync, copyFileSync } = await import('node:fs');
    const bad = join(dir, 'bad-model');
    mkdirSync(bad, { recursive: true });
    copyFileSync(join(model, 'model.safetensors'), join(bad, 'model.safetensors'));
    const card = JSON.parse(readFileSync(join(model, 'card.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(bad, 'card.json'), JSON.stringify({ ...card, normalisation: { offset: 0, scale: -1 } }));
    await expect(segment({ ...base, model: bad, input, output: join(dir, 'y.zarr'), chunk: 16 }, gpu)).rejects.toThrow(
      /bad-model\/card\.json.*normalisation/,
    );
    writeFileSync(join(bad, 'card.json'), JSON.stringify({ ...card, config: { ...(card.config as object), widths: [4, 7] } }));
    await expect(segment({ ...base, model: bad, input, output: join(dir, 'z.zarr'), chunk: 16 }, gpu)).rejects.toThrow(
      /model\.safetensors.*shape/,
    );
  });
});
