import { describe, expect, it } from 'vitest';
import { autoScales, ScaleLevel, fuseMax, parseScales, upsampleTrilinear } from '../../src/pipeline/multiscale.js';
import { makeBox, type Box, type Vec3 } from '../../src/volume/box.js';
import type { Tile } from '../../src/volume/tiles.js';
import { rng } from '../helpers/random.js';

/** A fake network: each tile's cube is a fixed function of the tile's start, so any caller gets the same numbers. */
function fakePredict(out: number, calls: { tiles: number }): (tiles: Tile[]) => Promise<Float32Array[]> {
  return async (tiles) => {
    calls.tiles += tiles.length;
    return tiles.map((t) => {
      const r = rng(t.start[0] * 1_000_003 + t.start[1] * 1009 + t.start[2] + 7);
      return Float32Array.from({ length: out ** 3 }, () => r());
    });
  };
}

/** The trilinear value at full-resolution voxel (z, y, x) of a whole coarse volume, in float64, from the definition. */
function oracle(coarse: Float64Array, cs: Vec3, f: number, p: Vec3): number {
  const idx = p.map((v, a) => Math.min(cs[a]! - 1, Math.max(0, (v + 0.5) / f - 0.5)));
  let sum = 0;
  for (let dz = 0; dz < 2; dz++)
    for (let dy = 0; dy < 2; dy++)
      for (let dx = 0; dx < 2; dx++) {
        const d = [dz, dy, dx];
        let w = 1;
        const q = idx.map((u, a) => {
          const j = Math.floor(u);
          const t = u - j;
          w *= d[a] ? t : 1 - t;
          return Math.min(cs[a]! - 1, j + d[a]!);
        });
        sum += w * coarse[(q[0]! * cs[1] + q[1]!) * cs[2] + q[2]!]!;
      }
  return sum;
}

describe('multi-scale inference', () => {
  it('parses --scales and picks the levels a scan is large enough for', () => {
    expect(parseScales('auto')).toBe('auto');
    expect(parseScales('2,0')).toEqual([0, 2]);
    expect(() => parseScales('0,x')).toThrow(/--scales/);
    expect(() => parseScales('1,1')).toThrow(/twice/);
    expect(autoScales([500, 500, 500], 48)).toEqual([0, 1, 2]);
    expect(autoScales([192, 500, 500], 48)).toEqual([0, 1, 2]);
    expect(autoScales([191, 500, 500], 48)).toEqual([0, 1, 2]); // level 2 is ceil(191 / 4) = 48
    expect(autoScales([188, 500, 500], 48)).toEqual([0, 1]);
    expect(autoScales([96, 96, 96], 48)).toEqual([0, 1]);
    expect(autoScales([94, 500, 500], 48)).toEqual([0]);
  });

  it('interpolates a coarse grid trilinearly at full-resolution voxel centres, as the definition says', () => {
    const r = rng(11);
    for (const f of [2, 4]) {
      const cs: Vec3 = [5, 6, 7];
      const coarse = Float64Array.from({ length: cs[0] * cs[1] * cs[2] }, () => r());
      const full: Vec3 = [cs[0] * f - 1, cs[1] * f, cs[2] * f - 3];
      const box = makeBox([0, 0, 0], full);
      const got = upsampleTrilinear(Float32Array.from(coarse), makeBox([0, 0, 0], cs), box, f);
      let worst = 0;
      for (let z = 0; z < full[0]; z++)
        for (let y = 0; y < full[1]; y++)
          for (let x = 0; x < full[2]; x++)
            worst = Math.max(worst, Math.abs(got[(z * full[1] + y) * full[2] + x]! - oracle(coarse, cs, f, [z, y, x])));
      expect(worst, `factor ${f}`).toBeLessThan(1e-6);
    }
  });

  it('gives every voxel the same probability however the volume is cut into blocks, and reuses tiles', async () => {
    const shape: Vec3 = [70, 53, 61];
    // Level 0 with tiles smaller than the blocks and larger than them (shared between blocks).
    // Coarse levels also opened, as when fused with a finer level: the opening's margin keeps blocks exact.
    for (const [level, out, opening] of [
      [0, 8, 0],
      [0, 32, 0],
      [1, 8, 0],
      [2, 8, 0],
      [1, 8, 3],
      [2, 8, 2],
    ] as const) {
      const calls = { tiles: 0 };
      const whole = await new ScaleLevel(level, shape, out, fakePredict(out, calls), opening).probabilities(makeBox([0, 0, 0], shape));
      const blocked = new Float32Array(whole.length);
      const callsB = { tiles: 0 };
      const lvl = new ScaleLevel(level, shape, out, fakePredict(out, callsB), opening);
      const side = 24;
      for (let z = 0; z < shape[0]; z += side)
        for (let y = 0; y < shape[1]; y += side)
          for (let x = 0; x < shape[2]; x += side) {
            const b: Box = makeBox([z, y, x], [Math.min(side, shape[0] - z), Math.min(side, shape[1] - y), Math.min(side, shape[2] - x)]);
            const p = await lvl.probabilities(b);
            for (let k = 0; k < b.shape[0]; k++)
              for (let j = 0; j < b.shape[1]; j++)
                blocked.set(
                  p.subarray((k * b.shape[1] + j) * b.shape[2], (k * b.shape[1] + j + 1) * b.shape[2]),
                  ((z + k) * shape[1] + y + j) * shape[2] + x,
                );
          }
      expect(Buffer.from(blocked.buffer).equals(Buffer.from(whole.buffer)), `level ${level}, tile ${out}, opening ${opening}`).toBe(true);
      // With the cache each tile is predicted once.
      expect(callsB.tiles, `level ${level}, tile ${out}, opening ${opening}`).toBe(calls.tiles);
    }
  });

  it('fuses by the maximum', () => {
    const a = Float32Array.of(0.1, 0.9, 0.5);
    fuseMax(a, Float32Array.of(0.3, 0.2, 0.5));
    expect([...a]).toEqual([Float32Array.of(0.3)[0], Float32Array.of(0.9)[0], 0.5]);
  });
});
