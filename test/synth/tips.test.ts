import { describe, expect, it } from 'vitest';
import type { RsmlRoot, XYZ } from '../../src/io/rsml.js';
import { classifyTips } from '../../src/synth/tips.js';

const root = (id: string, points: XYZ[], d: number): RsmlRoot => ({
  id,
  label: '',
  parent: -1,
  parentId: null,
  depth: 0,
  points,
  diameters: points.map(() => d),
});

describe("classifyTips (the generator's tips as a mask can show them)", () => {
  it('free, touching another root, at a face, or outside the view', () => {
    const vs = 0.05;
    const extent: [number, number, number] = [4, 4, 4];
    const main = root(
      'main',
      [
        [2, 2, -0.5],
        [2, 2, 4.5],
      ],
      0.4,
    ); // crosses the view top to bottom: both ends outside
    const free = root(
      'free',
      [
        [2, 2, 1],
        [3, 2, 1],
      ],
      0.1,
    ); // ends 0.8 mm from main's surface
    const touching = root(
      'touch',
      [
        [1, 1, 3],
        [2 - 0.2 - 0.05 - 0.01, 2, 3],
      ],
      0.1,
    ); // tip surface 0.01 mm from main's
    const atFace = root(
      'face',
      [
        [2, 2, 2],
        [2, 3.92, 2],
      ],
      0.1,
    ); // 0.08 mm from the y face < radius + a voxel
    const c = classifyTips([main, free, touching, atFace], extent, vs);
    expect(c).toEqual({ free: 1, touching: 1, atFace: 1 });
    // Just outside a voxel of contact it is free again.
    const near = root(
      'near',
      [
        [1, 1, 3],
        [2 - 0.2 - 0.05 - 0.06, 2, 3],
      ],
      0.1,
    );
    expect(classifyTips([main, near], extent, vs)).toEqual({ free: 1, touching: 0, atFace: 0 });
  });
});
