import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openVolume } from '../../src/io/open.js';
import type { VoxelArray } from '../../src/io/volume.js';
import { wholeBox } from '../../src/volume/box.js';
import { PYTHON, REPO_ROOT, pythonHas, pythonSkipNote, tempDir } from '../io/helpers.js';

// The independent, test-only soil-root generator (bench/independent/generate.py) must write
// scans our own reader opens: NIfTI [x, y, z] with depth along z, mm voxels, a 0/1 mask of the
// same geometry, and the same bytes for the same seed.
const SCRIPT = join(REPO_ROOT, 'bench', 'independent', 'generate.py');
const MODULES = ['numpy', 'scipy', 'nibabel'];
const ready = pythonHas(...MODULES);
const note = pythonSkipNote(...MODULES);
const N = 48;

function generate(out: string, seed: number): void {
  const r = spawnSync(PYTHON, [SCRIPT, out, '--seed', String(seed), '--kind', 'sand', '--shape', String(N)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`generate.py failed (${r.status}): ${r.stderr}`);
}

async function readAll(
  path: string,
): Promise<{ shape: readonly number[]; voxelSize: readonly number[]; unit: string; dtype: string; data: VoxelArray }> {
  const v = await openVolume(path);
  try {
    return { shape: v.shape, voxelSize: v.voxelSize, unit: v.unit, dtype: v.dtype, data: await v.readBox(wholeBox(v.shape)) };
  } finally {
    await v.close();
  }
}

describe('bench/independent/generate.py (test-only scans)', () => {
  let t: { dir: string; cleanup: () => Promise<void> } | undefined;
  const a = () => join(t!.dir, 'a');
  const b = () => join(t!.dir, 'b');
  const c = () => join(t!.dir, 'c');

  beforeAll(async () => {
    if (!ready) return;
    t = await tempDir('rhizoct-indep-');
    generate(a(), 3);
    generate(b(), 3);
    generate(c(), 4);
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it.skipIf(!ready)(`writes a scan and a root mask our reader opens with the same geometry${note}`, async () => {
    const scan = await readAll(join(a(), 'scan.nii.gz'));
    const mask = await readAll(join(a(), 'roots.nii.gz'));
    expect(scan.shape).toEqual([N, N, N]);
    expect(mask.shape).toEqual(scan.shape);
    expect(scan.dtype).toBe('uint8');
    expect(mask.dtype).toBe('uint8');
    expect(scan.unit).toBe('millimeter');
    expect(mask.unit).toBe('millimeter');
    for (let i = 0; i < 3; i++) {
      expect(scan.voxelSize[i]).toBeCloseTo(0.06, 6);
      expect(mask.voxelSize[i]).toBeCloseTo(0.06, 6);
    }
    const meta = JSON.parse(await readFile(join(a(), 'meta.json'), 'utf8')) as { root_voxel_count: number; kind: string };
    expect(meta.kind).toBe('sand');
    let roots = 0;
    let top = 0;
    let inSum = 0;
    let outSum = 0;
    for (let i = 0; i < mask.data.length; i++) {
      const m = mask.data[i]!;
      expect(m === 0 || m === 1).toBe(true);
      if (m) {
        roots++;
        inSum += scan.data[i]!;
        if (i < 4 * N * N) top++; // z < 4: roots enter through the top (depth is z)
      } else outSum += scan.data[i]!;
    }
    expect(roots).toBeGreaterThan(0);
    expect(roots).toBe(meta.root_voxel_count);
    expect(top).toBeGreaterThan(0);
    // Roots are mid-grey, darker than the quartz grains that fill about half of the rest.
    expect(Math.abs(inSum / roots - outSum / (mask.data.length - roots))).toBeGreaterThan(5);
  });

  it.skipIf(!ready)(`gives the same bytes for the same seed and other bytes for another${note}`, async () => {
    const [sa, sb, sc, ma, mb] = await Promise.all([
      readFile(join(a(), 'scan.nii.gz')),
      readFile(join(b(), 'scan.nii.gz')),
      readFile(join(c(), 'scan.nii.gz')),
      readFile(join(a(), 'roots.nii.gz')),
      readFile(join(b(), 'roots.nii.gz')),
    ]);
    expect(sa.equals(sb)).toBe(true);
    expect(ma.equals(mb)).toBe(true);
    expect(sa.equals(sc)).toBe(false);
  });
});
