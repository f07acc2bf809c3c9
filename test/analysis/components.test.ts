import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keptInReadBox, labelComponents, StreamingComponents, type Connectivity } from '../../src/analysis/components.js';
import { iterateBlocks } from '../../src/volume/blocks.js';
import { type Box, type Vec3 } from '../../src/volume/box.js';
import { copyBox } from '../../src/volume/copy.js';
import { tempDir } from '../io/helpers.js';
import { HAS_SKIMAGE, peer, SKIP_NOTE } from './peer.js';
import { blobs, type Mask } from './shapes.js';

/** True when a and b label the same partition (a bijection between nonzero labels). */
function samePartition(a: Int32Array, b: Int32Array): { ok: boolean; where?: number } {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if ((x === 0) !== (y === 0)) return { ok: false, where: i };
    if (x === 0) continue;
    if ((ab.get(x) ?? y) !== y || (ba.get(y) ?? x) !== x) return { ok: false, where: i };
    ab.set(x, y);
    ba.set(y, x);
  }
  return { ok: true };
}

function blockRead(m: Mask, box: Box): Uint8Array {
  const out = new Uint8Array(box.shape[0] * box.shape[1] * box.shape[2]);
  copyBox(m.data, { offset: [0, 0, 0], shape: m.shape }, out, box);
  return out;
}

/** Labels a mask block by block and returns the global labels of every voxel. */
function streamed(m: Mask, block: Vec3, conn: Connectivity): { labels: Int32Array; sc: StreamingComponents } {
  const sc = new StreamingComponents(m.shape, conn);
  const spec = { shape: m.shape, blockShape: block, halo: [0, 0, 0] as Vec3, edge: 'shrink' as const };
  const locals: { box: Box; labels: Int32Array }[] = [];
  for (const b of iterateBlocks(spec)) locals.push({ box: b.write, labels: sc.addBlock(b.write, blockRead(m, b.write)).labels });
  sc.finish();
  const labels = new Int32Array(m.data.length);
  for (const l of locals) copyBox(sc.globalise(l.box, l.labels), l.box, labels, { offset: [0, 0, 0], shape: m.shape });
  return { labels, sc };
}

describe('connected components', () => {
  it('streamed over blocks gives the same labels as labelling the whole volume, for 6 and 26 connectivity', () => {
    for (const seed of [11, 12, 13]) {
      const m = blobs([37, 29, 41], seed, 1, 0.58);
      for (const conn of [6, 26] as const) {
        const whole = labelComponents(m.data, m.shape, conn);
        const { labels, sc } = streamed(m, [8, 13, 10], conn);
        expect(sc.components.length).toBe(whole.count);
        // Same numbering too: both go by each component's first voxel in raster order.
        expect(Array.from(labels)).toEqual(Array.from(whole.labels));
        expect(sc.components.map((c) => c.voxels)).toEqual(Array.from(whole.sizes.slice(1)));
      }
    }
  });

  it('diagonal contacts across block edges and corners join components', () => {
    const shape: Vec3 = [4, 4, 4];
    const d = new Uint8Array(64);
    d[(1 * 4 + 1) * 4 + 1] = 1;
    d[(2 * 4 + 2) * 4 + 2] = 1; // corner contact across the 2×2×2 block split
    const { sc } = streamed({ data: d, shape }, [2, 2, 2], 26);
    expect(sc.components.length).toBe(1);
    const { sc: sc6 } = streamed({ data: d, shape }, [2, 2, 2], 6);
    expect(sc6.components.length).toBe(2);
  });

  it('marks components under the size threshold as dropped, and keptInReadBox follows that into the halo', () => {
    const shape: Vec3 = [12, 12, 12];
    const d = new Uint8Array(12 ** 3);
    for (let z = 0; z < 12; z++) d[(z * 12 + 5) * 12 + 5] = 1; // a 12-voxel line through both blocks
    d[(7 * 12 + 1) * 12 + 1] = 1; // a speck in the second block
    const m = { data: d, shape };
    const { sc } = streamed(m, [6, 12, 12], 26);
    const comps = sc.finish(5);
    expect(comps.map((c) => [c.voxels, c.kept])).toEqual([
      [12, true],
      [1, false],
    ]);
    // First block with a 3-voxel halo into the second.
    const write: Box = { offset: [0, 0, 0], shape: [6, 12, 12] };
    const read: Box = { offset: [0, 0, 0], shape: [9, 12, 12] };
    const ids = sc.globalise(write, labelComponents(blockRead(m, write), write.shape).labels);
    const kept = keptInReadBox(sc, read, blockRead(m, read), write, ids);
    expect(kept[(7 * 12 + 5) * 12 + 5]).toBe(1);
    expect(kept[(7 * 12 + 1) * 12 + 1]).toBe(0);
  });

  describe(`agree with scipy.ndimage.label${SKIP_NOTE}`, () => {
    let dir = '';
    let cleanup = async (): Promise<void> => {};
    beforeAll(async () => {
      ({ dir, cleanup } = await tempDir('rhizoct-cc-'));
    });
    afterAll(() => cleanup());
    for (const conn of [26, 6] as const) {
      it.skipIf(!HAS_SKIMAGE)(`${conn}-connectivity: identical labels up to renumbering, whole and streamed`, () => {
        for (const seed of [21, 22]) {
          const m = blobs([40, 33, 35], seed, 1, 0.6);
          const theirs = new Int32Array(new Uint8Array(peer(conn === 26 ? 'label26' : 'label6', m, dir)).buffer);
          const whole = labelComponents(m.data, m.shape, conn);
          const { labels } = streamed(m, [16, 16, 16], conn);
          expect(whole.count).toBeGreaterThan(3);
          expect(samePartition(whole.labels, theirs)).toEqual({ ok: true });
          expect(samePartition(labels, theirs)).toEqual({ ok: true });
        }
      });
    }
  });
});
