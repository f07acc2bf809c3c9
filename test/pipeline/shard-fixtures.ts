import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/gpu.js';
import { openVolume } from '../../src/io/open.js';
import { OmeZarrWriter } from '../../src/io/zarr-write.js';
import { predictFused } from '../../src/nn/models/infer.js';
import { buildModel, saveModel } from '../../src/nn/models/registry.js';
import { wholeBox, type Vec3 } from '../../src/volume/box.js';
import { rng } from '../helpers/random.js';

/** A one-level uint16 OME-Zarr scan of random grey values (voxels 50 × 40 × 40 µm). */
export async function writeRandomScan(path: string, shape: Vec3, seed: number): Promise<void> {
  const r = rng(seed);
  const data = new Uint16Array(shape[0] * shape[1] * shape[2]);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(10000 + 20000 * r() * r());
  const w = await OmeZarrWriter.create(
    path,
    { shape, dtype: 'uint16', voxelSize: [0.05, 0.04, 0.04], unit: 'millimeter', origin: [1, 2, 3] },
    { zarrFormat: 2, chunkShape: [32, 32, 32], compression: { compression: 'blosc' }, levelCount: 1, method: 'mean' },
  );
  await w.writeLevelBox(0, wholeBox(shape), data);
  await w.finalize();
}

/**
 * A tiny untrained dual model (16³ tiles) saved at `dir`, its output weights scaled so that its
 * probabilities spread over 0..255 on inputs like writeRandomScan's (as in segment.test.ts).
 */
export async function writeTinyModel(gpu: Gpu, dir: string, seed: number): Promise<void> {
  const r = rng(seed ^ 0x5eed);
  const m = buildModel(gpu, { arch: 'dual', patch: 16, widths: [4, 6], lowScale: 2, lowPatch: 12, lowWidths: [3, 5] }, seed);
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
  const sd = Math.sqrt(logits.reduce((a, b) => a + (b - mean) ** 2, 0) / logits.length) || 1;
  gpu.upload(
    headW.map((v) => (v * 2) / sd),
    head.buffer,
  );
  await saveModel(m, dir, { normalisation: { offset: 10000, scale: 20000 } });
}

/** Probability image and mask of a segmentation output. */
export async function readSegmentation(path: string): Promise<{ prob: Uint8Array; mask: Uint8Array }> {
  const p = await openVolume(path);
  const m = await openVolume(path, { label: 'roots' });
  try {
    return { prob: (await p.readBox(wholeBox(p.shape))) as Uint8Array, mask: (await m.readBox(wholeBox(m.shape))) as Uint8Array };
  } finally {
    await p.close();
    await m.close();
  }
}

/** Every file under a folder, by relative path. */
export function fileTree(root: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of fileTree(root, r)) out.set(k, v);
    else out.set(r, readFileSync(join(root, r)));
  }
  return out;
}

/** Paths present in only one tree or whose bytes differ (empty: identical trees). */
export function treeDifferences(a: Map<string, Buffer>, b: Map<string, Buffer>, ignore: (path: string) => boolean = () => false): string[] {
  return [...new Set([...a.keys(), ...b.keys()])]
    .filter((k) => !ignore(k) && (!a.has(k) || !b.has(k) || Buffer.compare(a.get(k)!, b.get(k)!) !== 0))
    .sort();
}
