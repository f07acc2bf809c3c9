import { createReadStream } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVolumeIoError } from '../../src/io/errors.js';
import { openVolume } from '../../src/io/open.js';
import type { DType, VolumeMeta, VoxelArray } from '../../src/io/volume.js';
import { allocateVoxels } from '../../src/io/volume.js';
import type { Compression } from '../../src/io/zarr-codecs.js';
import { openZarr, ZarrSource } from '../../src/io/zarr-source.js';
import { AtomicFileStore } from '../../src/io/zarr-store.js';
import { OmeZarrWriter } from '../../src/io/zarr-write.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { freshSeed, rng } from '../helpers/random.js';
import { pythonHas, pythonSkipNote, runPython, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('rhizoct-zarr-')));
afterAll(() => cleanup());

const seed = freshSeed();
const zpy = pythonHas('zarr', 'numpy');

function randomVoxels(dtype: DType, n: number, r: () => number): VoxelArray {
  const a = allocateVoxels(dtype, n);
  for (let i = 0; i < n; i++) {
    a[i] =
      dtype === 'float32'
        ? (r() - 0.5) * 100
        : dtype === 'int16'
          ? Math.floor(r() * 65536) - 32768
          : Math.floor(r() * (dtype === 'uint8' ? 256 : 65536));
  }
  return a;
}

/** Writes a one-level image (no GPU needed) chunk row by chunk row. */
async function writeImage(
  path: string,
  meta: VolumeMeta,
  data: VoxelArray,
  zarrFormat: 2 | 3,
  compression: Compression,
  chunk: Vec3,
): Promise<OmeZarrWriter> {
  const w = await OmeZarrWriter.create(path, meta, {
    zarrFormat,
    chunkShape: chunk,
    compression: { compression },
    levelCount: 1,
    method: 'mean',
    overwrite: true,
  });
  const [nz, ny, nx] = meta.shape;
  for (let z = 0; z < nz; z += chunk[0]) {
    const d = Math.min(chunk[0], nz - z);
    await w.writeLevelBox(0, makeBox([z, 0, 0], [d, ny, nx]), data.subarray(z * ny * nx, (z + d) * ny * nx) as VoxelArray);
  }
  return w;
}

async function filesUnder(p: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(p, { withFileTypes: true })) {
    const f = join(p, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(f)));
    else out.push(f);
  }
  return out;
}

const compressions: Compression[] = ['blosc', 'zstd', 'gzip', 'none'];

