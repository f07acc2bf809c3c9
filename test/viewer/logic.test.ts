import { describe, expect, it } from 'vitest';
import { contentType, parseRange, splitRequestPath } from '../../src/pipeline/static-files.js';
import { configFromParams } from '../../viewer/src/config.js';
import {
  chooseLevels,
  chooseMaskLevel,
  formatLength,
  histogram,
  niceScaleBar,
  percentile,
  reducedShape,
  reductionFactor,
} from '../../viewer/src/levels.js';
import { PRESETS, sampleColorMap, toDataRange } from '../../viewer/src/presets.js';
import { composeSlice, type Grid, nearestIndexMap, physicalToIndex } from '../../viewer/src/slices.js';
import { maskBounds, prepareMask } from '../../viewer/src/surface-grid.js';
import { traitRows } from '../../viewer/src/traits.js';

const lv = (shape: number[], bytes = 1) => ({ shape, bytesPerVoxel: bytes });

describe('viewer: which pyramid levels to load', () => {
  const pyramid = [lv([1024, 1024, 1024]), lv([512, 512, 512]), lv([256, 256, 256]), lv([128, 128, 128])];
  it('shows the coarsest first, then the finest within the texture limit and the voxel budget', () => {
    expect(chooseLevels(pyramid, 2048, 2 ** 27)).toMatchObject({ coarse: 3, fine: 1 });
    expect(chooseLevels(pyramid, 2048, 2 ** 27 - 1)).toMatchObject({ coarse: 3, fine: 2 });
    expect(chooseLevels(pyramid, 2048, 2 ** 30)).toMatchObject({ coarse: 3, fine: 0 });
    expect(chooseLevels(pyramid, 256, 2 ** 40).fine).toBe(2);
    expect(chooseLevels(pyramid, 256, 2 ** 40).reason).toMatch(/3D texture limit 256/);
    expect(chooseLevels(pyramid, 2048, 2 ** 26).reason).toMatch(/budget/);
  });
  it('halves the budget for 16-bit data', () => {
    const p16 = pyramid.map((l) => lv(l.shape, 2));
    expect(chooseLevels(p16, 2048, 2 ** 27).fine).toBe(2);
    expect(chooseLevels(pyramid, 2048, 2 ** 27).fine).toBe(1);
  });
  it('handles one level and non-cubic shapes, and refuses a coarsest level over the texture limit', () => {
    expect(chooseLevels([lv([64, 96, 112])], 2048)).toMatchObject({ coarse: 0, fine: 0 });
    expect(chooseMaskLevel(pyramid, 2 ** 25)).toEqual({ level: 2, factor: 1 });
  });
  it('reads every f-th voxel of a level that is too large even at its coarsest (one-level segmentations)', () => {
    expect(chooseLevels([lv([4096, 10, 10])], 2048)).toMatchObject({ coarse: 0, fine: 0, factor: 2 });
    expect(chooseLevels([lv([1024, 1024, 1024])], 2048, 2 ** 27)).toMatchObject({ fine: 0, factor: 2 });
    expect(chooseLevels([lv([1024, 1024, 1024], 2)], 2048, 2 ** 27)).toMatchObject({ fine: 0, factor: 4 });
    expect(chooseLevels([lv([1024, 1024, 1024])], 2048, 2 ** 27).reason).toMatch(/every 2th voxel/);
    expect(chooseMaskLevel([lv([1024, 1024, 1024])], 2 ** 25)).toEqual({ level: 0, factor: 4 });
    expect(reducedShape([5, 4, 3], 2)).toEqual([3, 2, 2]);
    expect(reductionFactor([100, 100, 100], 64, 1e9)).toBe(2);
  });
});

