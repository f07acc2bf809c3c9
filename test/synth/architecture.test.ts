import { describe, expect, it } from 'vitest';
import { arcLengths, totalLength } from '../../src/synth/architecture.js';
import { buildScene } from '../../src/synth/generate.js';
import { applyOverrides, DIFFICULTIES, presetParams } from '../../src/synth/params.js';
import { readRsml, RsmlError } from '../../src/io/rsml.js';
import { polylineLength, writeRsml } from '../../src/synth/rsml.js';
import { fovBox } from '../../src/synth/truth.js';
import { type V3, dot, normalize, sub } from '../../src/synth/vec.js';
import type { Vec3 } from '../../src/volume/box.js';

const SHAPE: Vec3 = [96, 96, 96];
const VS: Vec3 = [0.06, 0.06, 0.06];
const rsmlOf = (seed: number, d: (typeof DIFFICULTIES)[number] = 'medium'): string => {
  const s = buildScene(seed, SHAPE, VS, presetParams(d));
  return writeRsml(s.roots, { fileKey: `t${seed}`, software: 'test', origin: [0, 0, 0] });
};

describe('root architecture', () => {
  it('is the same for a seed and differs between seeds', () => {
    for (const d of DIFFICULTIES) {
      const a = buildScene(11, SHAPE, VS, presetParams(d));
      const b = buildScene(11, SHAPE, VS, presetParams(d));
      expect(Buffer.from(a.segments.data.buffer).equals(Buffer.from(b.segments.data.buffer)), d).toBe(true);
      expect(a.objects).toEqual(b.objects);
    }
    expect(rsmlOf(1)).toBe(rsmlOf(1));
    expect(rsmlOf(1)).not.toBe(rsmlOf(2));
    const l1 = totalLength(buildScene(1, SHAPE, VS, presetParams('medium')).roots);
    const l2 = totalLength(buildScene(2, SHAPE, VS, presetParams('medium')).roots);
    expect(l1).not.toBe(l2);
  });

  it('grows primaries down through the field of view, laterals of several orders, tapering radii', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const p = presetParams('hard');
      const s = buildScene(seed, SHAPE, VS, p);
      const label = JSON.stringify({ seed, preset: 'hard' });
      const roots = s.roots.roots;
      const orders = new Set(roots.map((r) => r.order));
      expect(orders.has(0), label).toBe(true);
      expect(orders.size, label).toBeGreaterThanOrEqual(3);
      const fov = fovBox(s.frame);
      for (const r of roots) {
        // Radii taper (never grow) along a root and stay within the preset's bounds.
        for (let i = 1; i < r.radii.length; i++) expect(r.radii[i]!, label).toBeLessThanOrEqual(r.radii[i - 1]! + 1e-5);
        expect(r.radii[0]!, label).toBeLessThanOrEqual(p.architecture.primaryRadius[1] + 1e-5);
        expect(Math.min(...r.radii), label).toBeGreaterThanOrEqual(p.architecture.minRadius - 1e-5);
        // Inside the container, whose axis is vertical through the field of view's centre.
        for (let i = 0; i < r.points.length; i++) {
          const q = r.points[i]!;
          expect(Math.hypot(q[0] - s.frame.axis[0], q[1] - s.frame.axis[1]), label).toBeLessThanOrEqual(s.frame.rin + 1e-4);
        }
        if (r.order === 0) {
          // Primaries start above the field of view and head down (gravitropism).
          expect(r.points[0]![2], label).toBeLessThan(fov.lo[2]);
          expect(r.points[r.points.length - 1]![2] - r.points[0]![2], label).toBeGreaterThan(0);
        } else {
          const parent = roots[r.parent]!;
          expect(parent.order, label).toBe(r.order - 1);
          expect(r.points[0], label).toEqual(parent.points[r.branchPoint]);
          expect(r.radii[0]!, label).toBeLessThan(parent.radii[r.branchPoint]!);
        }
      }
      // Fine roots below a voxel: diameter under one voxel somewhere.
      expect(Math.min(...roots.flatMap((r) => r.radii)) * 2, label).toBeLessThan(VS[0]);
      // Some root leaves the field of view (through the top or bottom or across the rim).
      const outside = (q: V3): boolean => q.some((v, a) => v < fov.lo[a]! || v > fov.hi[a]!);
      expect(
        roots.some((r) => r.points.some(outside) && r.points.some((q) => !outside(q))),
        label,
      ).toBe(true);
    }
  });

  it('lets roots touch but not pass through one another (laterals only inside their parent while emerging)', () => {
    for (const seed of [1, 2]) {
      const s = buildScene(seed, SHAPE, VS, presetParams('hard'));
      const R = s.roots.roots;
      const emerging = (r: (typeof R)[number], k: number): boolean =>
        r.parent >= 0 &&
        Math.hypot(...(sub(r.points[k]!, r.points[0]!) as [number, number, number])) <=
          R[r.parent]!.radii[r.branchPoint]! + r.radii[k]! + 1e-3;
      let worst = 0;
      let touching = 0;
      for (let i = 0; i < R.length; i++) {
        for (let j = 0; j < i; j++) {
          const a = R[i]!;
          const b = R[j]!;
          for (let k = 0; k < a.points.length; k++) {
            if (emerging(a, k)) continue;
            for (let l = 0; l < b.points.length; l++) {
              if (emerging(b, l)) continue;
              const gap = Math.hypot(...(sub(a.points[k]!, b.points[l]!) as [number, number, number])) - a.radii[k]! - b.radii[l]!;
              worst = Math.min(worst, gap / Math.min(a.radii[k]!, b.radii[l]!));
              if (gap < 0.01) touching++;
            }
          }
        }
      }
      // Points are 2 voxels apart, so a point may sit a little inside another root only near a contact.
      expect(worst, `seed ${seed}`).toBeGreaterThan(-0.05);
      expect(touching, `seed ${seed}: roots in contact`).toBeGreaterThan(0);
    }
  });

  it('inserts laterals at realistic angles to their parent', () => {
    const s = buildScene(3, SHAPE, VS, presetParams('medium'));
    const angles: number[] = [];
    for (const r of s.roots.roots) {
      if (r.order !== 1 || r.points.length < 2) continue;
      const parent = s.roots.roots[r.parent]!;
      const k = r.branchPoint;
      const t = normalize(sub(parent.points[k]!, parent.points[Math.max(0, k - 1)]!));
      const d = normalize(sub(r.points[1]!, r.points[0]!));
      angles.push((Math.acos(Math.max(-1, Math.min(1, dot(t, d)))) * 180) / Math.PI);
    }
    expect(angles.length).toBeGreaterThan(5);
    const mean = angles.reduce((a, b) => a + b, 0) / angles.length;
    // The preset asks for 70° ± 12° (plus the first step's random turn).
    expect(mean).toBeGreaterThan(50);
    expect(mean).toBeLessThan(90);
  });
});

