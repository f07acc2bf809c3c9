import { describe, expect, it } from 'vitest';
import { type Box, boxContains, boxEnd, boxVoxels, growBox, intersectBoxes, makeBox, type Vec3 } from '../../src/volume/box.js';
import { type BlockSpec, type EdgePolicy, iterateBlocks } from '../../src/volume/blocks.js';
import { ChunkGrid, mortonCompare } from '../../src/volume/chunk-grid.js';
import { copyBox, fillBox } from '../../src/volume/copy.js';
import { levelShape, pyramidShapes } from '../../src/volume/pyramid.js';
import { convertLength, levelOrigin, levelVoxelSize, parseUnit } from '../../src/volume/voxel-size.js';
import { freshSeed, rng } from '../helpers/random.js';

const seed = freshSeed();
const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const vec = (r: () => number, lo: number, hi: number): Vec3 => [int(r, lo, hi), int(r, lo, hi), int(r, lo, hi)];

/** Voxel membership by brute force: the oracle every box operation is checked against. */
function inBox(b: Box, p: Vec3): boolean {
  return [0, 1, 2].every((a) => p[a]! >= b.offset[a]! && p[a]! < b.offset[a]! + b.shape[a]!);
}

function* voxels(shape: Vec3): Generator<Vec3> {
  for (let z = 0; z < shape[0]; z++) for (let y = 0; y < shape[1]; y++) for (let x = 0; x < shape[2]; x++) yield [z, y, x];
}

describe('boxes', () => {
  it(`intersection and containment agree with voxel membership (seed ${seed})`, () => {
    const r = rng(seed);
    for (let i = 0; i < 300; i++) {
      const a = makeBox(vec(r, -3, 6), vec(r, 0, 6));
      const b = makeBox(vec(r, -3, 6), vec(r, 0, 6));
      const label = JSON.stringify({ seed, i, a, b });
      const c = intersectBoxes(a, b);
      let both = 0;
      let wrong = 0;
      for (let z = -4; z < 13; z++) {
        for (let y = -4; y < 13; y++) {
          for (let x = -4; x < 13; x++) {
            const p: Vec3 = [z, y, x];
            const inBoth = inBox(a, p) && inBox(b, p);
            if (inBoth) both++;
            if ((c ? inBox(c, p) : false) !== inBoth) wrong++;
          }
        }
      }
      expect(wrong, label).toBe(0);
      expect(c ? boxVoxels(c) : 0, label).toBe(both);
      if (c) expect(boxContains(a, c) && boxContains(b, c), label).toBe(true);
      expect(boxContains(growBox(a, [1, 1, 1]), a), label).toBe(true);
    }
  });

  it('rejects fractional and negative shapes', () => {
    expect(() => makeBox([0, 0, 0], [1, -1, 1])).toThrow(RangeError);
    expect(() => makeBox([0.5, 0, 0], [1, 1, 1])).toThrow(RangeError);
  });
});

