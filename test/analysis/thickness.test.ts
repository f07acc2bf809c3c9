import { describe, it, expect } from 'vitest';
import { radiusClasses, thicknessHalo } from '../../src/analysis/thickness.js';
import type { Vec3 } from '../../src/volume/box.js';
import { blobs } from './shapes.js';
import { freshSeed } from '../helpers/random.js';

const seed = freshSeed();
const BOUNDS = [1, 2, 4];

/** A tube of radius r along z, its axis off the voxel grid by (dy, dx). */
function tube(r: number, dy: number, dx: number, shape: Vec3 = [12, 32, 32]): Uint8Array {
  const [D, H, W] = shape;
  const m = new Uint8Array(D * H * W);
  for (let z = 0; z < D; z++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) if ((y - H / 2 - dy) ** 2 + (x - W / 2 - dx) ** 2 < r * r) m[(z * H + y) * W + x] = 1;
  return m;
}

/** The definition, directly: opening by the closed digital ball of radius t, voxel by voxel. */
function openingReference(mask: Uint8Array, shape: Vec3, t: number): Uint8Array {
  const [D, H, W] = shape;
  const k = Math.floor(t);
  const offsets: Vec3[] = [];
  for (let z = -k; z <= k; z++)
    for (let y = -k; y <= k; y++) for (let x = -k; x <= k; x++) if (z * z + y * y + x * x <= t * t) offsets.push([z, y, x]);
  const inside = (z: number, y: number, x: number): boolean => z >= 0 && z < D && y >= 0 && y < H && x >= 0 && x < W;
  const eroded = new Uint8Array(mask.length);
  for (let z = 0; z < D; z++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        // Outside the array is not background (as the distance transform): only voxels inside count.
        eroded[(z * H + y) * W + x] = offsets.every(([a, b, c]) => !inside(z + a, y + b, x + c) || mask[((z + a) * H + y + b) * W + x + c])
          ? 1
          : 0;
      }
  const out = new Uint8Array(mask.length);
  for (let z = 0; z < D; z++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        if (!eroded[(z * H + y) * W + x]) continue;
        for (const [a, b, c] of offsets) if (inside(z + a, y + b, x + c)) out[((z + a) * H + y + b) * W + x + c] = 1;
      }
  return out;
}

