/**
 * Flips and quarter turns of a cube of voxels: training augments patches with them, and
 * segmentation's test-time augmentation predicts flipped copies and flips them back.
 */
export interface CubeTransform {
  /** Flip along z, y, x. */
  flip: [boolean, boolean, boolean];
  /** Quarter turns in the y-x plane (0..3); CT soil columns are not rotation-invariant about other axes. */
  turns: number;
}

/** No flip, no turn. */
export const IDENTITY: CubeTransform = { flip: [false, false, false], turns: 0 };

/** Applies `a` to a cube of side n (z, y, x order, x fastest). A flip alone is its own inverse. */
export function transformCube(src: Float32Array, n: number, a: CubeTransform): Float32Array {
  if (src.length !== n * n * n) throw new RangeError(`transformCube: ${src.length} values is not a cube of side ${n}`);
  const out = new Float32Array(src.length);
  const last = n - 1;
  for (let z = 0; z < n; z++) {
    const sz = a.flip[0] ? last - z : z;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        // Output (y, x) comes from the source position rotated back by `turns` quarter turns.
        let sy = y;
        let sx = x;
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
