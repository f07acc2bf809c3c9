/**
 * Flips, quarter turns and axis orders of a cube of voxels: training augments patches with them,
 * and segmentation's test-time augmentation predicts flipped copies and flips them back.
 */
export interface CubeTransform {
  /** Flip along z, y, x. */
  flip: [boolean, boolean, boolean];
  /** Quarter turns in the y-x plane (0..3). */
  turns: number;
  /**
   * Applied last: output axis k is axis `axes[k]` of the flipped and turned cube (z, y, x = 0, 1, 2).
   * [0, 1, 2] keeps the order; the other five put a root that ran along z across the patch, so with
   * flips and turns a patch is seen in any of the cube's 48 orientations.
   */
  axes: readonly [number, number, number];
}

/** No flip, no turn, axes in order. */
export const IDENTITY: CubeTransform = { flip: [false, false, false], turns: 0, axes: [0, 1, 2] };

/** The six orders of the axes z, y, x; the first keeps them. */
export const AXIS_ORDERS: readonly (readonly [number, number, number])[] = [
  [0, 1, 2],
  [0, 2, 1],
  [1, 0, 2],
  [1, 2, 0],
  [2, 0, 1],
  [2, 1, 0],
];

/** Applies `a` to a cube of side n (z, y, x order, x fastest). A flip alone is its own inverse. */
export function transformCube(src: Float32Array, n: number, a: CubeTransform): Float32Array {
  if (src.length !== n * n * n) throw new RangeError(`transformCube: ${src.length} values is not a cube of side ${n}`);
  const out = new Float32Array(src.length);
  const last = n - 1;
  const [a0, a1, a2] = a.axes;
  const at: [number, number, number] = [0, 0, 0];
  for (let z = 0; z < n; z++) {
    at[a0] = z;
    for (let y = 0; y < n; y++) {
      at[a1] = y;
      for (let x = 0; x < n; x++) {
        at[a2] = x;
        // (at) is the position in the flipped and turned cube; it comes from the source position
        // rotated back by `turns` quarter turns, then flipped.
        const sz = a.flip[0] ? last - at[0] : at[0];
        let sy = at[1];
        let sx = at[2];
        for (let t = 0; t < a.turns; t++) {
          const ny = sx;
          sx = last - sy;
          sy = ny;
        }
        if (a.flip[1]) sy = last - sy;
        if (a.flip[2]) sx = last - sx;
        out[(z * n + y) * n + x] = src[(sz * n + sy) * n + sx]!;
      }
    }
  }
  return out;
}
