import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVolumeIoError } from '../../src/io/errors.js';
import { openNifti } from '../../src/io/nifti.js';
import { writeNifti1Header } from '../../src/io/nifti-header.js';
import { NiftiSink } from '../../src/io/nifti-write.js';
import { openVolume } from '../../src/io/open.js';
import type { VolumeMeta, VoxelArray } from '../../src/io/volume.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { freshSeed, rng } from '../helpers/random.js';
import { pythonHas, pythonSkipNote, runPython, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const seed = freshSeed();
const nib = pythonHas('nibabel', 'numpy');

/** Voxel (z, y, x) of a z, y, x array. */
const at = (a: ArrayLike<number>, shape: Vec3, z: number, y: number, x: number): number => a[(z * shape[1] + y) * shape[2] + x]!;

async function writeOurs(path: string, meta: VolumeMeta, data: VoxelArray): Promise<void> {
  const s = await NiftiSink.create(path, meta, { overwrite: true });
  await s.writeBox(makeBox([0, 0, 0], meta.shape), data);
  await s.finalize();
}

describe('NIfTI written by nibabel, read by us', () => {
  it.skipIf(!nib)(`keeps dims, voxel size, affine, values and scl_slope/scl_inter${pythonSkipNote('nibabel', 'numpy')}`, async () => {
    const script = `
import sys, nibabel as nib, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(${seed})
aff = np.array([[0, 0, -2.5, 10], [0, 1.5, 0, -3], [0.4, 0, 0, 7], [0, 0, 0, 1.0]])
for dt in ['uint8', 'int16', 'uint16', 'float32']:
    info = np.iinfo(dt) if dt != 'float32' else None
    a = rng.integers(info.min, info.max, size=(7, 6, 5), endpoint=True).astype(dt) if info else rng.normal(size=(7, 6, 5)).astype(dt)
    img = nib.Nifti1Image(a, aff)
    img.header.set_xyzt_units('mm')
    nib.save(img, f'{out}/{dt}.nii')
    nib.save(img, f'{out}/{dt}.nii.gz')
    a.transpose(2, 1, 0).astype('<f8').tofile(f'{out}/{dt}.f64')
# Float data stored as int16: nibabel picks scl_slope and scl_inter to fit.
s = nib.Nifti1Image(rng.normal(100, 40, size=(4, 3, 2)), np.eye(4))
s.set_data_dtype(np.int16)
nib.save(s, f'{out}/scaled.nii.gz')
l = nib.load(f'{out}/scaled.nii.gz')
slope, inter = l.dataobj.slope, l.dataobj.inter
assert slope not in (None, 1.0), (slope, inter)
np.asanyarray(l.dataobj).astype('<f8').transpose(2, 1, 0).tofile(f'{out}/scaled.f64')
be = nib.Nifti1Image(np.arange(60, dtype='>i2').reshape(5, 4, 3), np.diag([2, 3, 4, 1.0]), nib.Nifti1Header(endianness='>'))
nib.save(be, f'{out}/bigendian.nii')
print(nib.load(f'{out}/bigendian.nii').header.endianness)
`;
    expect(runPython(script, dir).trim()).toBe('>');
    for (const dt of ['uint8', 'int16', 'uint16', 'float32']) {
      const want = new Float64Array((await readFile(join(dir, `${dt}.f64`))).buffer.slice(0));
      for (const ext of ['nii', 'nii.gz']) {
        const v = await openNifti(join(dir, `${dt}.${ext}`));
        const label = `${dt}.${ext}`;
        expect(v.shape, label).toEqual([5, 6, 7]);
        expect(v.dtype, label).toBe(dt);
        expect(v.compressed, label).toBe(ext === 'nii.gz');
        expect(
          v.voxelSize.map((n) => Number(n.toFixed(5))),
          label,
        ).toEqual([2.5, 1.5, 0.4]);
        expect(v.unit, label).toBe('millimeter');
        expect(
          v.affine.map((r) => r.map((n) => Number(n.toFixed(5)))),
          label,
        ).toEqual([
          [0, 0, -2.5, 10],
          [0, 1.5, 0, -3],
          [0.4, 0, 0, 7],
          [0, 0, 0, 1],
        ]);
        const got = await v.readBox(makeBox([0, 0, 0], v.shape));
        expect(Array.from(got), label).toEqual(Array.from(dt === 'float32' ? Float32Array.from(want) : want));
        // A box in the middle matches the same voxels of the whole.
        const box = makeBox([1, 2, 3], [3, 3, 2]);
        const part = await v.readBox(box);
        for (let z = 0; z < 3; z++)
          for (let y = 0; y < 3; y++)
            for (let x = 0; x < 2; x++) {
              expect(at(part, box.shape, z, y, x), label).toBe(at(got, v.shape, z + 1, y + 2, x + 3));
            }
        await v.close();
      }
    }
    const s = await openNifti(join(dir, 'scaled.nii.gz'));
    expect(s.dtype).toBe('float32');
    const sv = await s.readBox(makeBox([0, 0, 0], s.shape));
    const sw = new Float64Array((await readFile(join(dir, 'scaled.f64'))).buffer.slice(0));
    for (let i = 0; i < sw.length; i++) expect(sv[i]).toBeCloseTo(sw[i]!, 3);
    await s.close();
    const be = await openNifti(join(dir, 'bigendian.nii'));
    const bv = await be.readBox(makeBox([0, 0, 0], be.shape));
    // nibabel's array a[x, y, z] = arange; ours is z, y, x.
    expect(at(bv, be.shape, 2, 3, 4)).toBe(4 * 12 + 3 * 3 + 2);
    expect(be.voxelSize).toEqual([4, 3, 2]);
    await be.close();
  });
});

describe('NIfTI-2', () => {
  it.skipIf(!nib)(`files written by nibabel's Nifti2Image are read${pythonSkipNote('nibabel', 'numpy')}`, async () => {
    runPython(
      `
import sys, nibabel as nib, numpy as np
a = np.arange(4 * 5 * 6, dtype='float32').reshape(4, 5, 6)
nib.save(nib.Nifti2Image(a, np.diag([0.5, 0.25, 2, 1.0])), sys.argv[1] + '/two.nii.gz')
`,
      dir,
    );
    const v = await openNifti(join(dir, 'two.nii.gz'));
    expect(v.info.version).toBe(2);
    expect(v.shape).toEqual([6, 5, 4]);
    expect(v.voxelSize).toEqual([2, 0.25, 0.5]);
    const all = await v.readBox(makeBox([0, 0, 0], v.shape));
    // nibabel's a[x, y, z] = (x * 5 + y) * 6 + z.
    expect(at(all, v.shape, 5, 4, 3)).toBe((3 * 5 + 4) * 6 + 5);
    await v.close();
  });
});

describe('NIfTI written by us, read by nibabel', () => {
  it.skipIf(!nib)(`has the right dims, affine, units and values${pythonSkipNote('nibabel', 'numpy')}`, async () => {
    const shape: Vec3 = [4, 5, 6];
    const data = new Uint16Array(4 * 5 * 6).map((_, i) => (i * 37) % 65536);
    const meta: VolumeMeta = { shape, dtype: 'uint16', voxelSize: [2, 0.5, 0.25], unit: 'micrometer', origin: [-1, 2, 3] };
    for (const name of ['mask.nii', 'mask.nii.gz']) {
      const p = join(dir, `ours-${name}`);
      // Written in two boxes, out of order, to exercise random-access writes.
      const s = await NiftiSink.create(p, meta);
      const top = makeBox([2, 0, 0], [2, 5, 6]);
      const bottom = makeBox([0, 0, 0], [2, 5, 6]);
      await s.writeBox(top, data.subarray(60, 120));
      await s.writeBox(bottom, data.subarray(0, 60));
      await s.finalize();
      const out = runPython(
        `
import sys, json, nibabel as nib, numpy as np
i = nib.load(sys.argv[1])
a = np.asanyarray(i.dataobj)
print(json.dumps({'shape': list(a.shape), 'dtype': str(a.dtype), 'affine': i.affine.tolist(), 'qform': i.get_qform().tolist(),
  'units': i.header.get_xyzt_units()[0], 'zooms': [float(z) for z in i.header.get_zooms()], 'v': int(a[5, 4, 3]), 'sum': int(a.astype(np.int64).sum())}))
`,
        p,
      );
      const r = JSON.parse(out);
      expect(r.shape).toEqual([6, 5, 4]);
      expect(r.dtype).toBe('uint16');
      expect(r.units).toBe('micron');
      expect(r.zooms).toEqual([0.25, 0.5, 2]);
      expect(r.affine).toEqual([
        [0.25, 0, 0, 3],
        [0, 0.5, 0, 2],
        [0, 0, 2, -1],
        [0, 0, 0, 1],
      ]);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expect(r.qform[i][j]).toBeCloseTo(r.affine[i][j], 6);
      expect(r.v).toBe(at(data, shape, 3, 4, 5));
      expect(r.sum).toBe(data.reduce((a, b) => a + b, 0));
    }
  });

  it('round-trips a rotated affine through our own reader', async () => {
    const affine = [
      [0, 0, -2, 5],
      [0, 1.5, 0, 0],
      [0.5, 0, 0, -7],
      [0, 0, 0, 1],
    ];
    const shape: Vec3 = [3, 2, 4];
    const data = Float32Array.from({ length: 24 }, (_, i) => i / 3 - 2);
    const p = join(dir, 'rot.nii.gz');
    await writeOurs(p, { shape, dtype: 'float32', voxelSize: [2, 1.5, 0.5], unit: 'millimeter', origin: [-7, 0, 5], affine }, data);
    const v = await openVolume(p);
    expect(v.affine).toEqual(affine);
    expect(Array.from(await v.readBox(makeBox([0, 0, 0], shape)))).toEqual(Array.from(data));
    await v.close();
  });
});

describe('NIfTI box reads', () => {
  it(`read only what they need and agree with the whole volume (seed ${seed})`, async () => {
    const r = rng(seed);
    const shape: Vec3 = [9, 7, 11];
    const data = Int16Array.from({ length: 9 * 7 * 11 }, () => Math.floor(r() * 65536) - 32768);
    const p = join(dir, 'boxes.nii');
    await writeOurs(p, { shape, dtype: 'int16', voxelSize: [1, 1, 1], unit: '', origin: [0, 0, 0] }, data);
    await writeFile(`${p}.gz`, gzipSync(await readFile(p)));
    for (const path of [p, `${p}.gz`]) {
      const v = await openNifti(path);
      // Boxes in z order stream the gzip forwards without restarting.
      let lastZ = -1;
      for (let i = 0; i < 40; i++) {
        const z0 = Math.max(lastZ, Math.floor(r() * 9));
        const off: Vec3 = [Math.min(z0, 8), Math.floor(r() * 7), Math.floor(r() * 11)];
        const sh: Vec3 = [1 + Math.floor(r() * (9 - off[0])), 1 + Math.floor(r() * (7 - off[1])), 1 + Math.floor(r() * (11 - off[2]))];
        lastZ = off[0];
        const got = await v.readBox(makeBox(off, sh));
        const label = JSON.stringify({ seed, path, i, off, sh });
        for (let z = 0; z < sh[0]; z++)
          for (let y = 0; y < sh[1]; y++)
            for (let x = 0; x < sh[2]; x++) {
              expect(at(got, sh, z, y, x), label).toBe(at(data, shape, z + off[0], y + off[1], x + off[2]));
            }
      }
      await v.close();
    }
  });
});

describe('bad NIfTI input', () => {
  const good = async (): Promise<Uint8Array> => {
    const p = join(dir, 'good.nii');
    await writeOurs(p, { shape: [4, 4, 4], dtype: 'uint8', voxelSize: [1, 1, 1], unit: '', origin: [0, 0, 0] }, new Uint8Array(64).fill(7));
    return new Uint8Array(await readFile(p));
  };

  it('truncated .nii: dims disagree with the file size', async () => {
    const p = join(dir, 'trunc.nii');
    await writeFile(p, (await good()).subarray(0, 352 + 30));
    const err = await openNifti(p).catch((e: unknown) => e);
    expect(isVolumeIoError(err, 'Inconsistent')).toBe(true);
    expect(String(err)).toContain('trunc.nii');
    expect(String(err)).toMatch(/need 416 bytes.*382/);
  });

  it('truncated .nii.gz', async () => {
    const p = join(dir, 'trunc.nii.gz');
    const gz = gzipSync(await good());
    await writeFile(p, gz.subarray(0, gz.length - 20));
    const err = await openNifti(p)
      .then((v) => v.readBox(makeBox([0, 0, 0], v.shape)))
      .catch((e: unknown) => e);
    expect(isVolumeIoError(err, 'Inconsistent', 'Truncated', 'Corrupt')).toBe(true);
    expect(String(err)).toContain('trunc.nii.gz');
  });

  it('gzip-corrupt .nii.gz', async () => {
    const p = join(dir, 'corrupt.nii.gz');
    const g = await good();
    // Incompressible voxels, so the corrupted bytes land in the deflate data of the voxels.
    const r = rng(seed + 9);
    const big = new Uint8Array(352 + 64 ** 3);
    big.set(g.subarray(0, 352));
    new DataView(big.buffer).setInt16(42, 64, true);
    new DataView(big.buffer).setInt16(44, 64, true);
    new DataView(big.buffer).setInt16(46, 64, true);
    for (let i = 352; i < big.length; i++) big[i] = Math.floor(r() * 256);
    const gz = gzipSync(big);
    for (let i = 2000; i < 2100; i++) gz[i] = gz[i]! ^ 0x5a;
    await writeFile(p, gz);
    const err = await openNifti(p)
      .then((v) => v.readBox(makeBox([0, 0, 0], v.shape)))
      .catch((e: unknown) => e);
    expect(isVolumeIoError(err, 'Corrupt', 'Truncated')).toBe(true);
    expect(String(err)).toContain('corrupt.nii.gz');
  });

  it('wrong magic', async () => {
    const p = join(dir, 'magic.nii');
    const g = await good();
    g.set([0x78, 0x79, 0x7a, 0], 344);
    await writeFile(p, g);
    const err = await openNifti(p).catch((e: unknown) => e);
    expect(isVolumeIoError(err, 'UnknownFormat')).toBe(true);
    expect(String(err)).toMatch(/magic.nii.*"xyz/);
  });

  it('4D volumes and unknown datatypes are refused by name', async () => {
    const g = await good();
    const four = g.slice();
    new DataView(four.buffer).setInt16(40, 4, true);
    new DataView(four.buffer).setInt16(48, 2, true);
    await writeFile(join(dir, '4d.nii'), four);
    expect(String(await openNifti(join(dir, '4d.nii')).catch((e: unknown) => e))).toMatch(/4d.nii.*only 3D/);
    const rgb = g.slice();
    new DataView(rgb.buffer).setInt16(70, 128, true);
    new DataView(rgb.buffer).setInt16(72, 24, true);
    await writeFile(join(dir, 'rgb.nii'), rgb);
    const err = await openNifti(join(dir, 'rgb.nii')).catch((e: unknown) => e);
    expect(isVolumeIoError(err, 'Unsupported')).toBe(true);
  });

  it('an interrupted writer leaves no file under the final name', async () => {
    const p = join(dir, 'never.nii.gz');
    const s = await NiftiSink.create(p, { shape: [2, 2, 2], dtype: 'uint8', voxelSize: [1, 1, 1], unit: '', origin: [0, 0, 0] });
    await s.writeBox(makeBox([0, 0, 0], [1, 2, 2]), new Uint8Array(4));
    await s.abort();
    await expect(readFile(p)).rejects.toThrow();
  });

  it('the header writer refuses dims NIfTI-1 cannot hold', () => {
    expect(() =>
      writeNifti1Header({
        dims: [40000, 1, 1],
        dtype: 'uint8',
        affine: [
          [1, 0, 0, 0],
          [0, 1, 0, 0],
          [0, 0, 1, 0],
          [0, 0, 0, 1],
        ],
        unitCode: 0,
      }),
    ).toThrow(/32767/);
  });

  it('copying a file keeps it readable (sanity of fixtures)', async () => {
    await copyFile(join(dir, 'good.nii'), join(dir, 'copy.nii'));
    const v = await openNifti(join(dir, 'copy.nii'));
    expect(Array.from(await v.readBox(makeBox([0, 0, 0], [1, 1, 2])))).toEqual([7, 7]);
    await v.close();
  });
});