describe('chunk grid', () => {
  it('Morton order keeps every aligned cube of 2^k chunks together, and is a permutation of any grid', () => {
    const grid = new ChunkGrid([8 * 5, 8 * 5, 8 * 5], [5, 5, 5]);
    const order = [...grid.allChunks()].sort(mortonCompare);
    expect(order[0]).toEqual([0, 0, 0]);
    expect(order[1], 'x varies fastest').toEqual([0, 0, 1]);
    expect(order[2]).toEqual([0, 1, 0]);
    expect(order[4]).toEqual([1, 0, 0]);
    for (const k of [1, 2, 4]) {
      // Consecutive runs of k³ chunks are exactly the aligned k-cubes.
      for (let start = 0; start < order.length; start += k ** 3) {
        const run = order.slice(start, start + k ** 3);
        const cube = run[0]!.map((v) => Math.floor(v / k));
        for (const c of run)
          expect(
            c.map((v) => Math.floor(v / k)),
            `run at ${start}, cube side ${k}`,
          ).toEqual(cube);
      }
    }
    const odd = new ChunkGrid([23, 7, 41], [4, 3, 5]);
    const sorted = [...odd.allChunks()].sort(mortonCompare);
    expect(new Set(sorted.map((c) => c.join()))).toEqual(new Set([...odd.allChunks()].map((c) => c.join())));
    for (let i = 1; i < sorted.length; i++) expect(mortonCompare(sorted[i - 1]!, sorted[i]!)).toBeLessThan(0);
  });

  it(`chunks tile the volume exactly and chunksIn finds exactly the chunks a box touches (seed ${seed})`, () => {
    const r = rng(seed + 1);
    for (let i = 0; i < 120; i++) {
      const shape = vec(r, 1, 13);
      const chunk = vec(r, 1, 6);
      const g = new ChunkGrid(shape, chunk);
      const label = JSON.stringify({ seed, i, shape, chunk });
      const owner = new Int32Array(shape[0] * shape[1] * shape[2]).fill(-1);
      let k = 0;
      for (const c of g.allChunks()) {
        const b = g.chunkBox(c);
        for (const p of voxels(b.shape)) {
          const idx = ((p[0] + b.offset[0]) * shape[1] + p[1] + b.offset[1]) * shape[2] + p[2] + b.offset[2];
          expect(owner[idx], label).toBe(-1);
          owner[idx] = k;
        }
        k++;
      }
      expect(k, label).toBe(g.chunkCount);
      expect(
        owner.every((o) => o >= 0),
        label,
      ).toBe(true);
      const q = makeBox(vec(r, 0, 10), vec(r, 0, 7));
      const want = new Set<string>();
      for (const p of voxels(shape)) if (inBox(q, p)) want.add([0, 1, 2].map((a) => Math.floor(p[a]! / chunk[a]!)).join());
      const got = new Set([...g.chunksIn(q)].map((c) => c.join()));
      expect([...got].sort(), `${label} query ${JSON.stringify(q)}`).toEqual([...want].sort());
      // A box is aligned iff it is a union of whole chunks.
      if (boxVoxels(q) > 0) {
        const union = [...g.chunksIn(q)].reduce((n, c) => n + boxVoxels(g.chunkBox(c)), 0);
        const inside = boxContains(makeBox([0, 0, 0], shape), q);
        expect(g.isAligned(q), `${label} query ${JSON.stringify(q)}`).toBe(inside && union === boxVoxels(q));
      }
    }
  });
});

describe('blocks with halo', () => {
  const policies: EdgePolicy[] = ['shrink', 'overhang', 'valid'];
  it(`write boxes never overlap; read = write + halo per edge policy (seed ${seed})`, () => {
    const r = rng(seed + 2);
    for (let i = 0; i < 150; i++) {
      const shape = vec(r, 1, 14);
      const blockShape = vec(r, 1, 6);
      const halo = vec(r, 0, 3);
      const edge = policies[i % 3]!;
      const spec: BlockSpec = { shape, blockShape, halo, edge };
      const label = JSON.stringify({ seed, i, spec });
      const cover = new Int32Array(shape[0] * shape[1] * shape[2]);
      const whole = makeBox([0, 0, 0], shape);
      for (const b of iterateBlocks(spec)) {
        expect(boxContains(whole, b.write), label).toBe(true);
        for (const p of voxels(b.write.shape))
          cover[((p[0] + b.write.offset[0]) * shape[1] + p[1] + b.write.offset[1]) * shape[2] + p[2] + b.write.offset[2]]!++;
        for (let a = 0; a < 3; a++) {
          if (edge === 'shrink') {
            expect(b.read.offset[a], label).toBe(Math.max(0, b.write.offset[a]! - halo[a]!));
            expect(boxEnd(b.read)[a], label).toBe(Math.min(shape[a]!, boxEnd(b.write)[a]! + halo[a]!));
          } else {
            expect(b.read.shape[a], label).toBe(blockShape[a]! + 2 * halo[a]!);
            expect(b.read.offset[a], label).toBe(b.write.offset[a]! - halo[a]!);
          }
          if (edge === 'overhang') {
            expect(b.padBefore[a], label).toBe(Math.max(0, -b.read.offset[a]!));
            expect(b.padAfter[a], label).toBe(Math.max(0, boxEnd(b.read)[a]! - shape[a]!));
          }
        }
        if (edge === 'valid') expect(boxContains(whole, b.read), label).toBe(true);
      }
      // shrink and overhang cover every voxel exactly once; valid at most once.
      const ok = edge === 'valid' ? cover.every((c) => c <= 1) : cover.every((c) => c === 1);
      expect(ok, label).toBe(true);
    }
  });

  it('refuses blocks that would split chunks', () => {
    expect(() => [
      ...iterateBlocks({ shape: [10, 10, 10], blockShape: [6, 8, 8], halo: [0, 0, 0], edge: 'shrink', chunkShape: [4, 4, 4] }),
    ]).toThrow(/multiple/);
  });
});