describe('OME-Zarr written and read by us', () => {
  it(`round-trips every type and codec in Zarr v2 and v3, with chunks that do not divide the shape (seed ${seed})`, async () => {
    const r = rng(seed);
    const dtypes: DType[] = ['uint8', 'uint16', 'int16', 'float32'];
    let k = 0;
    for (const zarrFormat of [2, 3] as const) {
      for (const compression of compressions) {
        const dtype = dtypes[k++ % 4]!;
        const shape: Vec3 = [5 + Math.floor(r() * 6), 7 + Math.floor(r() * 6), 9 + Math.floor(r() * 6)];
        const chunk: Vec3 = [3, 4, 5];
        const meta: VolumeMeta = { shape, dtype, voxelSize: [2, 0.5, 0.5], unit: 'micrometer', origin: [10, 20, 30] };
        const data = randomVoxels(dtype, shape[0] * shape[1] * shape[2], r);
        const p = join(dir, `rt-v${zarrFormat}-${compression}.zarr`);
        const w = await writeImage(p, meta, data, zarrFormat, compression, chunk);
        // Nothing under the final name until finalize: the image is built under .partial.
        await expect(stat(p)).rejects.toThrow();
        await w.finalize();
        const label = JSON.stringify({ seed, zarrFormat, compression, dtype, shape });
        expect(
          (await filesUnder(p)).filter((f) => f.includes('.tmp-')),
          label,
        ).toEqual([]);
        const v = await openVolume(p);
        expect(v.format, label).toBe('ome-zarr');
        expect(v.shape, label).toEqual(shape);
        expect(v.dtype, label).toBe(dtype);
        expect(v.voxelSize, label).toEqual([2, 0.5, 0.5]);
        expect(v.unit, label).toBe('micrometer');
        expect(v.origin, label).toEqual([10, 20, 30]);
        expect(v.chunkShape, label).toEqual(chunk);
        expect((v as ZarrSource).ngffVersion, label).toBe(zarrFormat === 2 ? '0.4' : '0.5');
        expect(Array.from(await v.readBox(makeBox([0, 0, 0], shape))), label).toEqual(Array.from(data));
        const box = makeBox([1, 2, 3], [3, 4, 5]);
        const part = await v.readBox(box);
        for (let z = 0; z < 3; z++)
          for (let y = 0; y < 4; y++)
            for (let x = 0; x < 5; x++) {
              expect(part[(z * 4 + y) * 5 + x], label).toBe(data[((z + 1) * shape[1] + y + 2) * shape[2] + x + 3]);
            }
        await v.close();
      }
    }
  });

  it('refuses writes that are not made of whole chunks', async () => {
    const meta: VolumeMeta = { shape: [8, 8, 8], dtype: 'uint8', voxelSize: [1, 1, 1], unit: '', origin: [0, 0, 0] };
    const w = await OmeZarrWriter.create(join(dir, 'aligned.zarr'), meta, {
      zarrFormat: 2,
      chunkShape: [4, 4, 4],
      compression: { compression: 'none' },
      levelCount: 1,
      method: 'mean',
    });
    await expect(w.writeLevelBox(0, makeBox([2, 0, 0], [4, 8, 8]), new Uint8Array(256))).rejects.toThrow(/whole chunks/);
    await w.abort();
    await expect(stat(join(dir, 'aligned.zarr.partial'))).rejects.toThrow();
  });

  it('adds a label image under labels/ with image-label metadata, in v2 and v3', async () => {
    for (const zarrFormat of [2, 3] as const) {
      const meta: VolumeMeta = { shape: [6, 5, 4], dtype: 'uint16', voxelSize: [1, 1, 1], unit: 'millimeter', origin: [0, 0, 0] };
      const p = join(dir, `withlabels-v${zarrFormat}.zarr`);
      await (await writeImage(p, meta, new Uint16Array(120).fill(9), zarrFormat, 'zstd', [4, 4, 4])).finalize();
      const mask = Uint8Array.from({ length: 120 }, (_, i) => (i % 3 === 0 ? 1 : 0));
      const lw = await OmeZarrWriter.create(
        p,
        { ...meta, dtype: 'uint8' },
        { zarrFormat, chunkShape: [4, 4, 4], compression: { compression: 'blosc' }, levelCount: 1, method: 'mode', label: 'roots' },
      );
      await lw.writeLevelBox(0, makeBox([0, 0, 0], [6, 5, 4]), mask);
      // Before finalize the label is not listed.
      expect((await openZarr(p)).labels).toEqual([]);
      await lw.finalize();
      const img = await openZarr(p);
      expect(img.labels).toEqual(['roots']);
      const lab = await openZarr(p, { label: 'roots' });
      expect(lab.dtype).toBe('uint8');
      expect(Array.from(await lab.readBox(makeBox([0, 0, 0], lab.shape)))).toEqual(Array.from(mask));
      const attrs = JSON.parse(await readFile(join(p, 'labels', 'roots', zarrFormat === 2 ? '.zattrs' : 'zarr.json'), 'utf8'));
      const il = zarrFormat === 2 ? attrs['image-label'] : attrs.attributes.ome['image-label'];
      expect(il.source.image).toBe('../../');
      expect(il.colors[0]['label-value']).toBe(1);
      // A second label keeps the first listed; a label whose shape differs from the image is refused.
      const lw2 = await OmeZarrWriter.create(
        p,
        { ...meta, dtype: 'uint8' },
        { zarrFormat, chunkShape: [4, 4, 4], compression: { compression: 'none' }, levelCount: 1, method: 'mode', label: 'pores' },
      );
      await lw2.writeLevelBox(0, makeBox([0, 0, 0], [6, 5, 4]), new Uint8Array(120));
      await lw2.finalize();
      expect((await openZarr(p)).labels).toEqual(['roots', 'pores']);
      const bad = await OmeZarrWriter.create(
        p,
        { ...meta, shape: [6, 5, 5], dtype: 'uint8' },
        { zarrFormat, chunkShape: [4, 4, 4], compression: { compression: 'none' }, levelCount: 1, method: 'mode', label: 'x' },
      ).catch((e: unknown) => e);
      expect(isVolumeIoError(bad, 'Inconsistent')).toBe(true);
    }
  });
});

