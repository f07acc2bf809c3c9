import { distanceTransform } from './distance.js';
import { type Vec3, fmtVec } from '../volume/box.js';

/**
 * Local root radius of a mask, in voxels, binned by granulometry (size classes by morphological
 * openings, Matheron/Serra): a voxel's radius is at least t when it lies in a closed digital ball
 * of radius t (the voxels whose centres are within t of its centre) that fits inside the mask.
 * A digitised tube of radius r lands mostly in the class holding r (for r under 2, the way its
 * axis falls on the grid decides; r = 1.5 can measure below 1).
 *
 * Returns, per voxel, 0 on background and otherwise 1 + the number of `bounds` (ascending, voxels)
 * the voxel's radius reaches: class 1 is radius < bounds[0], the last is ≥ the last bound.
 * Only background inside the array counts (as distanceTransform), so a block read with a halo of
 * `thicknessHalo(bounds)` voxels classifies its inner part as the whole volume would.
 */
export function radiusClasses(mask: ArrayLike<number>, shape: Vec3, bounds: readonly number[]): Uint8Array {
  const n = shape[0] * shape[1] * shape[2];
  if (mask.length !== n) throw new RangeError(`radiusClasses: ${mask.length} voxels for shape ${fmtVec(shape)}`);
  checkBounds(bounds);
  const edt = distanceTransform(mask, shape);
  const cls = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (mask[i]) cls[i] = 1;
  const notCentre = new Uint8Array(n);
  for (const t of bounds) {
    // Erosion (centres where the ball of radius t fits: no background within t), then dilation.
    // Distances are square roots of integers, so EPS only settles exact ties.
    let any = false;
    for (let i = 0; i < n; i++) {
      const c = edt[i]! > t + EPS;
      notCentre[i] = c ? 0 : 1;
      if (c) any = true;
    }
    if (!any) break;
    const toCentre = distanceTransform(notCentre, shape);
    for (let i = 0; i < n; i++) if (cls[i] && toCentre[i]! <= t + EPS) cls[i]!++;
  }
  return cls;
}

/** The halo (voxels) a block needs so radiusClasses of its inner part is exact. */
export function thicknessHalo(bounds: readonly number[]): number {
  checkBounds(bounds);
  return Math.ceil(2 * bounds[bounds.length - 1]!) + 2;
}

const EPS = 1e-4;

function checkBounds(bounds: readonly number[]): void {
  if (bounds.length === 0 || bounds.length > 254) throw new RangeError('radius class bounds: give 1 to 254 values');
  bounds.forEach((b, i) => {
    if (!(Number.isFinite(b) && b > 0) || (i > 0 && b <= bounds[i - 1]!))
      throw new RangeError(`radius class bounds must be positive and ascending (got ${bounds.join(', ')})`);
  });
}
