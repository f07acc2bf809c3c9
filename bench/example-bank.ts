/**
 * A bank of training examples drawn by rhizoct's own sampler from OME-Zarr scans with labels/roots,
 * written for the PyTorch reference trainer (bench/reference/train_budget.py): raw little-endian
 * f32 cubes (high, low, tLow, tHigh and optionally centreline weights per example) plus a JSON header.
 */
import { closeSync, existsSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { DEFAULT_NORMALISATION, seededRandom } from '../src/nn/models/registry.js';
import { dualGeometry, type DualConfig } from '../src/nn/models/dual.js';
import { PatchSampler, PAPER_SAMPLING } from '../src/nn/train/sampler.js';
import { readExample } from '../src/nn/train/examples.js';
import { VolumePatches } from '../src/pipeline/patch-source.js';
import { skeletonWeights } from '../src/pipeline/skeleton-weights.js';

export interface BankOptions {
  readonly scans: readonly string[];
  readonly config: DualConfig;
  readonly count: number;
  readonly seed: number;
  /** Patch centres near root voxels (`volume`) or on centrelines, per unit root length (`length`). */
  readonly centres: 'volume' | 'length';
  /** Also write each example's centreline weights (for the centreline loss). */
  readonly skeleton: boolean;
}

/** Writes OUT.f32 and OUT.json unless OUT.json exists (a bank is made once and reused). */
export async function dumpExamples(opts: BankOptions, out: string): Promise<void> {
  if (existsSync(`${out}.json`)) return;
  const g = dualGeometry(opts.config);
  const vols: VolumePatches[] = [];
  for (const s of opts.scans) vols.push(await VolumePatches.open(s, DEFAULT_NORMALISATION));
  const points = [];
  for (const v of vols)
    points.push({ shape: v.shape, roots: opts.centres === 'length' ? await v.centrelinePoints() : await v.rootPoints() });
  const sampler = new PatchSampler(points, PAPER_SAMPLING, seededRandom(opts.seed));
  const fd = openSync(`${out}.f32`, 'w');
  const t0 = performance.now();
  for (let i = 0; i < opts.count; i++) {
    const pick = sampler.next();
    const ex = await readExample(vols[pick.volume]!, pick.centre, g, null, opts.skeleton ? { centrelines: skeletonWeights } : {});
    for (const a of [ex.high, ex.low!, ex.tLow, ex.tHigh, ...(ex.wSkeleton ? [ex.wSkeleton] : [])])
      writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    if ((i + 1) % 500 === 0) console.error(`examples ${i + 1}/${opts.count} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  closeSync(fd);
  for (const v of vols) await v.close();
  const sizes = {
    high: g.highInput,
    low: g.lowInput,
    tLow: g.lowTarget / g.lowTargetScale,
    tHigh: g.highOutput,
    ...(opts.skeleton ? { wSkeleton: g.output } : {}),
  };
  writeFileSync(`${out}.json`, JSON.stringify({ count: opts.count, sizes, scans: opts.scans, seed: opts.seed, centres: opts.centres }));
}
