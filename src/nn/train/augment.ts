/** Cube-preserving augmentations applied identically to a patch and its targets. */
export interface Augmentation {
  /** Flip along z, y, x. */
  flip: [boolean, boolean, boolean];
  /** Quarter turns in the y-x plane (0..3); CT soil columns are not rotation-invariant about other axes. */
  turns: number;
  /** Intensity jitter on the normalised image: v·gain + bias. */
  gain: number;
  bias: number;
}

export const IDENTITY: Augmentation = { flip: [false, false, false], turns: 0, gain: 1, bias: 0 };

export function randomAugmentation(rand: () => number, intensityJitter = 0.1): Augmentation {
  return {
    flip: [rand() < 0.5, rand() < 0.5, rand() < 0.5],
    turns: Math.floor(rand() * 4),
    gain: 1 + (rand() * 2 - 1) * intensityJitter,
    bias: (rand() * 2 - 1) * intensityJitter,
  };
}

/** Applies the geometric part to a cube of side n (z, y, x order, x fastest). */
export function transformCube(src: Float32Array, n: number, a: Augmentation): Float32Array {
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

export function jitterIntensity(a: Float32Array, aug: Augmentation): Float32Array {
  if (aug.gain === 1 && aug.bias === 0) return a;
  for (let i = 0; i < a.length; i++) a[i] = a[i]! * aug.gain + aug.bias;
  return a;
}
