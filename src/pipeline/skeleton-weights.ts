import { skeletonize3d } from '../analysis/skeleton.js';

/**
 * Per-voxel weights for a centreline-recall loss term: 1 on the root skeleton of a label cube,
 * thickened by one voxel (26-neighbourhood) but kept inside the roots, 0 elsewhere. A loss
 * averaged over these voxels counts every millimetre of root the same whatever its radius, where
 * a voxel-wise loss counts a root by its cross-section and lets a network ignore fine laterals
 * (the idea of Kirchhoff et al.'s "Skeleton Recall Loss", ECCV 2024).
 *
 * `label` is a cube of side `out + 2·context` (root fraction, root at ≥ 0.5); returns the centre
 * cube of side `out`.
 */
export function skeletonWeights(label: Float32Array, out: number, context: number): Float32Array {
  const n = out + 2 * context;
  if (label.length !== n * n * n) throw new RangeError(`skeletonWeights: label holds ${label.length} values, not ${n}³`);
  const mask = new Uint8Array(label.length);
  for (let i = 0; i < mask.length; i++) mask[i] = label[i]! >= 0.5 ? 1 : 0;
  const skel = skeletonize3d(mask, [n, n, n]);
  const w = new Float32Array(out * out * out);
  for (let z = 0; z < out; z++) {
    for (let y = 0; y < out; y++) {
      for (let x = 0; x < out; x++) {
        const Z = z + context;
        const Y = y + context;
        const X = x + context;
        if (!mask[(Z * n + Y) * n + X]) continue;
        let hit = 0;
        for (let dz = -1; dz <= 1 && !hit; dz++)
          for (let dy = -1; dy <= 1 && !hit; dy++)
            for (let dx = -1; dx <= 1 && !hit; dx++) hit = skel[((Z + dz) * n + Y + dy) * n + X + dx]!;
        w[(z * out + y) * out + x] = hit ? 1 : 0;
      }
    }
  }
  return w;
}