describe('RSML', () => {
  it('parses back to the same roots, nesting, lengths and diameters', () => {
    for (const seed of [1, 7]) {
      const s = buildScene(seed, SHAPE, VS, presetParams('hard'));
      const text = writeRsml(s.roots, { fileKey: 'k', software: 'test', origin: [0, 0, 0] });
      const parsed = readRsml(text);
      expect(parsed.unit).toBe('mm');
      expect(parsed.roots.length).toBe(s.roots.roots.length);
      const byId = new Map(parsed.roots.map((r) => [r.id, r]));
      for (const r of s.roots.roots) {
        const q = byId.get(`root-${r.id}`)!;
        expect(q, `root-${r.id}`).toBeDefined();
        expect(q.depth).toBe(r.order);
        expect(q.parentId).toBe(r.parent >= 0 ? `root-${s.roots.roots[r.parent]!.id}` : null);
        // Coordinates are quantised to the written precision, so the file is exactly the geometry rendered.
        expect(q.points).toEqual(r.points);
        expect(q.diameters.map((d) => d / 2)).toEqual(r.radii.map((x) => Number((2 * x).toFixed(5)) / 2));
        const L = arcLengths(r.points);
        expect(polylineLength(q.points)).toBe(L[L.length - 1]);
      }
      const sum = parsed.roots.reduce((a, r) => a + polylineLength(r.points), 0);
      expect(sum).toBeCloseTo(totalLength(s.roots), 9);
    }
  });

  it('reports malformed files with the line', () => {
    expect(() => readRsml('<rsml><scene><plant><root id="a"><geometry><polyline><point x="1" y="q"/>', 'bad.rsml')).toThrow(RsmlError);
    expect(() => readRsml('<rsml><scene><plant><root id="a">\n</plant>', 'bad.rsml')).toThrow(/not closed/);
    expect(() => readRsml('<point x="1" y="2"/>', 'bad.rsml')).toThrow(/bad.rsml: line 1: <point> outside a <root>/);
  });
});