describe(`radiusClasses (seed ${seed})`, () => {
  it('agrees voxel for voxel with openings by digital balls computed from the definition', () => {
    const shape: Vec3 = [18, 21, 20];
    const m = blobs(shape, seed, 2, 0.45).data;
    const bounds = [0.8, 1.5, 2.3, 3];
    const cls = radiusClasses(m, shape, bounds);
    const expected = Uint8Array.from(m);
    for (const t of bounds) {
      const open = openingReference(m, shape, t);
      for (let i = 0; i < m.length; i++) if (open[i]) expected[i]!++;
    }
    expect(Array.from(cls)).toEqual(Array.from(expected));
  });

  it('puts most of a tube of radius r in the class holding r, over 25 placements of its axis on the grid', () => {
    for (const [radius, cls, share] of [
      [0.7, 1, 1],
      [1.5, 2, 0.65],
      [3, 3, 0.75],
      [7, 4, 0.9],
    ] as const) {
      let n = 0;
      let hit = 0;
      for (let a = 0; a < 5; a++) {
        for (let b = 0; b < 5; b++) {
          const m = tube(radius, -0.4 + 0.2 * a, -0.4 + 0.2 * b);
          const c = radiusClasses(m, [12, 32, 32], BOUNDS);
          for (let i = 0; i < m.length; i++) {
            if (!m[i]) continue;
            n++;
            if (c[i] === cls) hit++;
          }
        }
      }
      expect(hit / n, `tube of radius ${radius}`).toBeGreaterThanOrEqual(share);
    }
  });

  it('classifies the inside of a block read with its halo as the whole volume does', () => {
    const shape: Vec3 = [40, 36, 38];
    const m = blobs(shape, seed + 1, 3, 0.4).data;
    const whole = radiusClasses(m, shape, BOUNDS);
    const h = thicknessHalo(BOUNDS);
    const lo: Vec3 = [h, 0, h + 2];
    const size: Vec3 = [40 - lo[0], 36 - lo[1], 10];
    const read: Vec3 = [size[0] + h, size[1], size[2] + 2 * h];
    const sub = new Uint8Array(read[0] * read[1] * read[2]);
    const at = (z: number, y: number, x: number, s: Vec3): number => (z * s[1] + y) * s[2] + x;
    for (let z = 0; z < read[0]; z++)
      for (let y = 0; y < read[1]; y++)
        for (let x = 0; x < read[2]; x++) sub[at(z, y, x, read)] = m[at(lo[0] - h + z, lo[1] + y, lo[2] - h + x, shape)]!;
    const part = radiusClasses(sub, read, BOUNDS);
    // The y range runs to the volume's faces, so it needs no halo there; z keeps its far face too.
    for (let z = h; z < read[0]; z++)
      for (let y = 0; y < read[1]; y++)
        for (let x = h; x < h + size[2]; x++) {
          expect(part[at(z, y, x, read)]).toBe(whole[at(lo[0] - h + z, lo[1] + y, lo[2] - h + x, shape)]);
        }
  });

  it('sees, through its halo, a hole 2·t beyond the block that decides a voxel at its edge', () => {
    // A tube along x (radius t + 0.5) whose inner end is the write box's last voxel v, and a
    // one-voxel hole on its axis 2·t further out. The only ball of radius t that could cover v is
    // centred t beyond v, and the hole (t from that centre) disqualifies it: v is thinner than t.
    // A block whose read box stops short of the hole sees that ball fit and calls v thick.
    const t = BOUNDS[BOUNDS.length - 1]!;
    const shape: Vec3 = [15, 15, 48];
    const [D, H, W] = shape;
    const c = 7;
    const end = 20; // write box x in [0, end): v = (c, c, end - 1)
    const m = new Uint8Array(D * H * W);
    for (let z = 0; z < D; z++)
      for (let y = 0; y < H; y++)
        for (let x = end - 1; x < W; x++) if ((z - c) ** 2 + (y - c) ** 2 <= (t + 0.5) ** 2) m[(z * H + y) * W + x] = 1;
    const hole = end - 1 + 2 * t;
    m[(c * H + c) * W + hole] = 0;
    const v = (c * H + c) * W + end - 1;
    const whole = radiusClasses(m, shape, BOUNDS);
    expect(whole[v]).toBe(BOUNDS.length); // thinner than t, through the hole
    const classOfV = (halo: number): number => {
      const rw = Math.min(W, end + halo);
      const sub = new Uint8Array(D * H * rw);
      for (let z = 0; z < D; z++)
        for (let y = 0; y < H; y++) for (let x = 0; x < rw; x++) sub[(z * H + y) * rw + x] = m[(z * H + y) * W + x]!;
      return radiusClasses(sub, [D, H, rw], BOUNDS)[(c * H + c) * rw + end - 1]!;
    };
    expect(classOfV(2 * t - 1)).toBe(BOUNDS.length + 1); // the case bites: too short a halo misses the hole
    expect(classOfV(thicknessHalo(BOUNDS))).toBe(whole[v]);
  });

  it('rejects bounds that are not positive and ascending', () => {
    expect(() => radiusClasses(new Uint8Array(8), [2, 2, 2], [2, 1])).toThrow(/ascending/);
    expect(() => radiusClasses(new Uint8Array(8), [2, 2, 2], [])).toThrow(/1 to 254/);
    expect(() => radiusClasses(new Uint8Array(7), [2, 2, 2], [1])).toThrow(/7 voxels/);
  });
});
