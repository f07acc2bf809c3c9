import { describe, expect, it } from 'vitest';
import { distanceTransform } from '../../src/analysis/distance.js';
import { tempDir } from '../io/helpers.js';
import { HAS_SKIMAGE, peer, SKIP_NOTE } from './peer.js';
import { blobs } from './shapes.js';

/** Brute force: distance from each foreground voxel to the nearest background voxel. */
function brute(mask: Uint8Array, shape: [number, number, number], sp: [number, number, number]): Float64Array {
  const [nz, ny, nx] = shape;
  const bg: [number, number, number][] = [];
  for (let z = 0; z < nz; z++)
    for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) if (!mask[(z * ny + y) * nx + x]) bg.push([z, y, x]);
  const out = new Float64Array(mask.length);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const i = (z * ny + y) * nx + x;
        if (!mask[i]) continue;
        let best = Infinity;
        for (const [a, b, c] of bg) best = Math.min(best, ((z - a) * sp[0]) ** 2 + ((y - b) * sp[1]) ** 2 + ((x - c) * sp[2]) ** 2);
        out[i] = Math.sqrt(best);
      }
    }
  }
  return out;
}

describe('distanceTransform', () => {
  it('matches brute force with anisotropic voxels; no background gives Infinity', () => {
    const m = blobs([9, 11, 13], 5, 1, 0.35);
    const sp: [number, number, number] = [0.7, 1.3, 1];
    const ours = distanceTransform(m.data, m.shape, sp);
    const ref = brute(m.data, [9, 11, 13], sp);
    for (let i = 0; i < ref.length; i++) expect(ours[i]).toBeCloseTo(ref[i]!, 4);
    expect(distanceTransform(new Uint8Array(8).fill(1), [2, 2, 2])[0]).toBe(Infinity);
  });

  it.skipIf(!HAS_SKIMAGE)(`matches scipy.ndimage.distance_transform_edt${SKIP_NOTE}`, async () => {
    const { dir, cleanup } = await tempDir('rhizoct-edt-');
    try {
      const m = blobs([30, 25, 28], 6, 2, 0.4);
      const theirs = new Float32Array(new Uint8Array(peer('edt', m, dir, { SAMPLING: '0.5,0.25,0.3' })).buffer);
      const ours = distanceTransform(m.data, m.shape, [0.5, 0.25, 0.3]);
      let worst = 0;
      for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
      expect(worst).toBeLessThan(1e-5);
    } finally {
      await cleanup();
    }
  });
});
