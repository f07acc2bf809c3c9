import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coarseCopy } from '../../bench/coarse-scans.js';
import { openVolume } from '../../src/io/open.js';
import { synthesize } from '../../src/pipeline/synth.js';
import { type Vec3, wholeBox } from '../../src/volume/box.js';
import { testGpu } from '../helpers/gpu.js';

describe('coarse copies of a scan for training', () => {
  it("hold the scan's pyramid level L and its labels' level L as a one-level scan of their own", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coarse-'));
    const scan = join(dir, 's.zarr');
    const gpu = await testGpu();
    await synthesize(scan, {
      seed: 4,
      shape: [136, 132, 140],
      voxelSize: [0.05, 0.05, 0.05],
      difficulty: 'easy',
      chunkShape: [32, 32, 32],
      gpu,
    });
    for (const level of [1, 2]) {
      const out = await coarseCopy(scan, level, join(dir, `c${level}.zarr`));
      const pairs = [
        [await openVolume(scan, { level }), await openVolume(out)],
        [await openVolume(scan, { label: 'roots', level }), await openVolume(out, { label: 'roots' })],
      ] as const;
      for (const [a, b] of pairs) {
        expect(b.shape).toEqual(a.shape);
        expect(b.voxelSize).toEqual(a.voxelSize);
        const [da, db] = [await a.readBox(wholeBox(a.shape as Vec3)), await b.readBox(wholeBox(b.shape as Vec3))];
        expect(Buffer.from(db.buffer, db.byteOffset, db.byteLength).equals(Buffer.from(da.buffer, da.byteOffset, da.byteLength))).toBe(
          true,
        );
        expect(
          da.some((v) => v > 0),
          'not empty',
        ).toBe(true);
        await a.close();
        await b.close();
      }
      await expect(openVolume(out, { level: 1 }), 'one level: the sampler averages the context itself').rejects.toThrow();
    }
  });
});
