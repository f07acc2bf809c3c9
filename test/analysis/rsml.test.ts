import { describe, expect, it } from 'vitest';
import { polylineLength } from '../../src/analysis/graph.js';
import { measureMask } from '../../src/analysis/measure.js';
import { writeRsml } from '../../src/analysis/rsml.js';
import { readRsml } from '../../src/io/rsml.js';
import { tempDir } from '../io/helpers.js';
import { HAS_LXML, validateRsml } from './rsml-schema.js';
import { randomTubes } from './shapes.js';

const validate = validateRsml;

describe('RSML', () => {
  const m = randomTubes([64, 56, 56], 17, 5);
  const res = measureMask(m.data, m.shape, { spacing: [0.05, 0.05, 0.05], origin: [1, 2, 3], unit: 'mm' });
  const text = writeRsml(res.roots, { unit: 'mm', fileKey: 'test', software: 'rhizoct test', lastModified: '2026-01-02T03:04:05Z' });

  it('reads back to the same roots, lengths and diameters', () => {
    expect(res.roots.length).toBeGreaterThan(3);
    const back = readRsml(text);
    expect(back.unit).toBe('mm');
    expect(back.roots.length).toBe(res.roots.length);
    let sum = 0;
    back.roots.forEach((r) => (sum += polylineLength(r.points)));
    // Coordinates are written to 1e-6 mm.
    expect(sum).toBeCloseTo(res.traits.centrelineLength, 4);
    for (const [k, r] of back.roots.entries()) {
      const want = res.roots.find((x) => `root-${x.id + 1}` === r.id)!;
      expect(polylineLength(r.points)).toBeCloseTo(want.length, 4);
      expect(r.diameters.length).toBe(r.points.length);
      expect(r.parent === -1).toBe(want.parent === -1);
      void k;
    }
    // Laterals start on their parent's centreline.
    for (const r of back.roots) {
      if (r.parent < 0) continue;
      const p0 = r.points[0]!;
      const d = Math.min(...back.roots[r.parent]!.points.map((q) => Math.hypot(q[0] - p0[0], q[1] - p0[1], q[2] - p0[2])));
      expect(d).toBeLessThan(1e-6);
    }
  });

  it.skipIf(!HAS_LXML)(
    `validates against the RSML structure (lxml + test/analysis/rsml.xsd)${HAS_LXML ? '' : ' [SKIPPED: /usr/bin/python3 lacks lxml]'}`,
    async () => {
      const { dir, cleanup } = await tempDir('rhizoct-rsml-');
      try {
        expect(validate(text, dir)).toBe('');
        // The schema has teeth: a polyline of one point, and a sample without a value, are refused.
        expect(validate(text.replace(/(<polyline>\s*<point[^>]*\/>)(\s*<point[^>]*\/>)+/, '$1'), dir)).not.toBe('');
        expect(validate(text.replace(/<sample value="[^"]*"\/>/, '<sample>1</sample>'), dir)).not.toBe('');
      } finally {
        await cleanup();
      }
    },
  );
});