describe('interoperability with zarr-python (2.13)', () => {
  it.skipIf(!zpy)(`zarr-python reads what we write, for every codec, with identical values${pythonSkipNote('zarr', 'numpy')}`, async () => {
    const r = rng(seed + 1);
    const shape: Vec3 = [7, 9, 11];
    for (const compression of compressions) {
      const data = randomVoxels('uint16', 7 * 9 * 11, r);
      const p = join(dir, `forpy-${compression}.zarr`);
      const meta: VolumeMeta = { shape, dtype: 'uint16', voxelSize: [3, 1, 1], unit: 'micrometer', origin: [0, 0, 0] };
      await (await writeImage(p, meta, data, 2, compression, [4, 4, 4])).finalize();
      const out = runPython(
        `
import sys, json, zarr, numpy as np
g = zarr.open_group(sys.argv[1], mode='r')
a = g['0']
ms = g.attrs['multiscales'][0]
print(json.dumps({'shape': list(a.shape), 'dtype': str(a.dtype), 'chunks': list(a.chunks), 'codec': a.compressor.codec_id if a.compressor else None,
                  'values': a[:].ravel().tolist(), 'axes': [x['name'] for x in ms['axes']], 'unit': ms['axes'][0].get('unit'),
                  'scale': ms['datasets'][0]['coordinateTransformations'][0]['scale']}))
`,
        p,
      );
      const got = JSON.parse(out);
      expect(got.shape).toEqual(shape);
      expect(got.dtype).toBe('uint16');
      expect(got.chunks).toEqual([4, 4, 4]);
      expect(got.codec).toBe(compression === 'none' ? null : compression);
      expect(got.values).toEqual(Array.from(data));
      expect(got.axes).toEqual(['z', 'y', 'x']);
      expect(got.unit).toBe('micrometer');
      expect(got.scale).toEqual([3, 1, 1]);
    }
  });

  it.skipIf(!zpy)(
    `we read zarr-python's default Blosc-LZ4 output, C and F order, '.' and '/' chunk keys${pythonSkipNote('zarr', 'numpy')}`,
    async () => {
      runPython(
        `
import sys, os, zarr, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(${seed})
a = rng.integers(0, 65535, size=(6, 10, 13)).astype('uint16')
g = zarr.open_group(os.path.join(out, 'py.zarr'), mode='w')
g.create_dataset('0', data=a, chunks=(4, 4, 4))
g.create_dataset('1', data=a[::2, ::2, ::2], chunks=(4, 4, 4), order='F', dimension_separator='/')
g.attrs['multiscales'] = [{'version': '0.4', 'axes': [{'name': n, 'type': 'space', 'unit': 'micrometer'} for n in 'zyx'],
  'datasets': [{'path': str(l), 'coordinateTransformations': [{'type': 'scale', 'scale': [0.5 * 2 ** l] * 3}]} for l in range(2)]}]
zarr.save_array(os.path.join(out, 'plain.zarr'), rng.normal(size=(3, 4, 5)).astype('float32'), chunks=(2, 2, 2))
a.astype('<f8').tofile(os.path.join(out, 'py.f64'))
np.asarray(zarr.open(os.path.join(out, 'plain.zarr'))[:]).astype('<f8').tofile(os.path.join(out, 'plain.f64'))
print(zarr.open(os.path.join(out, 'py.zarr'))['0'].compressor)
`,
        dir,
      );
      const want = new Float64Array((await readFile(join(dir, 'py.f64'))).buffer.slice(0));
      const l0 = await openZarr(join(dir, 'py.zarr'));
      expect(l0.levels[0]!.compression).toBe('blosc(lz4, clevel 5)');
      expect(l0.voxelSize).toEqual([0.5, 0.5, 0.5]);
      expect(Array.from(await l0.readBox(makeBox([0, 0, 0], l0.shape)))).toEqual(Array.from(want));
      const l1 = await openZarr(join(dir, 'py.zarr'), { level: 1 });
      expect(l1.shape).toEqual([3, 5, 7]);
      expect(l1.voxelSize).toEqual([1, 1, 1]);
      const v1 = await l1.readBox(makeBox([0, 0, 0], l1.shape));
      for (let z = 0; z < 3; z++)
        for (let y = 0; y < 5; y++)
          for (let x = 0; x < 7; x++) {
            expect(v1[(z * 5 + y) * 7 + x]).toBe(want[(2 * z * 10 + 2 * y) * 13 + 2 * x]);
          }
      const plain = await openVolume(join(dir, 'plain.zarr'));
      expect(plain.format).toBe('zarr');
      expect(Array.from(await plain.readBox(makeBox([0, 0, 0], plain.shape)))).toEqual(
        Array.from(Float32Array.from(new Float64Array((await readFile(join(dir, 'plain.f64'))).buffer.slice(0)))),
      );
    },
  );
});

