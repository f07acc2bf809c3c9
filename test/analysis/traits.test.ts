import { describe, expect, it } from 'vitest';
import { measureMask } from '../../src/analysis/measure.js';
import type { Vec3 } from '../../src/volume/box.js';
import { countOnes, drawTubes, type Tube } from './shapes.js';

const len = (t: Tube): number => Math.hypot(t.b[0] - t.a[0], t.b[1] - t.a[1], t.b[2] - t.a[2]);

/** Volume of a union of capsules by supersampling each voxel n³ times (independent of the mask's voxelisation). */
function unionVolume(shape: Vec3, tubes: readonly Tube[], n = 4): number {
  let inside = 0;
  const [nz, ny, nx] = shape;
  const dist = (p: number[], t: Tube): number => {
    const ab = [t.b[0] - t.a[0], t.b[1] - t.a[1], t.b[2] - t.a[2]];
    const ap = [p[0]! - t.a[0], p[1]! - t.a[1], p[2]! - t.a[2]];
    const L2 = ab[0]! ** 2 + ab[1]! ** 2 + ab[2]! ** 2;
    const s = Math.max(0, Math.min(1, (ap[0]! * ab[0]! + ap[1]! * ab[1]! + ap[2]! * ab[2]!) / L2));
    return Math.hypot(ap[0]! - s * ab[0]!, ap[1]! - s * ab[1]!, ap[2]! - s * ab[2]!);
  };
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const near = tubes.filter((t) => dist([z, y, x], t) <= t.r + 1);
        if (!near.length) continue;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            for (let k = 0; k < n; k++) {
              const p = [z - 0.5 + (i + 0.5) / n, y - 0.5 + (j + 0.5) / n, x - 0.5 + (k + 0.5) / n];
              if (near.some((t) => dist(p, t) <= t.r)) inside++;
            }
          }
        }
      }
    }
  }
  return inside / n ** 3;
}

/** A main root down z and laterals leaving its axis at known angles (degrees from the main's downward axis). */
function system(): { shape: Vec3; tubes: Tube[]; angles: number[]; mainR: number } {
  const shape: Vec3 = [96, 72, 72];
  const mainR = 3.4;
  // Off the voxel grid: a tube centred on voxel centres digitises to a disc far from πr².
  const tubes: Tube[] = [{ a: [4, 36.3, 35.8], b: [90, 36.3, 35.8], r: mainR }];
  const angles = [60, 75, 45, 90];
  const az = [0, 1.9, 3.6, 5.1];
  angles.forEach((ang, k) => {
    const z0 = 18 + 17 * k;
    const L = 26 - 2 * k;
    const th = (ang * Math.PI) / 180;
    tubes.push({
      a: [z0, 36.3, 35.8],
      b: [z0 + L * Math.cos(th), 36.3 + L * Math.sin(th) * Math.sin(az[k]!), 35.8 + L * Math.sin(th) * Math.cos(az[k]!)],
      r: 1.8 + 0.2 * k,
    });
  });
  return { shape, tubes, angles, mainR };
}