describe('viewer: lengths and scale bar', () => {
  it('writes lengths in the clearest unit', () => {
    expect(formatLength(0.5, 'millimeter')).toBe('500 µm');
    expect(formatLength(2, 'millimeter')).toBe('2 mm');
    expect(formatLength(50, 'millimeter')).toBe('50 mm');
    expect(formatLength(200, 'micrometer')).toBe('200 µm');
    expect(formatLength(2000, 'micrometer')).toBe('2 mm');
    expect(formatLength(3, '')).toBe('3 (voxel units)');
  });
  it('picks 1, 2 or 5 × 10^k near the target width', () => {
    const s = niceScaleBar(0.01, 100, 'millimeter')!;
    expect(s.length).toBe(1);
    expect(s.pixels).toBeCloseTo(100);
    expect(s.label).toBe('1 mm');
    expect(niceScaleBar(0.013, 100, 'millimeter')!.length).toBe(1);
    expect(niceScaleBar(0.03, 100, 'millimeter')!.length).toBe(2);
    expect(niceScaleBar(0.06, 100, 'millimeter')!.label).toBe('5 mm');
    expect(niceScaleBar(0.0004, 100, 'millimeter')!.label).toBe('20 µm');
    expect(niceScaleBar(0, 100, 'millimeter')).toBeUndefined();
  });
  it('finds percentiles from a histogram', () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => i);
    const h = histogram(data, 100);
    expect(percentile(h, 0.5)).toBeCloseTo(500, -1);
    expect(percentile(h, 0.01)).toBeLessThan(20);
    expect(percentile(h, 0.99)).toBeGreaterThan(980);
  });
});

describe('viewer: presets', () => {
  it('spread over the display range, opacity within [0, 1], colours interpolated', () => {
    for (const p of PRESETS) {
      expect(
        p.opacity.every(([t, a]) => t >= 0 && t <= 1 && a >= 0 && a <= 1),
        p.name,
      ).toBe(true);
      expect(
        p.colors.every(([t]) => t >= 0 && t <= 1),
        p.name,
      ).toBe(true);
    }
    expect(
      toDataRange(
        [
          [0, 0],
          [0.5, 0.2],
          [1, 1],
        ] as [number, number][],
        100,
        300,
      ),
    ).toEqual([
      [100, 0],
      [200, 0.2],
      [300, 1],
    ]);
    expect(
      sampleColorMap(
        [
          [0, 0, 0, 0],
          [1, 1, 0.5, 0],
        ],
        0.5,
      ),
    ).toEqual([0.5, 0.25, 0]);
  });
});

describe('viewer: slices with the mask overlaid', () => {
  // Scan 4×4×4 of voxel 1; mask 2×2×2 of voxel 2 (a coarser level), same physical box.
  const scan: Grid = {
    data: Float32Array.from({ length: 64 }, (_, i) => i),
    shape: [4, 4, 4],
    spacing: [1, 1, 1],
    origin: [0.5, 0.5, 0.5],
  };
  const maskData = new Uint8Array(8);
  maskData[1] = 1; // z 0, y 0, x 1 of the mask: scan x 2..3, y 0..1, z 0..1
  const mask: Grid = { data: maskData, shape: [2, 2, 2], spacing: [2, 2, 2], origin: [1, 1, 1] };

  it('maps scan indices to the nearest mask voxel in physical space', () => {
    expect([...nearestIndexMap(scan, mask, 2)]).toEqual([0, 0, 1, 1]);
    const shifted: Grid = { ...mask, origin: [1, 1, 3] };
    expect([...nearestIndexMap(scan, shifted, 2)]).toEqual([-1, -1, 0, 0]);
  });

  it('composes grey values and the label colour', () => {
    const style = { lo: 0, hi: 63, color: [255, 0, 0] as [number, number, number], alpha: 1 };
    const z0 = composeSlice(scan, mask, 0, 0, style);
    expect(z0.dims).toEqual([4, 4, 1]);
    expect(z0.origin).toEqual([0.5, 0.5, 0.5]);
    expect(z0.maskPixels).toBe(4);
    // Pixel (x 3, y 0) is masked: pure red. Pixel (x 0, y 0) is grey value 0.
    expect([...z0.rgb.subarray(9, 12)]).toEqual([255, 0, 0]);
    expect([...z0.rgb.subarray(0, 3)]).toEqual([0, 0, 0]);
    const z3 = composeSlice(scan, mask, 0, 3, style);
    expect(z3.maskPixels).toBe(0);
    expect(z3.origin[2]).toBe(3.5);
    const x2 = composeSlice(scan, mask, 2, 2, { ...style, alpha: 0.5 });
    expect(x2.dims).toEqual([1, 4, 4]);
    expect(x2.maskPixels).toBe(4);
    const none = composeSlice(scan, undefined, 1, 1, style);
    expect(none.dims).toEqual([4, 1, 4]);
    expect(none.maskPixels).toBe(0);
    expect(physicalToIndex(scan, 0, 2.6)).toBe(2);
    expect(physicalToIndex(scan, 0, 99)).toBe(3);
  });
});

