import { type Box, type Vec3, boxVoxels } from '../volume/box.js';
import { copyBox } from '../volume/copy.js';
import { type Component, keptInReadBox, StreamingComponents } from './components.js';
import { distanceTransform } from './distance.js';
import { skeletonizeBlock } from './skeleton.js';
import { TraitAccumulator, type TraitOptions, type TraitResult } from './traits.js';

/** What one block of the traits pass yields. */
export interface BlockAnalysis {
  /** Kept voxels of the read box (for surfaces). */
  readonly keptRead: Uint8Array;
  readonly kept: Uint8Array;
  readonly skeleton: Uint8Array;
  readonly distance: Float32Array;
}

/**
 * The per-block work of the traits pass, with components already resolved: keep the voxels of
 * kept components (into the halo too), thin the read box, take distances to the background, and
 * cut all three to the write box. `spacing` is the voxel size in the traits' unit.
 */
export function analyseBlock(
  comps: StreamingComponents,
  read: Box,
  readData: ArrayLike<number>,
  write: Box,
  writeIds: Int32Array,
  spacing: Vec3,
): BlockAnalysis {
  const keptRead = keptInReadBox(comps, read, readData, write, writeIds);
  const local: Box = {
    offset: [write.offset[0] - read.offset[0], write.offset[1] - read.offset[1], write.offset[2] - read.offset[2]],
    shape: write.shape,
  };
  const skeleton = skeletonizeBlock(keptRead, read.shape, local);
  const dist = distanceTransform(keptRead, read.shape, spacing);
  // At skeleton voxels: the largest distance in the 3×3×3 cube, since a digital centreline runs
  // up to half a voxel off the true axis.
  const distance = new Float32Array(boxVoxels(write));
  copyBox(dist, read, distance, write);
  const [, ry, rx] = read.shape;
  const [wz, wy, wx] = write.shape;
  const o = local.offset;
  for (let z = 0; z < wz; z++) {
    for (let y = 0; y < wy; y++) {
      for (let x = 0; x < wx; x++) {
        const i = (z * wy + y) * wx + x;
        if (!skeleton[i]) continue;
        let best = distance[i]!;
        for (let dz = -1; dz <= 1; dz++) {
          const zz = z + o[0] + dz;
          if (zz < 0 || zz >= read.shape[0]) continue;
          for (let dy = -1; dy <= 1; dy++) {
            const yy = y + o[1] + dy;
            if (yy < 0 || yy >= ry) continue;
            for (let dx = -1; dx <= 1; dx++) {
              const xx = x + o[2] + dx;
              if (xx < 0 || xx >= rx) continue;
              const v = dist[(zz * ry + yy) * rx + xx]!;
              if (v > best && v !== Infinity) best = v;
            }
          }
        }
        distance[i] = best;
      }
    }
  }
  const kept = new Uint8Array(boxVoxels(write));
  copyBox(keptRead, read, kept, write);
  return { keptRead, kept, skeleton, distance };
}

export interface MeasureOptions extends TraitOptions {
  /** Components with fewer voxels are specks, dropped (default 1: keep all). */
  readonly minVoxels?: number;
  readonly spacing?: Vec3;
  readonly origin?: Vec3;
  readonly unit?: string;
}

/** Traits of a mask held in memory, as one block (for small volumes and tests). */
export function measureMask(mask: ArrayLike<number>, shape: Vec3, opts: MeasureOptions = {}): TraitResult & { components: Component[] } {
  const spacing = opts.spacing ?? [1, 1, 1];
  const whole: Box = { offset: [0, 0, 0], shape };
  const comps = new StreamingComponents(shape, 26);
  const lab = comps.addBlock(whole, mask);
  const components = comps.finish(opts.minVoxels ?? 1);
  const ids = comps.globalise(whole, lab.labels);
  const b = analyseBlock(comps, whole, mask, whole, ids, spacing);
  const acc = new TraitAccumulator(shape, spacing, opts.origin ?? [0, 0, 0], opts.unit ?? 'voxel');
  acc.addBlock(whole, b.kept, b.skeleton, b.distance);
  return { ...acc.finish(opts), components };
}
