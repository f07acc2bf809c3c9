import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { type Box, boxVoxels, makeBox } from '../../src/volume/box.js';
import { regionRanges } from '../../src/volume/region.js';
import { testGpu } from '../helpers/gpu.js';
import { brightCalledRoot, scanPyramid, segmentRegion } from '../helpers/real-scan.js';
import { REPO_ROOT, SHARED_DATA, tempDir } from '../io/helpers.js';

// The default model on boxes of the two real scans, through the full-resolution path with no
// options (all scales fused), as a lab runs it: each box is segmented by `segment --region` on the
// whole scan's pyramid, so its mask is the one a whole-scan run writes there. References: bench/real-references (bean: points
// placed by looking at slices and the tap root's centre and radius every 10th slice; maize: a
// threshold reference rebuilt here in its simplest form, bright voxels against each slice's air).
const model = join(REPO_ROOT, 'models', 'default');
const bean = join(SHARED_DATA, 'bean-bucket-xct');
const maize = join(SHARED_DATA, 'maize-crown-ct');
const skip = (dir: string): string =>
  existsSync(dir) && existsSync(join(model, 'model.safetensors')) ? '' : ` [SKIPPED: needs ${dir} and ${model}]`;

let gpu: Gpu;
beforeAll(async () => {
  if (existsSync(bean) || existsSync(maize)) gpu = await testGpu();
});

/** Segments `box` of a real scan with the default model and no options but `--region`: the whole scan as a pyramid, as a lab converts it. */
async function segmentBox(scan: string, box: Box): Promise<{ grey: ArrayLike<number>; mask: Uint8Array }> {
  const t = await tempDir('rhizoct-real-');
  try {
    const { grey, mask, summary } = await segmentRegion(await scanPyramid(scan, t.dir), box, model, gpu);
    // Every 64³ output chunk of the (chunk-aligned) box was segmented by this run.
    expect(summary.region).toEqual(regionRanges(box));
    expect(summary.chunks.written).toBe(boxVoxels(box) / 64 ** 3);
    return { grey, mask };
  } finally {
    await t.cleanup();
  }
}

interface BeanRefs {
  points: { zyx: [number, number, number]; label: 'root' | 'not-root'; what: string }[];
  tapRoot: { z: number; y: number; x: number; r: number; canal_r: number; inSoil: boolean }[];
}