describe('remote OME-Zarr over HTTP', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const p = join(dir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
      stat(p)
        .then((s) => {
          if (!s.isFile()) throw new Error('not a file');
          res.writeHead(200, { 'content-length': s.size });
          createReadStream(p).pipe(res);
        })
        .catch(() => {
          res.writeHead(404);
          res.end();
        });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  it('reads an image through zarrita FetchStore', async () => {
    const data = Uint8Array.from({ length: 5 * 6 * 7 }, (_, i) => (i * 13) % 256);
    const meta: VolumeMeta = { shape: [5, 6, 7], dtype: 'uint8', voxelSize: [1, 2, 3], unit: 'micrometer', origin: [0, 0, 0] };
    for (const zarrFormat of [2, 3] as const) {
      await (await writeImage(join(dir, `http-v${zarrFormat}.zarr`), meta, data, zarrFormat, 'zstd', [2, 4, 4])).finalize();
      const v = await openVolume(`${base}/http-v${zarrFormat}.zarr`);
      expect(v.shape).toEqual([5, 6, 7]);
      expect(v.voxelSize).toEqual([1, 2, 3]);
      expect(Array.from(await v.readBox(makeBox([0, 0, 0], v.shape)))).toEqual(Array.from(data));
    }
    const missing = await openVolume(`${base}/nothing.zarr`).catch((e: unknown) => e);
    expect(isVolumeIoError(missing, 'NotFound')).toBe(true);
  });
});

