import { describe, expect, it } from 'vitest';
import { describeJobs } from '../../viewer/src/annotate-panel.js';
import { type Axis, fitView, pan, type Vec3, zoomAt } from '../../viewer/src/paint-geometry.js';
import { describeRegion, regionCost, regionInView, visibleRanges } from '../../viewer/src/segment-region.js';

/** The viewer's "region in view" for the Segment button: pure arithmetic on the slice views. */

const SHAPE: Vec3 = [300, 200, 500]; // z, y, x; anisotropic voxels below
const SPACING: Vec3 = [0.05, 0.04, 0.02];
const W = 400;
const H = 300;
const fitted = (): { axis: Axis; view: ReturnType<typeof fitView>; width: number; height: number }[] =>
  ([0, 1, 2] as Axis[]).map((axis) => ({ axis, view: fitView(axis, SHAPE, SPACING, W, H), width: W, height: H }));

describe('Segment: the region in view', () => {
  it('a fitted slice shows all of it; a zoomed one, the voxels on the canvas', () => {
    expect(visibleRanges(fitView(0, SHAPE, SPACING, W, H), W, H)).toEqual({ rows: [0, 200], cols: [0, 500] });
    const v = zoomAt(fitView(0, SHAPE, SPACING, W, H), W / 2, H / 2, 8);
    const r = visibleRanges(v, W, H)!;
    expect(r.cols[1] - r.cols[0]).toBeLessThan(500 / 7);
    expect(r.cols[0]).toBeGreaterThan(200);
    expect(visibleRanges(pan(v, 1e5, 0), W, H), 'panned away: nothing').toBeUndefined();
  });

  it('where the view is wider than 128 voxels: the block of 128 on the 128 lattice holding the cursor along that axis, inside the scan', () => {
    // z 150 lies in 128–255, y 100 in 0–127, x 250 in 128–255: one 144³ patch where segment predicts 128³ tiles.
    expect(regionInView(SHAPE, [150, 100, 250], fitted())).toEqual([
      [128, 256],
      [0, 128],
      [128, 256],
    ]);
    expect(regionInView(SHAPE, [0, 199, 499], fitted()), 'at the edges').toEqual([
      [0, 128],
      [128, 200],
      [384, 500],
    ]);
    expect(regionInView(SHAPE, [127, 128, 383], fitted()), 'either side of a block border').toEqual([
      [0, 128],
      [128, 200],
      [256, 384],
    ]);
    expect(regionInView([40, 50, 60], [20, 20, 20], []), 'a small scan: all of it').toEqual([
      [0, 40],
      [0, 50],
      [0, 60],
    ]);
    expect(regionInView(SHAPE, [150, 100, 250], []), 'not annotating: the same block holding the cursor').toEqual([
      [128, 256],
      [0, 128],
      [128, 256],
    ]);
    for (const c of [
      [0, 0, 0],
      [128, 64, 255],
      [299, 199, 499],
      [31, 32, 33],
      [160, 96, 255],
    ] as Vec3[]) {
      const r = regionInView(SHAPE, c, fitted());
      expect(regionCost(r, SHAPE).chunks, JSON.stringify(c)).toBeLessThanOrEqual(8);
      for (let a = 0; a < 3; a++) expect(r[a]![0] % 128, `aligned along ${a}`).toBe(0);
      for (let a = 0; a < 3; a++) expect(c[a]! >= r[a]![0] && c[a]! < r[a]![1], `cursor ${JSON.stringify(c)} inside along ${a}`).toBe(true);
    }
  });

  it('zoomed in, it is what the two slices having each axis show', () => {
    const views = fitted().map((v) => ({ ...v, view: zoomAt(v.view, W / 2, H / 2, 10) }));
    const r = regionInView(SHAPE, [150, 100, 250], views);
    for (let a = 0; a < 3; a++) {
      const seen = views
        .filter((v) => v.axis !== a)
        .map((v) => {
          const vis = visibleRanges(v.view, W, H)!;
          const rowAxis = v.axis === 0 ? 1 : 0;
          return a === rowAxis ? vis.rows : vis.cols;
        });
      expect(r[a]![0]).toBe(Math.min(...seen.map((s) => s[0])));
      expect(r[a]![1]).toBe(Math.max(...seen.map((s) => s[1])));
      expect(r[a]![1] - r[a]![0]).toBeLessThan(128);
    }
  });

  it('costs the 64³ chunks it meets, and says so', () => {
    expect(
      regionCost(
        [
          [86, 214],
          [36, 164],
          [186, 314],
        ],
        SHAPE,
      ),
    ).toEqual({ voxels: 128 ** 3, chunks: 3 * 3 * 3, chunkVoxels: 192 * 192 * 192 });
    expect(
      regionCost(
        [
          [64, 192],
          [128, 200],
          [384, 500],
        ],
        SHAPE,
      ),
    ).toEqual({ voxels: 128 * 72 * 116, chunks: 8, chunkVoxels: 128 * 72 * 116 });
    expect(
      regionCost(
        [
          [0, 40],
          [0, 50],
          [0, 60],
        ],
        [40, 50, 60],
      ),
    ).toEqual({ voxels: 40 * 50 * 60, chunks: 1, chunkVoxels: 40 * 50 * 60 });
    const text = describeRegion(
      [
        [86, 214],
        [36, 164],
        [186, 314],
      ],
      SHAPE,
      false,
    );
    expect(text).toContain(
      'z 86–213, y 36–163, x 186–313 (128×128×128 voxels); segments the 27 chunks of 64³ it meets, 7.1 M voxels, 24% of the scan',
    );
    expect(text).toMatch(/where that is over 128 voxels, the block of 128 holding the cursor/);
    expect(
      describeRegion(
        [
          [0, 1],
          [0, 1],
          [0, 1],
        ],
        SHAPE,
        true,
      ),
    ).toBe('Whole scan: 300×200×500 voxels (30.0 M), as long as rhizoct segment takes.');
  });

  it('the job line names the region; an overlay of some regions says the rest is not segmented', () => {
    const text = describeJobs({
      segment: {
        model: 'm1',
        region: [
          [0, 64],
          [10, 74],
          [20, 84],
        ],
        phase: 'done',
        done: 1,
        total: 1,
        seconds: 5,
      },
      models: ['m1'],
      current: 'm1',
      overlay: {
        generation: 2,
        url: 'data/overlay/2',
        model: 'm1',
        coverage: {
          regions: [
            [
              [0, 64],
              [10, 74],
              [20, 84],
            ],
          ],
          chunks: { segmented: 8, total: 40 },
        },
      },
    });
    expect(text).toContain('Segmented with m1 (region z 0–63, y 10–73, x 20–83): 100%, 0:05');
    expect(text).toContain('Overlay (m1) holds 1 region, 8 of 40 chunks; the rest of the scan is not segmented yet');
    expect(
      describeJobs({ segment: { model: 'base', phase: 'running', done: 0, total: 0, seconds: 1 }, models: [], current: 'base' }),
    ).toContain('Segmenting with base (whole scan)');
  });
});
