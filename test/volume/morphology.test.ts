import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../../src/volume/box.js';
import { greyOpening, unitStep } from '../../src/volume/morphology.js';
import { rng } from '../helpers/random.js';

/** Grey opening: each unit step against the least (or greatest) value over its neighbours, and what opening keeps and removes. */

const SHAPE: Vec3 = [7, 9, 11];
const idx = (z: number, y: number, x: number): number => (z * SHAPE[1] + y) * SHAPE[2] + x;

/** From the definition: over the offsets of the step's element that stay inside the volume. */
function referenceStep(p: Float32Array, k: number, max: boolean): Float32Array {
  const offs: Vec3[] = [];
  for (let dz = -1; dz <= 1; dz++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const l1 = Math.abs(dz) + Math.abs(dy) + Math.abs(dx);
        if (k % 3 === 2 || l1 <= 1) offs.push([dz, dy, dx]);
      }
  const out = new Float32Array(p.length);
  for (let z = 0; z < SHAPE[0]; z++)
    for (let y = 0; y < SHAPE[1]; y++)
      for (let x = 0; x < SHAPE[2]; x++) {
        let m = max ? -Infinity : Infinity;
        for (const [dz, dy, dx] of offs) {
          const q: Vec3 = [z + dz, y + dy, x + dx];
          if (q.some((c, a) => c < 0 || c >= SHAPE[a]!)) continue;
          m = max ? Math.max(m, p[idx(...q)]!) : Math.min(m, p[idx(...q)]!);
        }
        out[idx(z, y, x)] = m;
      }
  return out;
}

describe('grey-level opening', () => {
  it('each unit step is the least (greatest) value over the cross, or the cube every third step, cut at the faces', () => {
    const r = rng(3);
    const p = Float32Array.from({ length: SHAPE[0] * SHAPE[1] * SHAPE[2] }, () => r());
    for (const k of [0, 1, 2, 5]) {
      expect([...unitStep(p, SHAPE, k, false)], `erosion step ${k}`).toEqual([...referenceStep(p, k, false)]);
      expect([...unitStep(p, SHAPE, k, true)], `dilation step ${k}`).toEqual([...referenceStep(p, k, true)]);
    }
    // Opening is radius erosion steps, then radius dilation steps.
    let want: Float32Array = p;
    for (let k = 0; k < 4; k++) want = referenceStep(want, k, false);
    for (let k = 0; k < 4; k++) want = referenceStep(want, k, true);
    expect([...greyOpening(p, SHAPE, 4)]).toEqual([...want]);
  });

  it('keeps a thick body whole, edge and all, and removes a thin one beside it', () => {
    const shape: Vec3 = [40, 40, 40];
    const n = shape[0] * shape[1] * shape[2];
    const p = new Float32Array(n);
    const at = (z: number, y: number, x: number): number => (z * shape[1] + y) * shape[2] + x;
    for (let z = 0; z < 40; z++)
      for (let y = 0; y < 40; y++)
        for (let x = 0; x < 40; x++) {
          if (Math.hypot(y - 12, x - 12) <= 7.5)
            p[at(z, y, x)] = 0.9; // a thick root along z, radius 7.5
          else if (Math.hypot(y - 30, x - 30) <= 2.5) p[at(z, y, x)] = 0.8; // a thin one, radius 2.5
        }
    const o = greyOpening(p, shape, 5);
    const THICK = Math.fround(0.9);
    const THIN = Math.fround(0.8);
    let thickKept = 0;
    let thick = 0;
    let thinKept = 0;
    let added = 0;
    for (let i = 0; i < n; i++) {
      if (p[i] === THICK) {
        thick++;
        if (o[i] === THICK) thickKept++;
      }
      if (p[i] === THIN && o[i]! > 0) thinKept++;
      if (o[i]! > p[i]!) added++;
    }
    expect(thickKept / thick, 'the thick body, edge included (the polyhedron misses a few rim voxels a ball would reach)').toBeGreaterThan(
      0.9,
    );
    expect(thinKept, 'the thin body').toBe(0);
    expect(added, 'opening never adds').toBe(0);
  });
});
