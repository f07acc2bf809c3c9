import { describe, expect, it } from 'vitest';
import { randomAugmentation } from '../../src/nn/train/augment.js';
import { AXIS_ORDERS, type CubeTransform, IDENTITY, transformCube } from '../../src/volume/cube-transform.js';
import { freshSeed, rng } from '../helpers/random.js';

const seed = freshSeed();

/**
 * The reference, written from the definition and not from the implementation: flip, then turn the
 * y-x plane a quarter at a time (a turn sends the value at (y, x) to (x, n-1-y), as numpy's rot90
 * over axes (1, 2) does), then out[i] = cube[j] with j[axes[k]] = i[k] (numpy's transpose).
 */
function reference(src: Float32Array, n: number, a: CubeTransform): Float32Array {
  let cube = Array.from(src);
  const at = (z: number, y: number, x: number): number => (z * n + y) * n + x;
  const map = (f: (z: number, y: number, x: number) => [number, number, number]): void => {
    const next = new Array<number>(cube.length);
    for (let z = 0; z < n; z++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) next[at(z, y, x)] = cube[at(...f(z, y, x))]!;
    cube = next;
  };
  const l = n - 1;
  map((z, y, x) => [a.flip[0] ? l - z : z, a.flip[1] ? l - y : y, a.flip[2] ? l - x : x]);
  for (let t = 0; t < a.turns; t++) map((z, y, x) => [z, x, l - y]);
  map((...i) => {
    const j: [number, number, number] = [0, 0, 0];
    for (let k = 0; k < 3; k++) j[a.axes[k]!] = i[k]!;
    return j;
  });
  return Float32Array.from(cube);
}

const everyTransform = (orders: readonly CubeTransform['axes'][]): CubeTransform[] => {
  const all: CubeTransform[] = [];
  for (const axes of orders)
    for (let f = 0; f < 8; f++)
      for (let turns = 0; turns < 4; turns++) all.push({ flip: [(f & 1) > 0, (f & 2) > 0, (f & 4) > 0], turns, axes });
  return all;
};

describe(`cube transforms (seed ${seed})`, () => {
  it('every flip, turn and axis order matches the reference on a random cube', () => {
    const r = rng(seed);
    for (const n of [1, 2, 5]) {
      const a = Float32Array.from({ length: n ** 3 }, () => r());
      for (const t of everyTransform(AXIS_ORDERS)) expect([...transformCube(a, n, t)], JSON.stringify(t)).toEqual([...reference(a, n, t)]);
    }
  });

  it('a root along z lies along x after the order (x, y, z)', () => {
    const n = 6;
    const a = new Float32Array(n ** 3);
    for (let z = 0; z < n; z++) a[(z * n + 2) * n + 4] = 1; // the line y = 2, x = 4
    const t = transformCube(a, n, { ...IDENTITY, axes: [2, 1, 0] });
    for (let x = 0; x < n; x++) expect(t[(4 * n + 2) * n + x]).toBe(1); // now z = 4, y = 2
    expect(t.reduce((s, v) => s + v, 0)).toBe(n);
  });

  it('flips and turns reach 16 orientations of a cube; with the axis orders, all 48', () => {
    const n = 3;
    const a = Float32Array.from({ length: n ** 3 }, (_, i) => i);
    const distinct = (ts: CubeTransform[]): number => new Set(ts.map((t) => transformCube(a, n, t).join(','))).size;
    expect(distinct(everyTransform([IDENTITY.axes]))).toBe(16);
    expect(distinct(everyTransform(AXIS_ORDERS))).toBe(48);
  });

  it('randomAugmentation draws every axis order only when asked, and its other draws are unchanged by asking', () => {
    const seen = new Set<string>();
    const [r1, r2] = [rng(seed + 1), rng(seed + 1)];
    for (let k = 0; k < 300; k++) {
      const plain = randomAugmentation(r1, { gain: 1.7, bias: 0.25, gamma: 1.5 });
      // The same stream with the axes drawn last: everything else as without them.
      const any = randomAugmentation(r2, { gain: 1.7, bias: 0.25, gamma: 1.5 }, true);
      r1();
      expect(plain.axes).toEqual([0, 1, 2]);
      expect({ ...any, axes: plain.axes }).toEqual(plain);
      seen.add(any.axes.join(''));
    }
    expect([...seen].sort()).toEqual(AXIS_ORDERS.map((o) => o.join('')).sort());
  });
});