describe('traits against drawn tubes (exact length and volume)', () => {
  it('single tubes, straight and oblique, radius 2–5 voxels: length and volume within 5%, two tips, no branch', () => {
    const cases: { shape: Vec3; t: Tube }[] = [
      { shape: [60, 30, 30], t: { a: [8, 15.3, 14.8], b: [52, 15.3, 14.8], r: 2.5 } },
      { shape: [70, 60, 60], t: { a: [8, 12, 9], b: [60, 45, 44], r: 2 } },
      { shape: [70, 60, 60], t: { a: [8, 46, 10], b: [62, 14, 48], r: 4 } },
      { shape: [90, 50, 50], t: { a: [8, 20, 30], b: [80, 30, 18], r: 5 } },
    ];
    const out: Record<string, number>[] = [];
    for (const c of cases) {
      const m = drawTubes(c.shape, [c.t]);
      const r = measureMask(m.data, c.shape).traits;
      const L = len(c.t);
      const V = Math.PI * c.t.r ** 2 * L + (4 / 3) * Math.PI * c.t.r ** 3;
      out.push({ r: c.t.r, lengthRatio: r.totalLength / L, volumeRatio: r.volume / V, diameterRatio: r.meanDiameter / (2 * c.t.r) });
      expect(Math.abs(r.totalLength / L - 1)).toBeLessThan(0.05);
      expect(Math.abs(r.volume / V - 1)).toBeLessThan(0.05);
      expect(r.tips).toBe(2);
      expect(r.branchPoints).toBe(0);
      expect(Math.abs(r.meanDiameter / (2 * c.t.r) - 1)).toBeLessThan(0.12);
    }
    console.log(
      `single tubes vs truth: ${JSON.stringify(out.map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Number(v.toFixed(4))]))))}`,
    );
  });

  it('a branched system in physical units: length, volume, tips, branch points and branching angles', () => {
    const s = system();
    const m = drawTubes(s.shape, s.tubes);
    const vs = 0.04; // mm
    const r = measureMask(m.data, s.shape, { spacing: [vs, vs, vs], unit: 'mm' });
    const t = r.traits;
    // Truth: the main root plus each lateral from the main's surface (its base inside the main is not root).
    const truthLength = (len(s.tubes[0]!) + s.tubes.slice(1).reduce((a, tb) => a + len(tb) - s.mainR, 0)) * vs;
    const truthVolume = unionVolume(s.shape, s.tubes) * vs ** 3;
    const angles = r.roots
      .filter((x) => x.branchAngle !== undefined)
      .map((x) => x.branchAngle!)
      .sort((a, b) => a - b);
    const fig = {
      length: t.totalLength,
      truthLength,
      volume: t.volume,
      truthVolume,
      tips: t.tips,
      branchPoints: t.branchPoints,
      laterals: t.lateralRoots,
      angles: angles.map((a) => Number(a.toFixed(1))),
      truthAngles: [...s.angles].sort((a, b) => a - b),
    };
    console.log(`branched system vs truth: ${JSON.stringify(fig)}`);
    expect(Math.abs(t.totalLength / truthLength - 1)).toBeLessThan(0.05);
    expect(Math.abs(t.volume / truthVolume - 1)).toBeLessThan(0.05);
    expect(t.volume).toBeCloseTo(countOnes(m.data) * vs ** 3, 9);
    expect(t.tips).toBe(2 + s.angles.length);
    expect(t.branchPoints).toBe(s.angles.length);
    expect(t.lateralRoots).toBe(s.angles.length);
    expect(angles.length).toBe(s.angles.length);
    const truthSorted = [...s.angles].sort((a, b) => a - b);
    angles.forEach((a, k) => expect(Math.abs(a - truthSorted[k]!)).toBeLessThan(12));
    // Depth bands add up to the centreline length; the root system spans the scan's depth.
    expect(t.depthBands.reduce((a, b) => a + b.length, 0)).toBeCloseTo(t.centrelineLength, 9);
    expect(t.maxDepth).toBeCloseTo((90 + s.mainR + 1) * vs, 1);
    expect(t.solidity).toBeGreaterThan(0);
    expect(t.solidity).toBeLessThan(1);
    expect(t.diameterHistogram.reduce((a, b) => a + b.length, 0)).toBeCloseTo(t.centrelineLength, 9);
  });

  it('tubes cut by the faces at grazing angles, radius 1.5–4 voxels: two cut ends, no tips, no branch points', () => {
    const shape: Vec3 = [40, 30, 80];
    const out: string[] = [];
    for (const [r, slope] of [
      [1.5, 0.1],
      [2, 0.1],
      [2, 0.2],
      [3, 0.1],
      [3, 0.3],
      [4, 0.15],
    ] as const) {
      // Enters through the x = 0 face, leaves through the bottom face 10 voxels before x = 80.
      const t: Tube = { a: [39 - slope * 90, 15, -6], b: [39 + slope * 10, 15, 84], r };
      const m = drawTubes(shape, [t]);
      const tr = measureMask(m.data, shape).traits;
      out.push(`r ${r} slope ${slope}: tips ${tr.tips}, cut ${tr.cutEnds}, branch points ${tr.branchPoints}`);
    }
    console.log(`grazing cuts: ${out.join('; ')}`);
    expect(out.every((l) => l.endsWith('tips 0, cut 2, branch points 0'))).toBe(true);
  });

  it('loops: none in a tree or where two separate roots cross, one where a lateral touches its own system again, one in a ring', () => {
    const loops = (shape: Vec3, tubes: Tube[]): number => measureMask(drawTubes(shape, tubes).data, shape).traits.loops;
    const shape: Vec3 = [80, 60, 60];
    const main: Tube = { a: [8, 30, 30], b: [70, 30, 30], r: 3 };
    expect(loops(shape, [main, { a: [20, 30, 30], b: [40, 30, 52], r: 2 }])).toBe(0); // a lateral: a tree
    expect(
      loops(shape, [
        { a: [40, 30, 4], b: [40, 30, 56], r: 2 },
        { a: [40, 4, 30], b: [40, 56, 30], r: 2 },
      ]),
    ).toBe(0); // X of two roots
    // A lateral from the main root bends back and its tip lies against the main root lower down.
    const out: Tube = { a: [20, 30, 30], b: [35, 30, 48], r: 2 };
    const back: Tube = { a: [35, 30, 48], b: [55, 30, 33.5], r: 2 };
    const touching = measureMask(drawTubes(shape, [main, out, back]).data, shape).traits;
    expect(touching.loops).toBe(1);
    expect(touching.tips).toBe(2); // the main root's two ends: the lateral's tip is a junction
    // A closed ring of eight straight pieces.
    const ring: Tube[] = Array.from({ length: 8 }, (_, k) => {
      const p = (j: number): [number, number, number] => [40, 30 + 18 * Math.sin((j * Math.PI) / 4), 30 + 18 * Math.cos((j * Math.PI) / 4)];
      return { a: p(k), b: p(k + 1), r: 2.5 };
    });
    expect(loops(shape, ring)).toBe(1);
  });

  it('an empty mask gives zero traits; specks under the threshold are dropped and reported', () => {
    const e = measureMask(new Uint8Array(1000), [10, 10, 10]);
    expect(e.traits.totalLength).toBe(0);
    expect(e.traits.volume).toBe(0);
    expect(e.traits.tips).toBe(0);
    expect(e.traits.convexHullVolume).toBe(0);
    expect(e.traits.solidity).toBeNull();
    expect(e.roots).toEqual([]);
    const m = drawTubes([40, 20, 20], [{ a: [4, 10, 10], b: [34, 10, 10], r: 2 }]);
    m.data[(2 * 20 + 2) * 20 + 2] = 1;
    m.data[(37 * 20 + 17) * 20 + 17] = 1;
    const r = measureMask(m.data, m.shape, { minVoxels: 10 });
    expect(r.components.map((c) => c.kept)).toEqual([false, true, false]);
    expect(r.traits.voxels).toBe(countOnes(m.data) - 2);
    expect(r.traits.tips).toBe(2);
  });
});
