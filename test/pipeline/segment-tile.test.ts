import { describe, expect, it } from 'vitest';
import { DUAL_DEFAULT, dualGeometry, dualGeometryFor } from '../../src/nn/models/dual.js';
import type { SegmentationModel } from '../../src/nn/models/model.js';
import { inferenceTile, voxelsComputed, type TileWork } from '../../src/pipeline/inference-tile.js';
import type { Vec3 } from '../../src/volume/box.js';

const dual = {
  arch: 'dual',
  geometry: dualGeometry(DUAL_DEFAULT),
  inferenceGeometry: (p: number) => (p === DUAL_DEFAULT.patch ? dualGeometry(DUAL_DEFAULT) : dualGeometryFor(DUAL_DEFAULT, p)),
} as unknown as SegmentationModel;
const fixed = { arch: 'mlmr', geometry: dualGeometry(DUAL_DEFAULT) } as unknown as SegmentationModel;

describe('the tile inference runs on', () => {
  it('grows the default model to 80³ → 64³ with the context keeping its trained margin', () => {
    const { out, geometry } = inferenceTile(dual, 32, 8);
    expect(out).toBe(64);
    expect(geometry.highInput).toBe(80);
    // 24³ context around a 12³ centre at 4× → 32³ around a 20³ centre: 6 voxels each side either way.
    expect(geometry.lowInput).toBe(32);
    expect((geometry.lowInput - geometry.highInput / geometry.lowScale) / 2).toBe(
      (DUAL_DEFAULT.lowPatch - DUAL_DEFAULT.patch / DUAL_DEFAULT.lowScale) / 2,
    );
  });

  it('keeps the trained tile on request, and for models without larger patches', () => {
    expect(inferenceTile(dual, 32, 8, 32)).toEqual({ out: 32, geometry: dual.geometry });
    expect(inferenceTile(fixed, 32, 8).out).toBe(32);
    expect(() => inferenceTile(fixed, 32, 8, 64)).toThrow(/own tile of 32 only/);
  });

  it('refuses tiles that are not a multiple of the trained one, or that do not fit the network', () => {
    expect(() => inferenceTile(dual, 32, 8, 48)).toThrow(/multiple of the model's tile 32/);
    expect(() => dualGeometryFor(DUAL_DEFAULT, 82)).toThrow(/does not fit/);
    expect(() => dualGeometryFor(DUAL_DEFAULT, 40)).toThrow(/does not fit/);
    expect(dualGeometryFor(DUAL_DEFAULT, 112).lowInput).toBe(40);
  });
});

const scan = (side: number | Vec3, levels = [0]): TileWork => ({ shape: typeof side === 'number' ? [side, side, side] : side, levels });

describe('the tile chosen for a run', () => {
  it('counts the patches of every tile meeting the box at each level', () => {
    const t64 = inferenceTile(dual, 32, 8);
    const t128 = inferenceTile(dual, 32, 8, 128);
    expect(t128.geometry.highInput).toBe(144);
    expect(voxelsComputed(t64, scan(160))).toBe(27 * 80 ** 3);
    expect(voxelsComputed(t128, scan(160))).toBe(8 * 144 ** 3);
    // 500³ at levels 0, 1, 2 (500, 250, 125 voxels a side): 8³ + 4³ + 2³ tiles of 64, 4³ + 2³ + 1 of 128.
    expect(voxelsComputed(t64, scan(500, [0, 1, 2]))).toBe((512 + 64 + 8) * 80 ** 3);
    expect(voxelsComputed(t128, scan(500, [0, 1, 2]))).toBe((64 + 8 + 1) * 144 ** 3);
    // A level's shape rounds up: 65 voxels at level 1 of 129.
    expect(voxelsComputed(t64, scan(129, [1]))).toBe(8 * 80 ** 3);
  });

  it('takes 128 where the scan fills its lattice, 64 where 128 would compute more', () => {
    expect(inferenceTile(dual, 32, 8, undefined, scan(500, [0, 1, 2])).out).toBe(128);
    expect(inferenceTile(dual, 32, 8, undefined, scan(256)).out).toBe(128);
    expect(inferenceTile(dual, 32, 8, undefined, scan(96)).out).toBe(128);
    expect(inferenceTile(dual, 32, 8, undefined, scan(160)).out).toBe(64);
    expect(inferenceTile(dual, 32, 8, undefined, scan([96, 96, 64])).out).toBe(64);
    // One 80³ patch against one 144³: the smaller.
    expect(inferenceTile(dual, 32, 8, undefined, scan(64)).out).toBe(64);
    expect(inferenceTile(dual, 32, 8, undefined, scan(64)).geometry.highInput).toBe(80);
  });

  it("keeps a requested tile, and the model's own where it takes no larger patches", () => {
    expect(inferenceTile(dual, 32, 8, 64, scan(500, [0, 1, 2])).out).toBe(64);
    expect(inferenceTile(dual, 32, 8, 128, scan(160)).out).toBe(128);
    expect(inferenceTile(fixed, 32, 8, undefined, scan(500)).out).toBe(32);
  });
});
