import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION_LABEL, AnnotationStore, NOT_ROOT, ROOT } from '../../src/io/annotation-store.js';
import { openZarr } from '../../src/io/zarr-source.js';
import { OmeZarrWriter } from '../../src/io/zarr-write.js';
import type { Vec3 } from '../../src/volume/box.js';

const SHAPE: Vec3 = [20, 27, 33];
const CHUNK: Vec3 = [8, 16, 16];
const VOXEL: Vec3 = [0.5, 0.1, 0.1];
const ORIGIN: Vec3 = [3, 2, 1];

/** A scan store with labels/roots, as `synth` and `convert --label roots` make them. */
async function scanStore(path: string, zarrFormat: 2 | 3): Promise<void> {
  const meta = { shape: SHAPE, dtype: 'uint8' as const, voxelSize: VOXEL, unit: 'millimeter' as const, origin: ORIGIN };
  const n = SHAPE[0] * SHAPE[1] * SHAPE[2];
  const img = await OmeZarrWriter.create(path, meta, {
    zarrFormat,
    chunkShape: CHUNK,
    compression: { compression: 'zstd' },
    levelCount: 2,
    method: 'mean',
  });
  await img.writeLevelBox(
    0,
    { offset: [0, 0, 0], shape: SHAPE },
    Uint8Array.from({ length: n }, (_, i) => i % 251),
  );
  const s1 = img.levelShapes[1]!;
  await img.writeLevelBox(1, { offset: [0, 0, 0], shape: s1 }, new Uint8Array(s1[0] * s1[1] * s1[2]));
  await img.finalize();
  const lab = await OmeZarrWriter.create(path, meta, {
    zarrFormat,
    chunkShape: CHUNK,
    compression: { compression: 'gzip' },
    levelCount: 1,
    method: 'max',
    label: 'roots',
  });
  await lab.writeLevelBox(0, { offset: [0, 0, 0], shape: SHAPE }, new Uint8Array(n).fill(1));
  await lab.finalize();
}

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe.each([2, 3] as const)('annotation store (Zarr v%i)', (zarrFormat) => {
  let dir: string;
  let path: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rhizoct-annot-'));
    path = join(dir, 'scan.zarr');
    await scanStore(path, zarrFormat);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('creates labels/annotations on the first write, beside labels/roots, with the scan geometry', async () => {
    const a = await AnnotationStore.open(path);
    expect(await a.exists()).toBe(false);
    const r = await a.apply([
      { value: ROOT, voxels: [0, 0, 0, 19, 26, 32] },
      { value: NOT_ROOT, voxels: [9, 17, 20] },
    ]);
    expect(Array.from(r.previous)).toEqual([0, 0, 0]);
    expect(r.chunks).toBe(3);
    expect(await a.exists()).toBe(true);
    const src = await openZarr(path, { label: ANNOTATION_LABEL });
    expect(src.labels).toEqual(['roots', 'annotations']);
    expect(src.shape).toEqual(SHAPE);
    expect(src.chunkShape).toEqual(CHUNK);
    expect(src.voxelSize).toEqual(VOXEL);
    expect(src.origin).toEqual(ORIGIN);
    expect(src.zarrFormat).toBe(zarrFormat);
    expect(src.dtype).toBe('uint8');
    const all = await src.readBox({ offset: [0, 0, 0], shape: SHAPE });
    const at = (z: number, y: number, x: number): number => all[(z * SHAPE[1] + y) * SHAPE[2] + x]!;
    expect(at(0, 0, 0)).toBe(ROOT);
    expect(at(19, 26, 32)).toBe(ROOT);
    expect(at(9, 17, 20)).toBe(NOT_ROOT);
    expect(Array.from(all).reduce((s, v) => s + v, 0)).toBe(ROOT + ROOT + NOT_ROOT);
    // Only the three chunks painted exist; labels/roots is untouched.
    const chunkFiles = (await files(join(path, 'labels', ANNOTATION_LABEL, '0'))).filter((f) => /^(c\/)?\d+\/\d+\/\d+$/.test(f));
    expect(chunkFiles).toHaveLength(3);
    const roots = await (await openZarr(path, { label: 'roots' })).readBox({ offset: [0, 0, 0], shape: SHAPE });
    expect(roots.every((v) => v === 1)).toBe(true);
    const meta = await readFile(join(path, 'labels', ANNOTATION_LABEL, zarrFormat === 2 ? '.zattrs' : 'zarr.json'), 'utf8');
    expect(meta).toContain('image-label');
    expect(meta).toContain('"label-value": 2');
  });

  it('a reopened store sees earlier strokes, returns previous values, and the last value of a voxel wins', async () => {
    const a = await AnnotationStore.open(path);
    const r = await a.apply([
      { value: NOT_ROOT, voxels: [0, 0, 0, 1, 1, 1] },
      { value: 0, voxels: [0, 0, 0] },
    ]);
    expect(Array.from(r.previous)).toEqual([ROOT, 0, NOT_ROOT]);
    const src = await openZarr(path, { label: ANNOTATION_LABEL });
    const b = await src.readBox({ offset: [0, 0, 0], shape: [2, 2, 2] });
    expect(b[0]).toBe(0);
    expect(b[7]).toBe(NOT_ROOT);
  });

  it('many concurrent edits of one chunk all land', async () => {
    const a = await AnnotationStore.open(path);
    const b = await AnnotationStore.open(path);
    // Two store objects in one process share nothing but the files: each keeps its own lock, so
    // this test is about one store (the server holds one); the second checks it reads them back.
    await Promise.all(
      Array.from({ length: 24 }, (_, i) => a.apply([{ value: 1 + (i % 2), voxels: [10 + (i % 6), 2 + Math.floor(i / 6), 3] }])),
    );
    const src = await openZarr(path, { label: ANNOTATION_LABEL });
    const box = await src.readBox({ offset: [10, 2, 3], shape: [6, 4, 1] });
    expect(Array.from(box)).toEqual(Array.from({ length: 24 }, (_, k) => 1 + ((Math.floor(k / 4) + 6 * (k % 4)) % 2)));
    expect((await b.apply([{ value: 1, voxels: [10, 2, 3] }])).previous[0]).toBe(1);
  });

  it('refuses values outside 0–2, voxels outside the scan and ragged triples, writing nothing', async () => {
    const a = await AnnotationStore.open(path);
    const before = await files(path);
    await expect(a.apply([{ value: 3, voxels: [1, 1, 1] }])).rejects.toThrow(/value 3 is not 0/);
    await expect(
      a.apply([
        { value: 1, voxels: [1, 1, 1] },
        { value: 1, voxels: [20, 0, 0] },
      ]),
    ).rejects.toThrow(/edit 1: voxel \(z 20, y 0, x 0\) is outside the scan's 20×27×33/);
    await expect(a.apply([{ value: 1, voxels: [1, -1, 1] }])).rejects.toThrow(/outside/);
    await expect(a.apply([{ value: 1, voxels: [1, 1.5, 1] }])).rejects.toThrow(/outside/);
    await expect(a.apply([{ value: 1, voxels: [1, 1] }])).rejects.toThrow(/triples/);
    expect(await files(path)).toEqual(before);
  });
});