describe('copy between boxes', () => {
  it(`copyBox moves exactly the overlap (seed ${seed})`, () => {
    const r = rng(seed + 3);
    for (let i = 0; i < 200; i++) {
      const sb = makeBox(vec(r, -2, 4), vec(r, 1, 5));
      const db = makeBox(vec(r, -2, 4), vec(r, 1, 5));
      const src = Float64Array.from({ length: boxVoxels(sb) }, (_, k) => k + 1);
      const dst = new Float64Array(boxVoxels(db));
      copyBox(src, sb, dst, db);
      const label = JSON.stringify({ seed, i, sb, db });
      for (const p of voxels(db.shape)) {
        const w: Vec3 = [p[0] + db.offset[0], p[1] + db.offset[1], p[2] + db.offset[2]];
        const want = inBox(sb, w) ? ((w[0] - sb.offset[0]) * sb.shape[1] + w[1] - sb.offset[1]) * sb.shape[2] + w[2] - sb.offset[2] + 1 : 0;
        expect(dst[(p[0] * db.shape[1] + p[1]) * db.shape[2] + p[2]], label).toBe(want);
      }
      fillBox(dst, db, sb, -1);
      for (const p of voxels(db.shape)) {
        const w: Vec3 = [p[0] + db.offset[0], p[1] + db.offset[1], p[2] + db.offset[2]];
        if (inBox(sb, w)) expect(dst[(p[0] * db.shape[1] + p[1]) * db.shape[2] + p[2]], label).toBe(-1);
      }
    }
  });
});

describe('pyramid levels and voxel sizes', () => {
  it('halves with rounding up until the smallest side is at most 64', () => {
    expect(pyramidShapes([500, 500, 500])).toEqual([
      [500, 500, 500],
      [250, 250, 250],
      [125, 125, 125],
      [63, 63, 63],
    ]);
    expect(pyramidShapes([1024, 1024, 1024]).length).toBe(5);
    expect(pyramidShapes([471, 375, 375]).at(-1)).toEqual([59, 47, 47]);
    expect(pyramidShapes([40, 2000, 2000])).toEqual([[40, 2000, 2000]]);
    expect(pyramidShapes([1000, 1000, 1000], { maxLevels: 2 }).length).toBe(2);
    expect(levelShape([7, 9, 130], 3)).toEqual([1, 2, 17]);
  });

  it(`level voxel size and origin keep each level centred on the voxels it averages (seed ${seed})`, () => {
    const r = rng(seed + 4);
    for (let i = 0; i < 50; i++) {
      const vs: Vec3 = [0.5 + r(), 0.5 + r(), 0.5 + r()];
      const o: Vec3 = [r() * 10, r() * 10, r() * 10];
      const l = int(r, 0, 5);
      const f = 2 ** l;
      const lo = levelOrigin(o, vs, l);
      const lv = levelVoxelSize(vs, l);
      for (let a = 0; a < 3; a++) {
        // Centre of level voxel 0 = mean of the centres of level-0 voxels 0 .. 2^l − 1.
        const centre = o[a]! + ((f - 1) / 2) * vs[a]!;
        expect(lo[a]).toBeCloseTo(centre, 12);
        expect(lv[a]).toBeCloseTo(vs[a]! * f, 12);
      }
    }
  });

  it('parses and converts units', () => {
    expect(parseUnit('µm')).toBe('micrometer');
    expect(parseUnit('micron')).toBe('micrometer');
    expect(parseUnit('MM')).toBe('millimeter');
    expect(parseUnit('furlong')).toBeUndefined();
    expect(convertLength(2.5, 'millimeter', 'micrometer')).toBeCloseTo(2500, 9);
    expect(() => convertLength(1, '', 'meter')).toThrow();
  });
});
