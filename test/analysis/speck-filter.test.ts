import { describe, expect, it } from 'vitest';
import { labelComponents, neighbourOffsets } from '../../src/analysis/components.js';
import { type MaskChunks, removeSpecks } from '../../src/analysis/speck-filter.js';
import { type Box, type Vec3 } from '../../src/volume/box.js';
import { ChunkGrid } from '../../src/volume/chunk-grid.js';
import { copyBox } from '../../src/volume/copy.js';
import { blobs, type Mask } from './shapes.js';

/** A mask held in memory, chunk by chunk, counting reads and writes. */
function memoryChunks(m: Mask, chunk: Vec3): MaskChunks & { data: Uint8Array; reads: number; writes: string[] } {
  const whole: Box = { offset: [0, 0, 0], shape: m.shape };
  const store = {
    grid: new ChunkGrid(m.shape, chunk),
    data: Uint8Array.from(m.data),
    reads: 0,
    writes: [] as string[],
    read: async (c: Vec3): Promise<Uint8Array> => {
      store.reads++;
      const box = store.grid.chunkBox(c);
      const out = new Uint8Array(box.shape[0] * box.shape[1] * box.shape[2]);
      copyBox(store.data, whole, out, box);
      return out;
    },
    write: async (c: Vec3, d: Uint8Array): Promise<void> => {
      store.writes.push(c.join(','));
      copyBox(d, store.grid.chunkBox(c), store.data, whole);
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
        const report = await removeSpecks(store, [...store.grid.allChunks()], min);
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
    const first = await removeSpecks(store, all, 4);
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
    const again = await removeSpecks(store, all, 4);
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
      const report = await removeSpecks(store, chunks, 6);
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
    const report = await removeSpecks(store, [...store.grid.allChunks()], 5);
    expect(report.components).toBe(1);
    expect(report.removed).toBe(0);
    expect(Array.from(store.data)).toEqual(Array.from(data));
    const split = await removeSpecks(memoryChunks({ data, shape }, [2, 2, 2]), [...store.grid.allChunks()], 7);
    expect(split.removed).toBe(1);
    expect(split.removedVoxels).toBe(6);
  });
});