describe('bad Zarr input', () => {
  const meta: VolumeMeta = { shape: [4, 4, 4], dtype: 'uint8', voxelSize: [1, 1, 1], unit: '', origin: [0, 0, 0] };
  const fresh = async (name: string, zarrFormat: 2 | 3 = 2): Promise<string> => {
    const p = join(dir, name);
    await (await writeImage(p, meta, new Uint8Array(64).fill(5), zarrFormat, 'gzip', [2, 2, 2])).finalize();
    return p;
  };

  it('a missing chunk is the fill value by default and an error when asked for strictness', async () => {
    for (const zarrFormat of [2, 3] as const) {
      const p = await fresh(`missing-v${zarrFormat}.zarr`, zarrFormat);
      const key = zarrFormat === 2 ? join(p, '0', '1', '0', '1') : join(p, '0', 'c', '1', '0', '1');
      await rm(key);
      const lax = await openZarr(p);
      const all = await lax.readBox(makeBox([0, 0, 0], [4, 4, 4]));
      expect(all[(2 * 4 + 0) * 4 + 2]).toBe(0);
      expect(all[0]).toBe(5);
      const strict = await openZarr(p, { missingChunks: 'error' });
      const err = await strict.readBox(makeBox([0, 0, 0], [4, 4, 4])).catch((e: unknown) => e);
      expect(isVolumeIoError(err, 'MissingChunk')).toBe(true);
      expect(String(err)).toContain(zarrFormat === 2 ? '0/1/0/1' : '0/c/1/0/1');
    }
  });

  it('a corrupt chunk is named', async () => {
    const p = await fresh('corrupt.zarr');
    await writeFile(join(p, '0', '0', '1', '0'), 'this is not gzip');
    const err = await (await openZarr(p)).readBox(makeBox([0, 0, 0], [4, 4, 4])).catch((e: unknown) => e);
    expect(isVolumeIoError(err, 'Corrupt')).toBe(true);
    expect(String(err)).toMatch(/corrupt\.zarr\/0.*chunk 0\/1\/0/);
  });

  it('an unknown codec is refused at open, naming the metadata file', async () => {
    const p = await fresh('codec.zarr');
    const f = join(p, '0', '.zarray');
    const m = JSON.parse(await readFile(f, 'utf8'));
    m.compressor = { id: 'imaginary-codec' };
    await writeFile(f, JSON.stringify(m));
    const err = await openZarr(p).catch((e: unknown) => e);
    expect(isVolumeIoError(err, 'Unsupported')).toBe(true);
    expect(String(err)).toMatch(/\.zarray.*imaginary-codec/);
  });

  it('metadata that is not JSON is named', async () => {
    const p = await fresh('json.zarr');
    await writeFile(join(p, '.zattrs'), '{"multiscales": [oops');
    const err = await openZarr(p).catch((e: unknown) => e);
    expect(isVolumeIoError(err, 'InvalidMetadata')).toBe(true);
    expect(String(err)).toMatch(/json\.zarr\/\.zattrs.*not valid JSON/);
    const q = await fresh('json3.zarr', 3);
    await writeFile(join(q, '0', 'zarr.json'), 'nope');
    expect(String(await openZarr(q).catch((e: unknown) => e))).toMatch(/json3\.zarr\/0\/zarr\.json.*not valid JSON/);
  });

  it('a group without multiscales, and a folder without Zarr metadata, are told apart', async () => {
    const p = await fresh('nomulti.zarr');
    await writeFile(join(p, '.zattrs'), '{}');
    expect(isVolumeIoError(await openZarr(p).catch((e: unknown) => e), 'InvalidMetadata')).toBe(true);
    expect(isVolumeIoError(await openZarr(join(dir, 'nonexistent.zarr')).catch((e: unknown) => e), 'NotFound')).toBe(true);
  });
});

describe('atomic file store', () => {
  it('replaces a key whole and leaves no temporary files', async () => {
    const s = new AtomicFileStore(join(dir, 'store'));
    await s.set('/a/b/c', new Uint8Array([1, 2, 3]));
    await Promise.all(Array.from({ length: 20 }, (_, i) => s.set('/a/b/c', new Uint8Array(1000).fill(i))));
    const got = await s.get('/a/b/c');
    expect(got!.length).toBe(1000);
    expect(new Set(got).size).toBe(1);
    expect(await readdir(join(dir, 'store', 'a', 'b'))).toEqual(['c']);
    expect(await s.get('/a/nothing')).toBeUndefined();
    expect(await s.getRange('/a/b/c', { suffixLength: 4 })).toHaveLength(4);
    await expect(s.set('/../escape', new Uint8Array(1))).rejects.toThrow(/leaves the store/);
  });
});
