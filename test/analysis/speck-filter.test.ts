import { describe, expect, it } from 'vitest';
import { labelComponents, neighbourOffsets } from '../../src/analysis/components.js';
import {
  COMPACT_ELONGATION,
  elongation,
  type MaskChunks,
  maskInMemory,
  removeSpecks,
  symmetricEigenvalues,
} from '../../src/analysis/speck-filter.js';
import { rng } from '../helpers/random.js';
import { type Vec3 } from '../../src/volume/box.js';
import { ChunkGrid } from '../../src/volume/chunk-grid.js';
import { copyBox } from '../../src/volume/copy.js';
import { blobs, type Mask } from './shapes.js';

/** The mask in memory (a copy), chunk by chunk, counting reads and writes. */
function memoryChunks(m: Mask, chunk: Vec3): MaskChunks & { data: Uint8Array; reads: number; writes: string[] } {
  const data = Uint8Array.from(m.data);
  const inner = maskInMemory(data, m.shape, chunk);
  const store = {
    grid: inner.grid,
    data,
    reads: 0,
    writes: [] as string[],
    read: (c: Vec3): Promise<Uint8Array> => {
      store.reads++;
      return inner.read(c);
    },
    write: (c: Vec3, d: Uint8Array): Promise<void> => {
      store.writes.push(c.join(','));
      return inner.write(c, d);
    },
  };
  return store;
}

/**
 * The reference, on the whole volume at once: of the mask inside the looked-at voxels, each
 * 26-connected component under `min` voxels with no voxel beside a voxel of the volume not
 * looked at is removed.
 */
function reference(m: Mask, looked: Uint8Array, min: number): Uint8Array {
  const [nz, ny, nx] = m.shape;
  const inside = Uint8Array.from(m.data, (v, i) => (v && looked[i] ? 1 : 0));
  const lab = labelComponents(inside, m.shape, 26);
  const open = new Uint8Array(lab.count + 1);
  const offs = neighbourOffsets(26);
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++)
      for (let x = 0; x < nx; x++) {
        const l = lab.labels[(z * ny + y) * nx + x]!;
        if (!l) continue;
        for (const [dz, dy, dx] of offs) {
          const zz = z + dz,
            yy = y + dy,
            xx = x + dx;
          if (zz < 0 || yy < 0 || xx < 0 || zz >= nz || yy >= ny || xx >= nx) continue;
          if (!looked[(zz * ny + yy) * nx + xx]) open[l] = 1;
        }
      }
  return Uint8Array.from(m.data, (v, i) => {
    const l = lab.labels[i]!;
    return v && !(l && lab.sizes[l]! < min && !open[l]) ? 1 : 0;
  });
}

function lookedVoxels(grid: ChunkGrid, chunks: Vec3[]): Uint8Array {
  const out = new Uint8Array(grid.shape[0] * grid.shape[1] * grid.shape[2]);
  for (const c of chunks) {
    const box = grid.chunkBox(c);
    copyBox(new Uint8Array(box.shape[0] * box.shape[1] * box.shape[2]).fill(1), box, out, { offset: [0, 0, 0], shape: grid.shape });
  }
  return out;
}

