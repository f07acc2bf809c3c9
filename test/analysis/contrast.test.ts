import { describe, expect, it } from 'vitest';
import { boxSum, MIN_SOIL, SOIL_HALF, visibleRoots } from '../../src/analysis/contrast.js';
import type { Vec3 } from '../../src/volume/box.js';
import { freshSeed, rng } from '../helpers/random.js';

const seed = freshSeed();

/** visibleRoots from its definition, voxel by voxel, in float64. */
function oracle(image: ArrayLike<number>, mask: ArrayLike<number>, [nz, ny, nx]: Vec3): Uint8Array {
  const at = (z: number, y: number, x: number): number => (z * ny + y) * nx + x;
  const inside = (z: number, y: number, x: number): boolean => z >= 0 && y >= 0 && x >= 0 && z < nz && y < ny && x < nx;
  const window = (z: number, y: number, x: number, h: number, f: (i: number) => void): void => {
    for (let dz = -h; dz <= h; dz++)
      for (let dy = -h; dy <= h; dy++) for (let dx = -h; dx <= h; dx++) if (inside(z + dz, y + dy, x + dx)) f(at(z + dz, y + dy, x + dx));
  };
  const isSoil = (i: number): boolean => {
    const z = Math.floor(i / (ny * nx));
    const y = Math.floor(i / nx) % ny;
    const x = i % nx;
    let near = false;
    window(z, y, x, 1, (j) => (near ||= mask[j]! > 0));
    return !near;
  };
  const out = new Uint8Array(nz * ny * nx);
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        if (!mask[at(z, y, x)]) continue;
        const soil: number[] = [];
        window(z, y, x, SOIL_HALF, (j) => isSoil(j) && soil.push(image[j]!));
        if (soil.length < MIN_SOIL) {
          out[at(z, y, x)] = 1;
          continue;
        }
        const mean = soil.reduce((a, v) => a + v, 0) / soil.length;
        const sd = Math.sqrt(soil.reduce((a, v) => a + (v - mean) ** 2, 0) / soil.length);
        let sum = 0;
        let n = 0;
        window(z, y, x, 1, (j) => {
          if (mask[j]) {
            sum += image[j]!;
            n++;
          }
        });
        out[at(z, y, x)] = Math.abs(sum / n - mean) >= sd ? 1 : 0;
      }
  return out;
}

describe(`root visibility against the soil around it (seed ${seed})`, () => {
  it('box sums agree with summing each clipped window', () => {
    const r = rng(seed);
    const shape: Vec3 = [7, 9, 11];
    const v = Float64Array.from({ length: 7 * 9 * 11 }, () => r());
    for (const h of [1, 3]) {
      const got = boxSum(v, shape, h);
      for (let z = 0; z < 7; z++)
        for (let y = 0; y < 9; y++)
          for (let x = 0; x < 11; x++) {
            let want = 0;
            for (let k = Math.max(0, z - h); k <= Math.min(6, z + h); k++)
              for (let j = Math.max(0, y - h); j <= Math.min(8, y + h); j++)
                for (let i = Math.max(0, x - h); i <= Math.min(10, x + h); i++) want += v[(k * 9 + j) * 11 + i]!;
            expect(got[(z * 9 + y) * 11 + x]).toBeCloseTo(want, 9);
          }
    }
  });

  it('agrees with its definition voxel by voxel on random scans and masks', () => {
    const r = rng(seed + 1);
    const shape: Vec3 = [14, 17, 19];
    const n = shape[0] * shape[1] * shape[2];
    const mask = Uint8Array.from({ length: n }, () => (r() < 0.08 ? 1 : 0));
    // Roots brighter by a random amount, so both sides of the rule occur.
    const image = Float64Array.from(mask, (m) => 50 + 20 * r() + (m ? 25 * r() : 0));
    const want = oracle(image, mask, shape);
    const got = visibleRoots(image, mask, shape);
    expect(
      want.reduce((a, v) => a + v, 0),
      'some visible',
    ).toBeGreaterThan(0);
    expect(
      want.reduce((a, v) => a + v, 0),
      'some not',
    ).toBeLessThan(mask.reduce((a, v) => a + v, 0));
    expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
  });

  it('finds a root 4 soil standard deviations darker and not one 0.3 brighter, whatever the grey scale', () => {
    const r = rng(seed + 2);
    const shape: Vec3 = [16, 30, 30];
    const n = shape[0] * shape[1] * shape[2];
    const mask = new Uint8Array(n);
    const image = new Float64Array(n);
    const dark: number[] = [];
    const faint: number[] = [];
    for (let z = 0, i = 0; z < shape[0]; z++)
      for (let y = 0; y < shape[1]; y++)
        for (let x = 0; x < shape[2]; x++, i++) {
          // Soil: mean 100, sd 10 (uniform noise of that spread).
          image[i] = 100 + 10 * Math.sqrt(12) * (r() - 0.5);
          if ((y - 8) ** 2 + (x - 8) ** 2 <= 4) {
            mask[i] = 1;
            image[i] = 60 + 2 * (r() - 0.5);
            dark.push(i);
          } else if ((y - 21) ** 2 + (x - 21) ** 2 <= 4) {
            mask[i] = 1;
            image[i] = 103 + 2 * (r() - 0.5);
            faint.push(i);
          }
        }
    const shows = visibleRoots(image, mask, shape);
    expect(dark.every((i) => shows[i] === 1)).toBe(true);
    expect(faint.every((i) => shows[i] === 0)).toBe(true);
    const rescaled = visibleRoots(
      image.map((v) => 3 * v + 1000),
      mask,
      shape,
    );
    expect(Buffer.from(rescaled).equals(Buffer.from(shows))).toBe(true);
    expect(
      shows.every((v, i) => v === 0 || mask[i] === 1),
      'only root voxels are rated',
    ).toBe(true);
  });
});