describe('parameters', () => {
  it('applies overrides by path and rejects unknown or malformed ones', () => {
    const p = applyOverrides(presetParams('medium'), [
      'soil.grainSize=0.5',
      'architecture.primaries=2,2',
      'architecture.order.1.spacing=2',
    ]);
    expect(p.soil.grainSize).toBe(0.5);
    expect(p.architecture.primaries).toEqual([2, 2]);
    expect(p.architecture.order[1]!.spacing).toBe(2);
    expect(presetParams('medium').soil.grainSize).not.toBe(0.5);
    expect(() => applyOverrides(presetParams('medium'), ['soil.nope=1'])).toThrow(/soil.nope/);
    expect(() => applyOverrides(presetParams('medium'), ['soil.grainSize=abc'])).toThrow(/not a number/);
    expect(() => applyOverrides(presetParams('medium'), ['soil=1'])).toThrow(/not a numeric parameter/);
    expect(() => applyOverrides(presetParams('medium'), ['scan.psfSigma=-1'])).toThrow(/psfSigma/);
    expect(() => applyOverrides(presetParams('medium'), ['architecture.primaries=1'])).toThrow(/2 comma-separated/);
  });
});

describe('truth geometry', () => {
  it('measures a straight root exactly: frustum volume, clipped length, Monte-Carlo union', async () => {
    const { tubeStats, unionVolumeMC, sweptDistance } = await import('../../src/synth/truth.js');
    const r = 0.3;
    const tube = {
      points: [
        [1, 1, -1],
        [1, 1, 0.5],
        [1, 1, 3],
      ] as V3[],
      radii: [r, r, r],
    };
    const lo: V3 = [0, 0, 0];
    const hi: V3 = [2, 2, 2];
    const s = tubeStats([tube], lo, hi);
    expect(s.length).toBeCloseTo(2, 12);
    expect(s.totalLength).toBeCloseTo(4, 12);
    expect(s.volume).toBeCloseTo(Math.PI * r * r * 2, 12);
    // A lateral's base inside its parent is left out.
    expect(tubeStats([{ ...tube, baseInside: 1.5 }], lo, hi).length).toBeCloseTo(1.5, 12);
    const mc = unionVolumeMC([tube], lo, hi, 200_000, 3);
    expect(Math.abs(mc.volume - Math.PI * r * r * 2)).toBeLessThan(4 * mc.stderr);
    // A lone segment is a capsule: its volume includes the two hemispherical caps.
    const cap = {
      points: [
        [1, 1, 0.6],
        [1, 1, 1.4],
      ] as V3[],
      radii: [r, r],
    };
    const mc2 = unionVolumeMC([cap], lo, hi, 200_000, 4);
    expect(Math.abs(mc2.volume - (Math.PI * r * r * 0.8 + (4 / 3) * Math.PI * r ** 3))).toBeLessThan(4 * mc2.stderr);
    // The swept-sphere distance of a cone: inside, on and outside the surface.
    expect(sweptDistance([1, 1.1, 1], [1, 1, 0], [1, 1, 2], 0.2, 0.2)).toBeCloseTo(-0.1, 9);
    expect(sweptDistance([1, 1, 2.5], [1, 1, 0], [1, 1, 2], 0.4, 0.2)).toBeCloseTo(0.3, 9);
  });
});
