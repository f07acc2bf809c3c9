import { describe, expect, it } from 'vitest';
import { DUAL_DEFAULT, dualGeometry, dualGeometryFor } from '../../src/nn/models/dual.js';
import type { SegmentationModel } from '../../src/nn/models/model.js';
import { inferenceTile } from '../../src/pipeline/segment.js';

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