describe('removeSpecks', () => {
  it('over every chunk, removes exactly the components under the size that labelling the whole volume finds', async () => {
    for (const seed of [21, 22, 23]) {
      const m = blobs([37, 29, 41], seed, 1, 0.6);
      const whole = labelComponents(m.data, m.shape, 26);
      for (const min of [2, 5, 20]) {
        const store = memoryChunks(m, [8, 13, 10]);
        const report = await removeSpecks(store, [...store.grid.allChunks()], { minVoxels: min, compactBelow: 0 });
        const small = Array.from(whole.sizes.slice(1)).filter((s) => s < min);
        expect(small.length, `seed ${seed}: the mask has specks under ${min} voxels`).toBeGreaterThan(0);
        expect(report.components).toBe(whole.count);
        expect(report.removed).toBe(small.length);
        expect(report.removedVoxels).toBe(small.reduce((a, b) => a + b, 0));
        expect(report.open).toBe(0);
        const want = reference(m, new Uint8Array(m.data.length).fill(1), min);
        expect(Array.from(store.data)).toEqual(Array.from(want));
        // Components of min voxels or more, joined across chunk faces, edges and corners, are all kept.
        const kept = labelComponents(store.data, m.shape, 26);
        expect(Math.min(...kept.sizes.slice(1))).toBeGreaterThanOrEqual(min);
      }
    }
  });

  it('rewrites only the chunks that hold a removed component, and a second run changes nothing', async () => {
    const m = blobs([30, 30, 30], 31, 2, 0.6);
    const store = memoryChunks(m, [10, 10, 10]);
    const all = [...store.grid.allChunks()];
    const first = await removeSpecks(store, all, { minVoxels: 4, compactBelow: 0 });
    expect(first.removed).toBeGreaterThan(0);
    const holding = new Set<string>();
    for (const c of all) {
      const box = store.grid.chunkBox(c);
      const before = new Uint8Array(box.shape[0] * box.shape[1] * box.shape[2]);
      copyBox(m.data, { offset: [0, 0, 0], shape: m.shape }, before, box);
      const after = await store.read(c);
      if (before.some((v, i) => v !== after[i])) holding.add(c.join(','));
    }
    expect(holding.size, 'some chunks hold no speck').toBeLessThan(all.length);
    expect(new Set(store.writes)).toEqual(holding);
    expect(store.writes.length).toBe(first.chunksWritten);
    const after = Uint8Array.from(store.data);
    store.writes.length = 0;
    const again = await removeSpecks(store, all, { minVoxels: 4, compactBelow: 0 });
    expect(again.removed).toBe(0);
    expect(store.writes).toEqual([]);
    expect(Array.from(store.data)).toEqual(Array.from(after));
  });

  it('over some chunks (a region run), keeps a small component that reaches a chunk not looked at and leaves those chunks alone', async () => {
    for (const seed of [41, 42]) {
      const m = blobs([33, 27, 35], seed, 1, 0.6);
      const store = memoryChunks(m, [8, 9, 7]);
      const all = [...store.grid.allChunks()];
      // Every chunk of a block of the grid but one, so the looked-at set has holes and edges.
      const chunks = all.filter(([z, y, x]) => z >= 1 && y <= 2 && !(z === 2 && y === 1 && x === 2));
      const looked = lookedVoxels(store.grid, chunks);
      const report = await removeSpecks(store, chunks, { minVoxels: 6, compactBelow: 0 });
      expect(report.open, 'some small pieces reach unlooked chunks').toBeGreaterThan(0);
      expect(report.removed).toBeGreaterThan(0);
      expect(Array.from(store.data)).toEqual(Array.from(reference(m, looked, 6)));
      for (let i = 0; i < m.data.length; i++) if (!looked[i]) expect(store.data[i]).toBe(m.data[i]);
    }
  });

  it('a 1-voxel diagonal bridge across a chunk corner keeps two halves as one component', async () => {
    const shape: Vec3 = [4, 4, 4];
    const data = new Uint8Array(64);
    const at = (z: number, y: number, x: number): number => (z * 4 + y) * 4 + x;
    // 3 voxels in chunk (0,0,0) and 3 in chunk (1,1,1), touching only at the corner (1,1,1)–(2,2,2).
    for (const [z, y, x] of [
      [0, 0, 1],
      [0, 1, 1],
      [1, 1, 1],
      [2, 2, 2],
      [3, 2, 2],
      [3, 3, 2],
    ] as Vec3[])
      data[at(z, y, x)] = 1;
    const store = memoryChunks({ data, shape }, [2, 2, 2]);
    const report = await removeSpecks(store, [...store.grid.allChunks()], { minVoxels: 5, compactBelow: 0 });
    expect(report.components).toBe(1);
    expect(report.removed).toBe(0);
    expect(Array.from(store.data)).toEqual(Array.from(data));
    const split = await removeSpecks(memoryChunks({ data, shape }, [2, 2, 2]), [...store.grid.allChunks()], {
      minVoxels: 7,
      compactBelow: 0,
    });
    expect(split.removed).toBe(1);
    expect(split.removedVoxels).toBe(6);
  });

  it('removes compact pieces under the bound and keeps elongated ones of the same size, with moments summed across chunks', async () => {
    const shape: Vec3 = [40, 40, 40];
    const data = new Uint8Array(40 ** 3);
    const at = (z: number, y: number, x: number): number => (z * 40 + y) * 40 + x;
    const piece = (inside: (z: number, y: number, x: number) => boolean): void => {
      for (let z = 0; z < 40; z++) for (let y = 0; y < 40; y++) for (let x = 0; x < 40; x++) if (inside(z, y, x)) data[at(z, y, x)] = 1;
    };
    // A ball of radius 4.5 centred on a chunk corner (its voxels in 8 chunks), a rod of radius 2.3
    // and length 36, an ellipsoid of axes 9 × 4.5 × 4.5 (elongation about 2: compact), and a 2-voxel speck.
    piece((z, y, x) => (z - 15.5) ** 2 + (y - 15.5) ** 2 + (x - 15.5) ** 2 <= 4.5 ** 2);
    piece((z, y, x) => z >= 2 && z < 38 && (y - 33) ** 2 + (x - 5) ** 2 <= 2.3 ** 2);
    piece((z, y, x) => ((z - 28) / 9) ** 2 + ((y - 8) / 4.5) ** 2 + ((x - 30) / 4.5) ** 2 <= 1);
    data[at(38, 38, 38)] = 1;
    data[at(38, 38, 39)] = 1;
    const whole = labelComponents(data, shape, 26);
    expect(whole.count).toBe(4);
    // Each piece's elongation from its voxels directly (Jacobi eigenvalues), in raster order of first voxel.
    const byLabel = Array.from({ length: whole.count + 1 }, () => [] as Vec3[]);
    for (let z = 0; z < 40; z++)
      for (let y = 0; y < 40; y++) for (let x = 0; x < 40; x++) byLabel[whole.labels[at(z, y, x)]!]!.push([z, y, x]);
    const label = (z: number, y: number, x: number): number => whole.labels[at(z, y, x)]!;
    const e = (l: number): number => jacobiElongation(byLabel[l]!);
    const size = (l: number): number => whole.sizes[l]!;
    const [ball, rod, ellipsoid] = [label(15, 15, 15), label(20, 33, 5), label(28, 8, 30)];
    expect(e(ball)).toBeLessThan(1.1);
    expect(e(rod)).toBeGreaterThan(COMPACT_ELONGATION);
    expect(e(ellipsoid)).toBeGreaterThan(1.6);
    expect(e(ellipsoid)).toBeLessThan(COMPACT_ELONGATION);
    expect(size(rod), 'the rod is as large as the compact pieces').toBeGreaterThan(Math.min(size(ball), size(ellipsoid)));
    const store = memoryChunks({ data, shape }, [16, 16, 16]);
    const report = await removeSpecks(store, [...store.grid.allChunks()], { minVoxels: 3, compactBelow: 1000 });
    expect(report).toMatchObject({ components: 4, removed: 3, compact: 2, removedVoxels: size(ball) + size(ellipsoid) + 2 });
    const kept = labelComponents(store.data, shape, 26);
    expect(kept.count).toBe(1);
    expect(kept.sizes[1]).toBe(size(rod));
    expect(store.data[at(20, 33, 5)], 'the rod stays').toBe(1);
    // A bound at the ball's size keeps the ball (fewer voxels than the bound are needed).
    const bound = memoryChunks({ data, shape }, [16, 16, 16]);
    await removeSpecks(bound, [...bound.grid.allChunks()], { minVoxels: 3, compactBelow: size(ball) });
    expect(bound.data[at(15, 15, 15)]).toBe(1);
  });

  it('elongation matches the covariance of the voxels (unit cubes), and the 3×3 eigenvalues a Jacobi reference', () => {
    const r = rng(5);
    for (let t = 0; t < 50; t++) {
      const g = [0, 1, 2].map(() => [r() - 0.5, r() - 0.5, r() - 0.5]);
      // Symmetric positive semi-definite, every fifth with a repeated eigenvalue added.
      const m = [0, 1, 2].map((i) =>
        [0, 1, 2].map((j) => g.reduce((a, row) => a + row[i]! * row[j]!, 0) + (t % 5 === 0 && i === j ? 1 : 0)),
      );
      const got = symmetricEigenvalues(m[0]![0]!, m[1]![1]!, m[2]![2]!, m[0]![1]!, m[0]![2]!, m[1]![2]!);
      const want = jacobi(m);
      for (let k = 0; k < 3; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThan(1e-9);
    }
    const diag = symmetricEigenvalues(2, 5, 3, 0, 0, 0);
    expect(diag).toEqual([5, 3, 2]);
    const pts: Vec3[] = [];
    for (let k = 0; k < 200; k++) pts.push([Math.floor(r() * 9), Math.floor(r() * 30), Math.floor(r() * 4)]);
    const mom = new Float64Array(10);
    for (const [z, y, x] of pts) [1, z, y, x, z * z, y * y, x * x, z * y, z * x, y * x].forEach((v, k) => (mom[k]! += v));
    expect(Math.abs(elongation(mom) - jacobiElongation(pts))).toBeLessThan(1e-9);
  });
});

/** Eigenvalues of a symmetric 3×3 matrix by cyclic Jacobi rotations, largest first. */
function jacobi(a0: number[][]): number[] {
  const a = a0.map((row) => [...row]);
  for (let sweep = 0; sweep < 50; sweep++) {
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const) {
      if (Math.abs(a[p]![q]!) < 1e-300) continue;
      const theta = (a[q]![q]! - a[p]![p]!) / (2 * a[p]![q]!);
      const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) {
        const [akp, akq] = [a[k]![p]!, a[k]![q]!];
        a[k]![p] = c * akp - s * akq;
        a[k]![q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const [apk, aqk] = [a[p]![k]!, a[q]![k]!];
        a[p]![k] = c * apk - s * aqk;
        a[q]![k] = s * apk + c * aqk;
      }
    }
  }
  return [a[0]![0]!, a[1]![1]!, a[2]![2]!].sort((x, y) => y - x);
}

/** √(λ1/λ3) of the covariance of the points, each a unit cube (1/12 on the diagonal). */
function jacobiElongation(pts: Vec3[]): number {
  const n = pts.length;
  const mean = [0, 1, 2].map((k) => pts.reduce((a, p) => a + p[k]!, 0) / n);
  const c = [0, 1, 2].map((i) =>
    [0, 1, 2].map((j) => pts.reduce((a, p) => a + (p[i]! - mean[i]!) * (p[j]! - mean[j]!), 0) / n + (i === j ? 1 / 12 : 0)),
  );
  const e = jacobi(c);
  return Math.sqrt(e[0]! / e[2]!);
}
