import { type Vec3, fmtVec } from '../volume/box.js';

/** Half-side of the window whose soil a root voxel is compared with: 13³, reaching past roots up to 4 voxels in radius. */
export const SOIL_HALF = 6;

/** Fewest soil voxels a window needs for its mean and spread to count. */
export const MIN_SOIL = 20;

/** The halo (voxels) a block needs so visibleRoots of its inner part is exact. */
export const CONTRAST_HALO = SOIL_HALF + 1;

/**
 * Which root voxels of a mask stand out from the soil around them by at least `k` standard
 * deviations of that soil (issue #14's rule for a root a model can be asked to find): the mean grey
 * value of the root voxels in the voxel's 3³ neighbourhood against the mean and standard deviation
 * of the soil in its (2·SOIL_HALF + 1)³ window. Soil: voxels that are not root and not next to a
 * root (26-neighbourhood), so the partial-volume rim of a root is neither. A root voxel whose
 * window holds fewer than MIN_SOIL soil voxels lies deep inside a root wider than the window and
 * is counted as visible (its edges, rated normally, say whether that root shows).
 *
 * Returns 1 for a visible root voxel, 0 elsewhere. Only voxels inside the array count, so a block
 * read with a halo of CONTRAST_HALO rates its inner part as the whole volume would.
 */
export function visibleRoots(image: ArrayLike<number>, mask: ArrayLike<number>, shape: Vec3, k = 1): Uint8Array {
  const n = shape[0] * shape[1] * shape[2];
  if (image.length !== n || mask.length !== n)
    throw new RangeError(`visibleRoots: ${image.length} and ${mask.length} voxels for shape ${fmtVec(shape)}`);
  const root = new Float64Array(n);
  for (let i = 0; i < n; i++) root[i] = mask[i]! > 0 ? 1 : 0;
  const nearRoot = boxSum(root, shape, 1);
  const soil = new Float64Array(n);
  const soilV = new Float64Array(n);
  const soilV2 = new Float64Array(n);
  const rootV = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = image[i]!;
    if (nearRoot[i]! === 0) {
      soil[i] = 1;
      soilV[i] = v;
      soilV2[i] = v * v;
    }
    if (root[i]) rootV[i] = v;
  }
  const nSoil = boxSum(soil, shape, SOIL_HALF);
  const sSoil = boxSum(soilV, shape, SOIL_HALF);
  const s2Soil = boxSum(soilV2, shape, SOIL_HALF);
  const sRoot = boxSum(rootV, shape, 1);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!root[i]) continue;
    const ns = nSoil[i]!;
    if (ns < MIN_SOIL) {
      out[i] = 1;
      continue;
    }
    const mean = sSoil[i]! / ns;
    const sd = Math.sqrt(Math.max(0, s2Soil[i]! / ns - mean * mean));
    const rootMean = sRoot[i]! / nearRoot[i]!;
    out[i] = Math.abs(rootMean - mean) >= k * sd ? 1 : 0;
  }
  return out;
}

/** Sum over the (2·half + 1)³ window around each voxel, clipped to the array (separable running sums). */
export function boxSum(values: Float64Array, shape: Vec3, half: number): Float64Array {
  let cur = values;
  const strides = [shape[1] * shape[2], shape[2], 1];
  for (let a = 0; a < 3; a++) {
    const len = shape[a]!;
    const stride = strides[a]!;
    const next = new Float64Array(cur.length);
    const line = new Float64Array(len + 1);
    for (let s = 0; s < cur.length; s++) {
      // s is the start of a line along axis a when its coordinate there is 0.
      if (Math.floor(s / stride) % len !== 0) continue;
      for (let i = 0; i < len; i++) line[i + 1] = line[i]! + cur[s + i * stride]!;
      for (let i = 0; i < len; i++) next[s + i * stride] = line[Math.min(len, i + half + 1)]! - line[Math.max(0, i - half)]!;
    }
    cur = next;
  }
  return cur;
}
