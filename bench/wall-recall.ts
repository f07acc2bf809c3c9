/**
 * How much of a synthetic scan's roots lie against its container wall, and how well a segmentation
 * finds them: a diagnostic for held-out scores, since a small scan's container (its wall at 48% of
 * the field of view) gathers the laterals that grow into it and slide along it.
 *
 *   node dist/bench/wall-recall.js --seg SEG.zarr --truth SCAN.zarr [--within 3,5,8] [--json]
 *
 * SCAN.zarr is a `rhizoct synth` output (its attributes hold the parameters that place the
 * container); SEG.zarr a `rhizoct segment` output of it. Streams z slabs of both masks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openVolume } from '../src/io/open.js';
import { sceneFrame } from '../src/synth/scene.js';
import type { SynthParams } from '../src/synth/params.js';
import { dice, type Confusion } from '../src/nn/train/trainer.js';
import { makeBox, type Vec3 } from '../src/volume/box.js';
import { arg } from './args.js';

async function main(): Promise<void> {
  const segPath = arg('--seg', '');
  const truthPath = arg('--truth', '');
  if (!segPath || !truthPath) throw new Error('usage: wall-recall --seg SEG.zarr --truth SCAN.zarr [--within 3,5,8]');
  const within = arg('--within', '3,5,8').split(',').map(Number);
  const attrs = JSON.parse(readFileSync(join(truthPath, '.zattrs'), 'utf8')) as {
    rhizoct?: { synth?: { params?: SynthParams; shape?: Vec3; voxelSizeMm?: Vec3 } };
  };
  const synth = attrs.rhizoct?.synth;
  if (!synth?.params || !synth.shape || !synth.voxelSizeMm)
    throw new Error(`${truthPath}: no rhizoct synth parameters in its attributes (not a rhizoct synth scan?)`);
  const frame = sceneFrame(synth.shape, synth.voxelSizeMm, synth.params);
  if (!Number.isFinite(frame.rin)) throw new Error(`${truthPath}: the scan has no container`);
  const truth = await openVolume(truthPath, { label: 'roots' });
  const pred = await openVolume(segPath, { label: 'roots' });
  if (truth.shape.some((s, i) => s !== pred.shape[i]))
    throw new Error(`${segPath}: shape [${pred.shape}] differs from the truth's [${truth.shape}]`);
  const [D, H, W] = truth.shape;
  const [, vy, vx] = synth.voxelSizeMm;
  // Distance (voxels of the x/y size) of each column from the wall's inner face; roots stay inside it.
  const toWall = new Float32Array(H * W);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      toWall[y * W + x] = (frame.rin - Math.hypot(x * vx - frame.axis[0], y * vy - frame.axis[1])) / Math.min(vx, vy);
  const near = within.map(() => ({ tp: 0, fp: 0, fn: 0 }));
  const away = within.map(() => ({ tp: 0, fp: 0, fn: 0 }));
  const all: Confusion = { tp: 0, fp: 0, fn: 0 };
  const slab = truth.chunkShape?.[0] ?? 32;
  for (let z0 = 0; z0 < D; z0 += slab) {
    const box = makeBox([z0, 0, 0], [Math.min(slab, D - z0), H, W]);
    const [t, p] = await Promise.all([truth.readBox(box), pred.readBox(box)]);
    for (let i = 0; i < t.length; i++) {
      const ti = t[i]! > 0;
      const pi = p[i]! > 0;
      if (!ti && !pi) continue;
      const k = ti && pi ? 'tp' : ti ? 'fn' : 'fp';
      all[k]++;
      const d = toWall[i % (H * W)]!;
      within.forEach((w, j) => (d < w ? near[j]! : away[j]!)[k]++);
    }
  }
  await Promise.all([truth.close(), pred.close()]);
  const rows = within.map((w, j) => ({
    within: w,
    truthShare: (near[j]!.tp + near[j]!.fn) / Math.max(1, all.tp + all.fn),
    recallNear: near[j]!.tp / Math.max(1, near[j]!.tp + near[j]!.fn),
    diceAway: dice(away[j]!),
  }));
  const out = { seg: segPath, truth: truthPath, wallRadiusVoxels: frame.rin / Math.min(vx, vy), dice: dice(all), rows };
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  console.log(`${truthPath}: Dice ${out.dice.toFixed(4)}; the wall's inner face ${out.wallRadiusVoxels.toFixed(1)} voxels from the axis`);
  for (const r of rows)
    console.log(
      `  within ${r.within} voxels of the wall: ${(100 * r.truthShare).toFixed(1)}% of the root voxels, recall there ${r.recallNear.toFixed(3)}; Dice elsewhere ${r.diceAway.toFixed(4)}`,
    );
}

await main();
