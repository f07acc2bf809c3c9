import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { openVolume } from '../../src/io/open.js';
import { makeBox } from '../../src/volume/box.js';
import { REPO_ROOT, SHARED_DATA, tempDir } from '../io/helpers.js';
import { testGpu } from '../helpers/gpu.js';
import { brightCalledRoot, scanPyramid, segmentScan } from '../helpers/real-scan.js';

const bean = join(SHARED_DATA, 'bean-bucket-xct');
const model = join(REPO_ROOT, 'models', 'default');
const ready = existsSync(bean) && existsSync(join(model, 'model.safetensors'));
const note = ready ? '' : ` [SKIPPED: needs ${bean} and ${model}]`;

// The bean's tap root crosses this box of level 2 (full-resolution voxels / 4); its centre (z, y, x)
// at three depths in full-resolution voxels, read off the slices, and a radius well inside the root
// wall (it is ~38 voxels).
const BOX = makeBox([35, 35, 37], [56, 40, 40]);
const ROOT_CENTRES = [
  [150, 240, 270],
  [250, 205, 229],
  [350, 220, 213],
] as const;

let gpu: Gpu;
beforeAll(async () => {
  if (ready) gpu = await testGpu();
});

describe('the default model on the real bean scan', () => {
  it.skipIf(!ready)(`finds the tap root without calling the sand root${note}`, async () => {
    const t = await tempDir('rhizoct-bean-');
    try {
      // The whole scan as an OME-Zarr pyramid, segmented at level 2 (4× down, 125³), where the
      // tap root is ~19 voxels across, the scale of the thick roots the model was trained on.
      const pyr = await scanPyramid(bean, t.dir);
      const out = join(t.dir, 'seg.zarr');
      const s = await segmentScan(pyr, out, model, gpu, { level: 2 });
      expect(s.complete).toBe(true);
      const m = await openVolume(out, { label: 'roots' });
      const img = await openVolume(pyr, { level: 2 });
      expect(m.shape).toEqual([125, 125, 125]);
      const mask = await m.readBox(BOX);
      const grey = await img.readBox(BOX);
      const [, H, W] = BOX.shape;
      // Inside the tap root: most voxels are root.
      let inside = 0;
      let insideRoot = 0;
      for (const [zc, yc, xc] of ROOT_CENTRES) {
        const z = Math.round(zc / 4) - BOX.offset[0];
        const y = yc / 4 - BOX.offset[1];
        const x = xc / 4 - BOX.offset[2];
        for (let dz = -1; dz <= 1; dz++)
          for (let yy = Math.floor(y - 5); yy <= y + 5; yy++)
            for (let xx = Math.floor(x - 5); xx <= x + 5; xx++) {
              if ((yy - y) ** 2 + (xx - x) ** 2 > 25) continue;
              inside++;
              if (mask[((z + dz) * H + yy) * W + xx]) insideRoot++;
            }
      }
      // Bright sand grains (the top 10% of grey values) are not root.
      const called = brightCalledRoot(grey, mask);
      const recallInRoot = insideRoot / inside;
      console.log(
        `bean (level 2): ${(100 * recallInRoot).toFixed(1)}% of the tap root's core called root, ${(100 * called.bright).toFixed(2)}% of bright sand voxels, ${(100 * called.all).toFixed(2)}% of the box root`,
      );
      expect(recallInRoot, 'the tap root is found').toBeGreaterThan(0.6);
      expect(called.bright, 'sand grains are not called root').toBeLessThan(0.02);
      expect(called.all, 'most of the box is soil').toBeLessThan(0.3);
    } finally {
      await t.cleanup();
    }
  });
});
