import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVolumeIoError } from '../../src/io/errors.js';
import { lzwDecode } from '../../src/io/lzw.js';
import { naturalSort } from '../../src/io/natural-sort.js';
import { openVolume } from '../../src/io/open.js';
import { openTiffFile, openTiffFolder } from '../../src/io/tiff-stack.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { freshSeed } from '../helpers/random.js';
import { pythonHas, pythonSkipNote, runPython, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const seed = freshSeed();
const tifffile = pythonHas('tifffile', 'numpy');
const pil = pythonHas('PIL', 'numpy');

async function expected(path: string): Promise<Float64Array> {
  return new Float64Array((await readFile(path)).buffer.slice(0));
}

async function readAll(path: string): Promise<{ shape: Vec3; dtype: string; data: ArrayLike<number> }> {
  const v = await openVolume(path);
  const data = await v.readBox(makeBox([0, 0, 0], v.shape));
  await v.close();
  return { shape: v.shape, dtype: v.dtype, data };
}

describe('TIFF stacks written by tifffile', () => {
  it.skipIf(!tifffile)(
    `folders of slices and multi-page files, every type, both byte orders, deflate with predictor${pythonSkipNote('tifffile', 'numpy')}`,
    async () => {
      const script = `
import sys, os, numpy as np, tifffile
out = sys.argv[1]
rng = np.random.default_rng(${seed})
cases = []
for dt in ['uint8', 'uint16', 'int16', 'float32']:
    for order in ['<', '>']:
        for comp in [None, 'zlib']:
            name = f'{dt}_{"le" if order == "<" else "be"}_{comp or "raw"}'
            info = np.iinfo(dt) if dt != 'float32' else None
            a = (rng.integers(info.min, info.max, size=(5, 9, 13), endpoint=True) if info else rng.normal(size=(5, 9, 13)) * 1000).astype(dt)
            d = os.path.join(out, name)
            os.makedirs(d)
            # tifffile needs imagecodecs for the float predictor, so floats go without one.
            pred = comp is not None and dt != 'float32'
            # Slice names whose plain sort differs from the natural one: s9 < s10.
            for z in range(5):
                tifffile.imwrite(os.path.join(d, f's{z * 5 + 1}.tif'), a[z], byteorder=order, compression=comp, predictor=pred, rowsperstrip=4)
            tifffile.imwrite(os.path.join(out, name + '.tif'), a, byteorder=order, compression=comp, predictor=pred, rowsperstrip=3)
            a.astype('<f8').tofile(os.path.join(out, name + '.f64'))
            cases.append(name)
# Tiled pages.
t = rng.integers(0, 65535, size=(3, 40, 50)).astype('uint16')
tifffile.imwrite(os.path.join(out, 'tiled.tif'), t, tile=(16, 16), photometric='minisblack')
t.astype('<f8').tofile(os.path.join(out, 'tiled.f64'))
print(' '.join(cases))
`;
      const cases = runPython(script, dir).trim().split(' ');
      expect(cases.length).toBe(16);
      for (const name of cases) {
        const want = await expected(join(dir, `${name}.f64`));
        for (const path of [join(dir, name), join(dir, `${name}.tif`)]) {
          const got = await readAll(path);
          expect(got.shape, path).toEqual([5, 9, 13]);
          expect(got.dtype, path).toBe(name.split('_')[0]);
          const w = got.dtype === 'float32' ? Float32Array.from(want) : want;
          expect(Array.from(got.data), path).toEqual(Array.from(w));
        }
      }
      const tiled = await readAll(join(dir, 'tiled.tif'));
      expect(tiled.shape).toEqual([3, 40, 50]);
      expect(Array.from(tiled.data)).toEqual(Array.from(await expected(join(dir, 'tiled.f64'))));
    },
  );

  it.skipIf(!tifffile)(`box reads agree with the whole volume${pythonSkipNote('tifffile', 'numpy')}`, async () => {
    const v = await openTiffFolder(join(dir, 'uint16_be_zlib'));
    const all = await v.readBox(makeBox([0, 0, 0], v.shape));
    const box = makeBox([1, 3, 4], [3, 5, 7]);
    const part = await v.readBox(box);
    for (let z = 0; z < 3; z++)
      for (let y = 0; y < 5; y++)
        for (let x = 0; x < 7; x++) {
          expect(part[(z * 5 + y) * 7 + x]).toBe(all[((z + 1) * 9 + y + 3) * 13 + x + 4]);
        }
    await expect(v.readBox(makeBox([4, 0, 0], [2, 1, 1]))).rejects.toThrow(/does not fit/);
    await v.close();
  });
});

describe('TIFF written by Pillow (libtiff LZW and PackBits)', () => {
  it.skipIf(!pil)(`decodes LZW and PackBits slices exactly${pythonSkipNote('PIL', 'numpy')}`, async () => {
    const script = `
import sys, os, numpy as np
from PIL import Image
out = sys.argv[1]
rng = np.random.default_rng(${seed})
for dt in ['uint8', 'uint16', 'float32']:
    for comp in ['tiff_lzw', 'packbits']:
        d = os.path.join(out, f'pil_{dt}_{comp}')
        os.makedirs(d)
        # Smooth data with repeats, so LZW builds long codes and PackBits runs.
        base = (np.add.outer(np.arange(61), np.arange(47)) // 3).astype('float64')
        vol = []
        for z in range(3):
            a = (base * (z + 1) + rng.integers(0, 3, size=base.shape)).astype(dt)
            Image.fromarray(a).save(os.path.join(d, f'{z:03d}.tiff'), compression=comp)
            vol.append(a)
        np.stack(vol).astype('<f8').tofile(d + '.f64')
`;
    runPython(script, dir);
    for (const dt of ['uint8', 'uint16', 'float32']) {
      for (const comp of ['tiff_lzw', 'packbits']) {
        const d = join(dir, `pil_${dt}_${comp}`);
        const got = await readAll(d);
        expect(got.shape, d).toEqual([3, 61, 47]);
        expect(Array.from(got.data), d).toEqual(Array.from(await expected(`${d}.f64`)));
      }
    }
  });
});

describe('bad TIFF input', () => {
  it.skipIf(!tifffile)(`slices of mixed sizes or types are refused, naming the slice${pythonSkipNote('tifffile', 'numpy')}`, async () => {
    runPython(
      `
import sys, os, numpy as np, tifffile
out = sys.argv[1]
for name, shapes, dts in [('mixed_size', [(8, 8), (8, 8), (8, 9)], ['uint8'] * 3), ('mixed_type', [(8, 8)] * 3, ['uint8', 'uint8', 'uint16'])]:
    os.makedirs(os.path.join(out, name))
    for z, (s, dt) in enumerate(zip(shapes, dts)):
        tifffile.imwrite(os.path.join(out, name, f'{z}.tif'), np.zeros(s, dt))
os.makedirs(os.path.join(out, 'rgb'))
tifffile.imwrite(os.path.join(out, 'rgb', '0.tif'), np.zeros((8, 8, 3), 'uint8'), photometric='rgb')
`,
      dir,
    );
    const size = await openTiffFolder(join(dir, 'mixed_size')).catch((e: unknown) => e);
    expect(isVolumeIoError(size, 'Inconsistent')).toBe(true);
    expect(String(size)).toMatch(/2\.tif.*9×8.*8×8/);
    const type = await openTiffFolder(join(dir, 'mixed_type')).catch((e: unknown) => e);
    expect(isVolumeIoError(type, 'Inconsistent')).toBe(true);
    expect(String(type)).toMatch(/2\.tif.*uint16.*uint8/);
    const rgb = await openTiffFolder(join(dir, 'rgb')).catch((e: unknown) => e);
    expect(isVolumeIoError(rgb, 'Unsupported')).toBe(true);
  });

  it('wrong magic, truncated strips and looping IFDs', async () => {
    const bad = join(dir, 'bad');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'notiff.tif'), Buffer.from('II\x2c\x00garbage--garbage'));
    expect(isVolumeIoError(await openTiffFile(join(bad, 'notiff.tif')).catch((e: unknown) => e), 'UnknownFormat')).toBe(true);
    // A minimal 4×2 uint8 page whose strip points past the end of the file.
    const b = Buffer.alloc(8 + 2 + 8 * 12 + 4);
    b.write('II', 0);
    b.writeUInt16LE(42, 2);
    b.writeUInt32LE(8, 4);
    b.writeUInt16LE(8, 8);
    const tags: [number, number, number][] = [
      [256, 3, 4],
      [257, 3, 2],
      [258, 3, 8],
      [259, 3, 1],
      [262, 3, 1],
      [273, 4, 5000],
      [278, 3, 2],
      [279, 4, 8],
    ];
    tags.forEach(([tag, type, value], i) => {
      const o = 10 + 12 * i;
      b.writeUInt16LE(tag, o);
      b.writeUInt16LE(type, o + 2);
      b.writeUInt32LE(1, o + 4);
      if (type === 3) b.writeUInt16LE(value, o + 8);
      else b.writeUInt32LE(value, o + 8);
    });
    await writeFile(join(bad, 'short.tif'), b);
    const v = await openTiffFile(join(bad, 'short.tif'));
    const err = await v.readBox(makeBox([0, 0, 0], v.shape)).catch((e: unknown) => e);
    await v.close();
    expect(isVolumeIoError(err, 'Truncated')).toBe(true);
    expect(String(err)).toMatch(/short\.tif.*strip 0/);
    b.writeUInt32LE(8, 10 + 8 * 12); // next IFD = itself
    await writeFile(join(bad, 'loop.tif'), b);
    expect(String(await openTiffFile(join(bad, 'loop.tif')).catch((e: unknown) => e))).toMatch(/loops/);
  });

  /** Packs 9-bit LZW codes MSB first. */
  const pack = (codes: number[]): Uint8Array => {
    const bits = codes.map((c) => c.toString(2).padStart(9, '0')).join('');
    const out = new Uint8Array(Math.ceil(bits.length / 8));
    for (let i = 0; i < bits.length; i++) if (bits[i] === '1') out[i >> 3]! |= 0x80 >> (i & 7);
    return out;
  };

  it('decodes a hand-made LZW stream, KwKwK case included', () => {
    // "ABABABA": A, B, AB(258), ABA(260 = the code being defined), EOI.
    expect(Array.from(lzwDecode(pack([256, 65, 66, 258, 260, 257]), 7))).toEqual([65, 66, 65, 66, 65, 66, 65]);
  });

  it('a corrupt LZW stream is an error, not garbage', () => {
    // Code 300 before the table holds it.
    expect(() => lzwDecode(pack([256, 65, 300, 257]), 16)).toThrow(/beyond the table/);
    expect(() => lzwDecode(pack([256, 65, 66, 257]), 16)).toThrow(/decodes to 2 bytes, expected 16/);
  });
});