describe('viewer: mask prepared for marching cubes', () => {
  it('crops to the mask with a border and keeps a one-voxel root above the iso-level', () => {
    const shape: [number, number, number] = [10, 10, 10];
    const data = new Uint8Array(1000);
    for (let x = 2; x < 8; x++) data[(5 * 10 + 5) * 10 + x] = 1; // a line one voxel thin
    const g = prepareMask({ data, shape, spacing: [1, 2, 3], origin: [0, 0, 0] })!;
    expect(maskBounds({ data, shape, spacing: [1, 1, 1], origin: [0, 0, 0] })).toMatchObject({ lo: [5, 5, 2], hi: [5, 5, 7], count: 6 });
    expect(g.shape).toEqual([5, 5, 10]);
    expect(g.origin).toEqual([3, 6, 0]);
    expect(g.voxels).toBe(6);
    const centre = g.data[(2 * 5 + 2) * 10 + 5]!;
    expect(centre).toBeGreaterThan(0.5);
    expect(g.data[0]).toBe(0);
    expect(prepareMask({ data: new Uint8Array(8), shape: [2, 2, 2], spacing: [1, 1, 1], origin: [0, 0, 0] })).toBeUndefined();
  });
});

describe('viewer: traits panel and URL parameters', () => {
  it('lists traits.json as rows', () => {
    const rows = traitRows({
      scan: 'a',
      summary: { root_count: 3, total_length_mm: 12.345678, meanDiameter: 0.5 },
      roots: [{}, {}],
      units: 'mm',
    });
    expect(rows[0]).toEqual({ depth: 0, key: 'summary', value: '', heading: true });
    expect(rows).toContainEqual({ depth: 1, key: 'mean diameter', value: '0.5' });
    expect(rows).toContainEqual({ depth: 0, key: 'summary', value: '', heading: true });
    expect(rows).toContainEqual({ depth: 1, key: 'root count', value: '3' });
    expect(rows).toContainEqual({ depth: 1, key: 'total length mm', value: '12.35' });
    expect(rows).toContainEqual({ depth: 0, key: 'roots', value: '2 items' });
  });
  it('lets the page be pointed at any OME-Zarr', () => {
    const p = new URLSearchParams('scan=https://host/a/scan.zarr/&seg=https://host/seg.zarr&traits=https://host/t/&maxVoxels=1000');
    expect(configFromParams(p)).toEqual({
      title: 'scan.zarr',
      scan: { url: 'https://host/a/scan.zarr/' },
      seg: { url: 'https://host/seg.zarr' },
      traits: { json: 'https://host/t/traits.json', mesh: 'https://host/t/roots.vtp' },
      maxVoxels: 1000,
    });
    const base = { title: 'x', scan: { url: 'data/scan', zarrFormat: 2 as const } };
    expect(configFromParams(new URLSearchParams(''), base)).toEqual(base);
    expect(configFromParams(new URLSearchParams(''))).toBeUndefined();
  });
});