describe('the default model on the real scans, full resolution, no options', () => {
  it.skipIf(skip(bean) !== '')(
    `bean in sand: the tap root whole, no sand called root (laterals reported)${skip(bean)}`,
    async () => {
      // 192³ (27 output chunks) holding the upper tap root (radius 17-40 voxels) and 15 lateral points on laterals B and E.
      const box = makeBox([64, 128, 128], [192, 192, 192]);
      const refs = JSON.parse(readFileSync(join(REPO_ROOT, 'bench/real-references/bean-points.json'), 'utf8')) as BeanRefs;
      const { grey, mask } = await segmentBox(bean, box);
      const [D, H, W] = box.shape;
      const at = (z: number, y: number, x: number): number => ((z - box.offset[0]) * H + (y - box.offset[1])) * W + (x - box.offset[2]);
      const inBox = (z: number, y: number, x: number): boolean =>
        z >= box.offset[0] &&
        y >= box.offset[1] &&
        x >= box.offset[2] &&
        z < box.offset[0] + D &&
        y < box.offset[1] + H &&
        x < box.offset[2] + W;
      // The tap root's core: a disk of 0.6 of its radius in each listed slice, its dark canal left out.
      let core = 0;
      let coreRoot = 0;
      for (const t of refs.tapRoot) {
        if (!t.inSoil) continue;
        for (let y = Math.floor(t.y - t.r); y <= t.y + t.r; y++)
          for (let x = Math.floor(t.x - t.r); x <= t.x + t.r; x++) {
            const d2 = (y - t.y) ** 2 + (x - t.x) ** 2;
            if (d2 > (0.6 * t.r) ** 2 || d2 <= t.canal_r ** 2 || !inBox(t.z, y, x)) continue;
            core++;
            coreRoot += mask[at(t.z, y, x)]!;
          }
      }
      const points = refs.points.filter((p) => inBox(...p.zyx));
      const found = (what: (w: string) => boolean): [number, number] => {
        const ps = points.filter((p) => what(p.what));
        return [ps.filter((p) => mask[at(...p.zyx)]).length, ps.length];
      };
      const laterals = found((w) => w === 'lateral');
      const wall = found((w) => w === 'tap root wall');
      const negatives = points.filter((p) => p.label === 'not-root');
      const falsePos = negatives.filter((p) => mask[at(...p.zyx)]).length;
      const called = brightCalledRoot(grey, mask);
      console.log(
        `bean box: tap-root core ${(coreRoot / core).toFixed(3)} (${core} voxels), wall points ${wall.join('/')}, lateral points ${laterals.join('/')}, not-root points called root ${falsePos}/${negatives.length}, bright sand called root ${called.bright.toFixed(4)}, box called root ${called.all.toFixed(4)}`,
      );
      expect(core).toBeGreaterThan(10000);
      expect(laterals[1]).toBe(15);
      // Multi-scale fusion finds the tap root whole (at full resolution alone it came out as a ring,
      // 0.37 of its core). The laterals: 12 of the 15 points today (4 with models/presets).
      expect(laterals[0], 'most lateral points are root').toBeGreaterThanOrEqual(10);
      expect(coreRoot / core, 'the tap root is found whole, not as a ring').toBeGreaterThan(0.9);
      expect(falsePos, 'sand, pores and matrix points are not root').toBeLessThanOrEqual(1);
      // The default model since 2026-12-07 (trained on varied soils) calls specks on some bright grains
      // root: 2.1% of the brightest tenth of the box, where the presets-only model called 0.003%.
      expect(called.bright, 'bright sand grains are mostly not root').toBeLessThan(0.03);
    },
    900_000,
  );

  it.skipIf(skip(maize) !== '')(
    `maize crown in air: the air called root stays within today's share (recall of roots and stem reported)${skip(maize)}`,
    async () => {
      // 128³ (8 output chunks) holding the stem and the nodal roots leaving it.
      const box = makeBox([64, 128, 128], [128, 128, 128]);
      const { grey, mask } = await segmentBox(maize, box);
      const [D, H, W] = box.shape;
      // Each slice's air level is its median (air fills most of every slice). Object: clearly bright
      // voxels (8 grey levels over the air, its noise sd is ~1.5) with a bright 3×3 neighbourhood in
      // the slice, so single noisy voxels do not count. Air: at most 1 level over the air level and
      // more than 3 voxels from anything 3 levels over it.
      const air = new Float64Array(D);
      for (let z = 0; z < D; z++) air[z] = Float64Array.from({ length: H * W }, (_, i) => grey[z * H * W + i]!).sort()[(H * W) >> 1]!;
      const g = (z: number, y: number, x: number): number => grey[(z * H + y) * W + x]!;
      const near = new Uint8Array(D * H * W);
      for (let z = 0; z < D; z++)
        for (let y = 0; y < H; y++)
          for (let x = 0; x < W; x++) {
            if (g(z, y, x) < air[z]! + 3) continue;
            for (let dz = -3; dz <= 3; dz++)
              for (let dy = -3; dy <= 3; dy++)
                for (let dx = -3; dx <= 3; dx++) {
                  const zz = z + dz;
                  const yy = y + dy;
                  const xx = x + dx;
                  if (zz >= 0 && yy >= 0 && xx >= 0 && zz < D && yy < H && xx < W) near[(zz * H + yy) * W + xx] = 1;
                }
          }
      let object = 0;
      let objectRoot = 0;
      let airVox = 0;
      let airRoot = 0;
      let root = 0;
      for (let z = 0; z < D; z++)
        for (let y = 1; y < H - 1; y++)
          for (let x = 1; x < W - 1; x++) {
            const i = (z * H + y) * W + x;
            root += mask[i]!;
            let s = 0;
            for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += g(z, y + dy, x + dx);
            if (g(z, y, x) >= air[z]! + 8 && s / 9 >= air[z]! + 5) {
              object++;
              objectRoot += mask[i]!;
            } else if (g(z, y, x) <= air[z]! + 1 && !near[i]) {
              airVox++;
              airRoot += mask[i]!;
            }
          }
      console.log(
        `maize box: bright roots and stem called root ${(objectRoot / object).toFixed(3)} (${object} voxels), air called root ${(airRoot / airVox).toFixed(5)} (${airVox} voxels), box called root ${(root / mask.length).toFixed(4)}`,
      );
      expect(object).toBeGreaterThan(20000);
      // The recall of roots and stem is printed, not asserted: the shipped model finds few of them (README).
      // Issue 14 asks for no air called root (< 0.001). The shipped model calls 13% of this box's air
      // root on the whole scan (blobs between the nodal roots, bench/RESULTS.md): a crop of the scan,
      // normalised by its own percentiles, hid that. This bound catches it getting worse; tighten it
      // to the target when a model that meets it ships.
      expect(airRoot / airVox, 'air called root').toBeLessThan(0.2);
    },
    900_000,
  );
});