describe('natural sort', () => {
  it('orders digit runs by value', () => {
    expect(naturalSort(['s10.tif', 's9.tif', 's1.tif', 'a100', 'a20b', 'a20a', 'x007', 'x7'])).toEqual([
      'a20a',
      'a20b',
      'a100',
      's1.tif',
      's9.tif',
      's10.tif',
      'x7',
      'x007',
    ]);
  });
});

describe('voxel size from ImageJ TIFF metadata', () => {
  it.skipIf(!tifffile)(`reads spacing, resolution and unit${pythonSkipNote('tifffile', 'numpy')}`, async () => {
    runPython(
      `
import sys, os, numpy as np, tifffile
tifffile.imwrite(os.path.join(sys.argv[1], 'ij.tif'), np.zeros((4, 6, 8), 'uint16'), imagej=True,
                 resolution=(1 / 0.5, 1 / 0.25), metadata={'spacing': 2.0, 'unit': 'um', 'axes': 'ZYX'})
`,
      dir,
    );
    const v = await openVolume(join(dir, 'ij.tif'));
    expect(v.shape).toEqual([4, 6, 8]);
    expect(v.unit).toBe('micrometer');
    expect(v.voxelSize.map((n) => Number(n.toFixed(6)))).toEqual([2, 0.25, 0.5]);
    await v.close();
  });
});