describe('view server: request paths, ranges, types', () => {
  it('splits and decodes paths, refusing traversal', () => {
    expect(splitRequestPath('0/1/2/3')).toEqual(['0', '1', '2', '3']);
    expect(splitRequestPath('a%20b/.zattrs')).toEqual(['a b', '.zattrs']);
    for (const bad of ['..', 'a/../b', '%2e%2e', 'a%2fb', '%5c', '', '/x', 'x//y', 'a%00', 'C:', '.']) {
      const r = splitRequestPath(bad === '' ? '/' : bad);
      expect(r, bad).toHaveProperty('status');
    }
    expect(splitRequestPath('%E0%A4%A')).toMatchObject({ status: 400 });
  });
  it('parses Range headers', () => {
    expect(parseRange(undefined, 100)).toBeUndefined();
    expect(parseRange('bytes=0-9', 100)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=90-200', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-200', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=50-', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=9-3', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('items=0-1', 100)).toBeUndefined();
  });
  it('names content types', () => {
    expect(contentType('a/.zattrs')).toBe('application/json');
    expect(contentType('a/zarr.json')).toBe('application/json');
    expect(contentType('a/0/1/2')).toBe('application/octet-stream');
    expect(contentType('c/0.1.2')).toBe('application/octet-stream');
    expect(contentType('index.html')).toBe('text/html; charset=utf-8');
    expect(contentType('roots.vtp')).toBe('application/xml');
  });
});

describe('viewer: chunks into a level', () => {
  it('copies chunks of any axis order, edge chunks cut, into z, y, x', async () => {
    const { copyChunk } = await import('../../viewer/src/ome.js');
    // A t, z, y, x chunk (t = 1) of 2×2×3 at chunk position z 2, y 0, x 3 of a 3×2×5 volume:
    // only z 2 and x 3..4 fall inside.
    const data = Float32Array.from({ length: 12 }, (_, i) => i + 1);
    const chunk = { data, shape: [1, 2, 2, 3], stride: [12, 6, 3, 1] };
    const out = new Float32Array(3 * 2 * 5);
    copyChunk(chunk as never, [1, 2, 3], [2, 0, 3], [3, 2, 5], out);
    const at = (z: number, y: number, x: number): number => out[(z * 2 + y) * 5 + x]!;
    expect([at(2, 0, 3), at(2, 0, 4), at(2, 1, 3), at(2, 1, 4)]).toEqual([1, 2, 4, 5]);
    expect(out.filter((v) => v !== 0).length).toBe(4);
    // Transposed strides (x slowest) are read by stride.
    const t = { data: Uint8Array.from([1, 2, 3, 4]), shape: [2, 2, 1], stride: [1, 2, 4] };
    const o2 = new Uint8Array(4);
    copyChunk(t as never, [0, 1, 2], [0, 0, 0], [2, 2, 1], o2);
    expect([...o2]).toEqual([1, 3, 2, 4]);
  });
  it('reduces chunks by stride or by block maximum', async () => {
    const { reduceChunk } = await import('../../viewer/src/ome.js');
    // A 1×4×4 chunk at the origin of a 1×4×4 level, reduced by 2 into 1×2×2.
    const data = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    const chunk = { data, shape: [1, 4, 4], stride: [16, 4, 1] };
    const s = new Uint8Array(4);
    reduceChunk(chunk as never, [0, 1, 2], [0, 0, 0], [1, 4, 4], 2, 'stride', [1, 2, 2], s);
    expect([...s]).toEqual([1, 3, 9, 11]);
    const m = new Uint8Array(4);
    reduceChunk(chunk as never, [0, 1, 2], [0, 0, 0], [1, 4, 4], 2, 'max', [1, 2, 2], m);
    expect([...m]).toEqual([6, 8, 14, 16]);
  });
});
