import { describe, it, expect } from 'vitest';
import { skeletonWeights } from '../../src/pipeline/skeleton-weights.js';

/** A cube of side n with a thick tube along x (radius 5) and a thin one along y (radius 1). */
function tubes(n: number): Float32Array {
  const a = new Float32Array(n ** 3);
  for (let z = 0; z < n; z++)
    for (let y = 0; y < n; y++)
      for (let x = 0; x < n; x++) {
        const thick = (z - 12) ** 2 + (y - 12) ** 2 <= 25;
        const thin = (z - 28) ** 2 + (x - 26) ** 2 <= 1;
        a[(z * n + y) * n + x] = thick || thin ? 1 : 0;
      }
  return a;
}

describe('centreline weights for the skeleton loss term', () => {
  const n = 40;
  const context = 4;
  const out = n - 2 * context;
  const label = tubes(n);
  const w = skeletonWeights(label, out, context);

  it("lie inside the roots, near each tube's axis", () => {
    let thick = 0;
    let thin = 0;
    for (let z = 0; z < out; z++)
      for (let y = 0; y < out; y++)
        for (let x = 0; x < out; x++) {
          if (!w[(z * out + y) * out + x]) continue;
          const [Z, Y, X] = [z + context, y + context, x + context];
          expect(label[(Z * n + Y) * n + X], `weight outside the roots at ${z},${y},${x}`).toBe(1);
          if (Math.hypot(Z - 12, Y - 12) <= 5) {
            thick++;
            // Away from the cube's faces, where the thinning of a cut tube frays within a radius.
            if (X >= 10 && X < n - 10)
              expect(Math.hypot(Z - 12, Y - 12), `thick tube weight off its axis at x ${X}`).toBeLessThanOrEqual(Math.SQRT2 + 1e-9);
          } else thin++;
        }
    expect(thick).toBeGreaterThan(0);
    expect(thin).toBeGreaterThan(0);
  });

  it('count a thin root per unit length about as much as a thick one, unlike the mask', () => {
    const count = (pred: (z: number, y: number, x: number) => boolean, a: ArrayLike<number>): number => {
      let c = 0;
      for (let z = 0; z < out; z++)
        for (let y = 0; y < out; y++)
          for (let x = 0; x < out; x++) if (a[(z * out + y) * out + x] && pred(z + context, y + context, x + context)) c++;
      return c;
    };
    const isThick = (z: number, y: number): boolean => Math.hypot(z - 12, y - 12) <= 5;
    const crop = new Float32Array(out ** 3);
    for (let z = 0; z < out; z++)
      for (let y = 0; y < out; y++)
        for (let x = 0; x < out; x++) crop[(z * out + y) * out + x] = label[((z + context) * n + y + context) * n + x + context]!;
    const maskRatio = count((z, y) => isThick(z, y), crop) / count((z, y) => !isThick(z, y), crop);
    const weightRatio = count((z, y) => isThick(z, y), w) / count((z, y) => !isThick(z, y), w);
    expect(maskRatio).toBeGreaterThan(10);
    expect(weightRatio).toBeLessThan(2.5);
    expect(weightRatio).toBeGreaterThan(0.4);
  });

  it('refuses a label cube of the wrong size', () => {
    expect(() => skeletonWeights(new Float32Array(10), out, context)).toThrow(/not 40³/);
  });
});
