import { describe, it, expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeScanZarr } from '../helpers/scan-zarr.js';
import { VolumePatches } from '../../src/pipeline/patch-source.js';
import { DEFAULT_NORMALISATION } from '../../src/nn/models/registry.js';

/** Two straight tubes along x across the whole scan: radius 1.5 at (y, z) = (10, 10), radius 6 at (30, 30). */
async function twoTubes(path: string): Promise<void> {
  const [D, H, W] = [40, 40, 50];
  const image = new Uint16Array(D * H * W);
  const mask = new Uint8Array(D * H * W);
  for (let z = 0; z < D; z++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = (z * H + y) * W + x;
        const inside = (z - 10) ** 2 + (y - 10) ** 2 <= 1.5 ** 2 || (z - 30) ** 2 + (y - 30) ** 2 <= 36;
        mask[i] = inside ? 1 : 0;
        image[i] = inside ? 20000 : 10000 + ((i * 7919) % 5000);
      }
  await writeScanZarr(path, [D, H, W], image, mask);
}

describe('VolumePatches root points', () => {
  it('centreline points weigh roots by length, root voxels by cross-section; both stream in blocks', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'patch-source-')), 's.zarr');
    await twoTubes(path);
    const v = await VolumePatches.open(path, DEFAULT_NORMALISATION);
    const thin = (p: readonly number[]): boolean => Math.hypot(p[0]! - 10, p[1]! - 10) < 3;
    const voxels = await v.rootPoints();
    const thinVoxels = voxels.filter(thin).length;
    // Cross-sections of 9 and 113 voxels: per voxel, the thin tube is a few percent of the roots.
    expect(thinVoxels / voxels.length).toBeLessThan(0.1);
    const centre = await v.centrelinePoints(50_000, 16, 8);
    const thinCentre = centre.filter(thin);
    // Per unit length both tubes count alike (each runs the 50 voxels of the scan), and the points lie on the axes.
    expect(thinCentre.length / centre.length).toBeGreaterThan(0.35);
    expect(thinCentre.length / centre.length).toBeLessThan(0.65);
    // Thinning may fork a root's end where it meets the scan's face; elsewhere the points lie on the axes.
    const fromAxis = (p: readonly number[]): number => Math.min(Math.hypot(p[0]! - 10, p[1]! - 10), Math.hypot(p[0]! - 30, p[1]! - 30));
    for (const p of centre) expect(fromAxis(p)).toBeLessThanOrEqual(p[2]! >= 6 && p[2]! < 44 ? 1.5 : 4);
    expect(centre.length).toBeGreaterThan(80);
    expect(centre.length).toBeLessThan(130);
    // A subsample keeps the proportions.
    const few = await v.centrelinePoints(40, 16, 8);
    expect(few).toHaveLength(40);
    await v.close();
  });
});

describe('VolumePatches beyond the faces', () => {
  it('the image goes on as its nearest voxel at every scale, and nothing there is root', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'patch-edge-')), 's.zarr');
    const [D, H, W] = [20, 24, 28];
    const image = new Uint16Array(D * H * W);
    const mask = new Uint8Array(D * H * W);
    for (let i = 0; i < image.length; i++) {
      image[i] = 1000 + ((i * 7919) % 9000);
      mask[i] = i % 3 === 0 ? 1 : 0;
    }
    await writeScanZarr(path, [D, H, W], image, mask, 8);
    const v = await VolumePatches.open(path, DEFAULT_NORMALISATION);
    const { offset, scale } = v.intensity;
    const clamp = (c: number, n: number): number => Math.min(n - 1, Math.max(0, c));
    const at = (z: number, y: number, x: number): number => (image[(clamp(z, D) * H + clamp(y, H)) * W + clamp(x, W)]! - offset) / scale;
    // Centres near a corner, near the opposite corner, and a cube wholly outside the volume.
    for (const centre of [
      [1, 2, 0],
      [D - 1, H - 2, W - 1],
      [D + 30, -40, 5],
    ] as [number, number, number][])
      for (const s of [1, 2]) {
        const n = 12;
        const got = await v.readImage(s, centre, n);
        const start = centre.map((c) => (Math.floor(c / s) - Math.floor(n / 2)) * s);
        let worst = 0;
        for (let z = 0; z < n; z++)
          for (let y = 0; y < n; y++)
            for (let x = 0; x < n; x++) {
              let want = 0;
              for (let d = 0; d < s ** 3; d++)
                want += at(
                  start[0]! + z * s + Math.floor(d / (s * s)),
                  start[1]! + y * s + (Math.floor(d / s) % s),
                  start[2]! + x * s + (d % s),
                );
              worst = Math.max(worst, Math.abs(got[(z * n + y) * n + x]! - want / s ** 3));
            }
        expect(worst, `centre ${centre}, scale ${s}`).toBeLessThan(1e-5);
        const label = await v.readLabel(s, centre, n);
        const dims = [D, H, W];
        let outside = 0;
        for (let i = 0; i < n ** 3; i++) {
          const cell = [Math.floor(i / (n * n)), Math.floor(i / n) % n, i % n];
          if (!cell.some((c, a) => start[a]! + c * s >= dims[a]! || start[a]! + (c + 1) * s <= 0)) continue;
          outside++;
          expect(label[i], `centre ${centre}, scale ${s}, cell ${cell}`).toBe(0);
        }
        expect(outside).toBeGreaterThan(0);
      }
    await v.close();
    // Training still reads the normalised offset beyond the faces (see VolumePatches.open).
    const t = await VolumePatches.open(path, DEFAULT_NORMALISATION, 'roots', 0, 'offset');
    const beyond = await t.readImage(1, [D + 30, -40, 5], 8);
    expect(beyond.every((x) => x === 0)).toBe(true);
    const near = await t.readImage(1, [1, 2, 0], 8);
    expect(near[0]).toBe(0);
    expect(near[near.length - 1]).toBeCloseTo(at(4, 5, 3), 5);
    await t.close();
  });
});
