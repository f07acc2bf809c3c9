import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVolumeIoError } from '../../src/io/errors.js';
import { MetaImageSink } from '../../src/io/metaimage-write.js';
import { openVolume } from '../../src/io/open.js';
import { sampleReadType, type SampleType } from '../../src/io/sample-type.js';
import type { Affine, VolumeMeta, VoxelArray } from '../../src/io/volume.js';
import { convertToOmeZarr } from '../../src/pipeline/convert.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { freshSeed, rng } from '../helpers/random.js';
import { pythonHas, pythonSkipNote, runPython, tempDir } from './helpers.js';
import { roundAffine, roundVec, sampleData, swapped, voxels } from './sample-data.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('rhizoct-mha-')));
afterAll(() => cleanup());

const seed = freshSeed();
const vtk = pythonHas('vtkmodules.vtkIOImage', 'numpy');
const vtkNote = pythonSkipNote('vtkmodules.vtkIOImage', 'numpy');
const whole = (shape: Vec3) => makeBox([0, 0, 0], shape);

const NUMPY: Partial<Record<SampleType, string>> = {
  int8: 'int8',
  uint8: 'uint8',
  int16: 'int16',
  uint16: 'uint16',
  int32: 'int32',
  uint32: 'uint32',
  float32: 'float32',
  float64: 'float64',
};

/**
 * VTK writes .mha and .mhd (+ .raw / .zraw), plain and compressed, from raw little-endian
 * bytes; arguments come in groups of six: raw file, numpy type, nx, ny, nz, output prefix.
 */
const VTK_WRITE = `
import sys, numpy as np
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkIOImage import vtkMetaImageWriter
from vtkmodules.util import numpy_support as ns
args = sys.argv[1:]
for k in range(0, len(args), 6):
    raw, dtype, nx, ny, nz, out = args[k], args[k + 1], int(args[k + 2]), int(args[k + 3]), int(args[k + 4]), args[k + 5]
    a = np.fromfile(raw, dtype='<' + np.dtype(dtype).str[1:])
    img = vtkImageData()
    img.SetDimensions(nx, ny, nz)
    img.SetSpacing(0.5, 0.25, 2)
    img.SetOrigin(1, 2, 3)
    img.GetPointData().SetScalars(ns.numpy_to_vtk(a, deep=True))
    for name, comp in [('a.mha', False), ('b.mha', True), ('c.mhd', False), ('d.mhd', True)]:
        w = vtkMetaImageWriter()
        w.SetFileName(out + name)
        if name.endswith('.mhd'):
            w.SetRAWFileName(out + name.replace('.mhd', '.zraw' if comp else '.raw'))
        w.SetCompression(comp)
        w.SetInputData(img)
        w.Write()
`;

/** VTK reads MetaImages: dimensions, spacing, origin and values of each file named. */
const VTK_READ = `
import sys, json
from vtkmodules.vtkIOImage import vtkMetaImageReader
from vtkmodules.util import numpy_support as ns
out = []
for f in sys.argv[1:]:
    r = vtkMetaImageReader(); r.SetFileName(f); r.Update()
    o = r.GetOutput()
    out.append({'dims': o.GetDimensions(), 'spacing': o.GetSpacing(), 'origin': o.GetOrigin(), 'values': ns.vtk_to_numpy(o.GetPointData().GetScalars()).ravel().tolist()})
print(json.dumps(out))
`;

/** VTK's spacing (0.5, 0.25, 2) and origin (1, 2, 3), in ITK's LPS world, as rhizoct's RAS. */
const VTK_RAS: Affine = [
  [-0.5, 0, 0, -1],
  [0, -0.25, 0, -2],
  [0, 0, 2, 3],
  [0, 0, 0, 1],
];

describe('MetaImage written by VTK (vtkMetaImageWriter), read by us', () => {
  it.skipIf(!vtk)(`every type, .mha and .mhd + .raw/.zraw, plain and zlib-compressed${vtkNote}`, async () => {
    const r = rng(seed);
    const [nx, ny, nz] = [7, 6, 5];
    const types = Object.entries(NUMPY) as [SampleType, string][];
    const made = new Map<SampleType, number[]>();
    const args: string[] = [];
    for (const [t, np] of types) {
      const { bytes, values } = sampleData(t, nx * ny * nz, r);
      const raw = join(dir, `vtk-${t}.bin`);
      await writeFile(raw, bytes);
      made.set(t, values);
      args.push(raw, np, `${nx}`, `${ny}`, `${nz}`, join(dir, `vtk-${t}-`));
    }
    runPython(VTK_WRITE, ...args);
    for (const [t] of types) {
      const values = made.get(t)!;
      for (const name of ['a.mha', 'b.mha', 'c.mhd', 'd.mhd']) {
        const label = `${t} ${name}`;
        const v = await openVolume(join(dir, `vtk-${t}-${name}`));
        try {
          expect(v.format, label).toBe('metaimage');
          expect(v.shape, label).toEqual([nz, ny, nx]);
          expect(v.dtype, label).toBe(sampleReadType(t));
          expect(roundVec(v.voxelSize), label).toEqual([2, 0.25, 0.5]);
          expect(v.unit, label).toBe('millimeter');
          expect(roundVec(v.origin), label).toEqual([3, -2, -1]);
          expect(roundAffine(v.affine), label).toEqual(VTK_RAS);
          expect(Array.from(await v.readBox(whole(v.shape))), label).toEqual(values);
          const part = await v.readBox(makeBox([2, 1, 3], [2, 4, 3]));
          const want: number[] = [];
          for (let z = 2; z < 4; z++) for (let y = 1; y < 5; y++) for (let x = 3; x < 6; x++) want.push(values[(z * ny + y) * nx + x]!);
          expect(Array.from(part), label).toEqual(want);
        } finally {
          await v.close();
        }
      }
    }
  });

  it.skipIf(!vtk)(`a larger compressed volume streams slab by slab, forwards${vtkNote}`, async () => {
    const [nx, ny, nz] = [96, 80, 40];
    const { bytes, values } = sampleData('uint16', nx * ny * nz, rng(seed + 1));
    const raw = join(dir, 'big.bin');
    await writeFile(raw, bytes);
    runPython(VTK_WRITE, raw, 'uint16', `${nx}`, `${ny}`, `${nz}`, join(dir, 'big-'));
    const v = await openVolume(join(dir, 'big-d.mhd'));
    for (let z = 0; z < nz; z += 7) {
      const d = Math.min(7, nz - z);
      const got = await v.readBox(makeBox([z, 0, 0], [d, ny, nx]));
      expect(Array.from(got.subarray(0, 50)), `slab ${z}`).toEqual(values.slice(z * ny * nx, z * ny * nx + 50));
      expect(got[got.length - 1], `slab ${z}`).toBe(values[(z + d) * ny * nx - 1]);
    }
    await v.close();
  });
});

function metaFor(dtype: VolumeMeta['dtype'], shape: Vec3, affine?: Affine): VolumeMeta {
  return { shape, dtype, voxelSize: [40, 20, 50], unit: 'micrometer', origin: [300, -200, 100], ...(affine ? { affine } : {}) };
}

async function writeOurs(path: string, meta: VolumeMeta, data: VoxelArray, compression: 'gzip' | 'none'): Promise<void> {
  const s = await MetaImageSink.create(path, meta, { overwrite: true, compression });
  const [nz, ny, nx] = meta.shape;
  const h = Math.floor(nz / 2);
  await s.writeBox(makeBox([h, 0, 0], [nz - h, ny, nx]), data.subarray(h * ny * nx) as VoxelArray);
  await s.writeBox(makeBox([0, 0, 0], [h, ny, nx]), data.subarray(0, h * ny * nx) as VoxelArray);
  await s.finalize();
}

describe('MetaImage written by us', () => {
  it.skipIf(!vtk)(
    `is read by VTK's vtkMetaImageReader with the same dimensions, spacing (mm), origin (LPS) and values${vtkNote}`,
    async () => {
      const r = rng(seed + 2);
      const shape: Vec3 = [5, 6, 7];
      const written: { path: string; label: string; data: VoxelArray }[] = [];
      for (const dtype of ['uint8', 'int16', 'uint16', 'float32'] as const) {
        const data = voxels(dtype, 5 * 6 * 7, r);
        for (const [name, compression] of [
          ['a.mha', 'gzip'],
          ['b.mha', 'none'],
          ['c.mhd', 'gzip'],
          ['d.mhd', 'none'],
        ] as const) {
          const path = join(dir, `ours-${dtype}-${name}`);
          await writeOurs(path, metaFor(dtype, shape), data, compression);
          written.push({ path, label: `${dtype} ${name}`, data });
        }
        const files = await readdir(dir);
        expect(files.filter((n) => n.startsWith(`ours-${dtype}-c.`)).sort()).toEqual([`ours-${dtype}-c.mhd`, `ours-${dtype}-c.zraw`]);
        expect(files.filter((n) => n.startsWith(`ours-${dtype}-d.`)).sort()).toEqual([`ours-${dtype}-d.mhd`, `ours-${dtype}-d.raw`]);
      }
      const read = JSON.parse(runPython(VTK_READ, ...written.map((w) => w.path))) as {
        dims: number[];
        spacing: number[];
        origin: number[];
        values: number[];
      }[];
      for (const [k, { path, label, data }] of written.entries()) {
        const j = read[k]!;
        expect(j.dims, label).toEqual([7, 6, 5]);
        expect(roundVec(j.spacing), label).toEqual([0.05, 0.02, 0.04]);
        expect(roundVec(j.origin), label).toEqual([-0.1, 0.2, 0.3]);
        expect(j.values, label).toEqual(Array.from(data));
        const v = await openVolume(path);
        expect(Array.from(await v.readBox(whole(shape))), label).toEqual(Array.from(data));
        expect(roundVec(v.origin), label).toEqual([0.3, -0.2, 0.1]);
        await v.close();
      }
    },
  );
});

/*
 * A hand-checked header. ITK's MetaImageIO reads TransformMatrix as the direction of each
 * axis in turn (ReadImageInformation: direction of axis i = TransformMatrix[3i .. 3i+2]), in
 * its LPS world: here axis x runs along +y (0 1 0), axis y along -x (-1 0 0), axis z along +z.
 * With ElementSpacing 0.5 0.25 2 and Offset 1 2 3, voxel (i, j, k) lies at LPS
 * (1 - 0.25 j, 2 + 0.5 i, 3 + 2 k), that is RAS (-1 + 0.25 j, -2 - 0.5 i, 3 + 2 k).
 * The data, big-endian (BinaryDataByteOrderMSB = True) uint16 7, 1007, 2007, … behind a 16-byte
 * header the data file starts with (HeaderSize = 16).
 */
const HAND_HEADER = `ObjectType = Image
NDims = 3
BinaryData = True
BinaryDataByteOrderMSB = True
CompressedData = False
TransformMatrix = 0 1 0 -1 0 0 0 0 1
Offset = 1 2 3
CenterOfRotation = 0 0 0
ElementSpacing = 0.5 0.25 2
DimSize = 4 3 2
HeaderSize = 16
ElementType = MET_USHORT
ElementDataFile = hand.raw
`;
const HAND_RAS: Affine = [
  [0, 0.25, 0, -1],
  [-0.5, 0, 0, -2],
  [0, 0, 2, 3],
  [0, 0, 0, 1],
];

describe('MetaImage fields, hand-checked', () => {
  it('TransformMatrix, Offset, ElementSpacing, big-endian data and HeaderSize', async () => {
    const data = Uint16Array.from({ length: 24 }, (_, i) => i * 1000 + 7);
    await writeFile(join(dir, 'hand.raw'), Buffer.concat([Buffer.alloc(16, 0xee), Buffer.from(swapped(new Uint8Array(data.buffer), 2))]));
    await writeFile(join(dir, 'hand.mhd'), HAND_HEADER);
    const v = await openVolume(join(dir, 'hand.mhd'));
    expect(v.shape).toEqual([2, 3, 4]);
    expect(roundAffine(v.affine)).toEqual(HAND_RAS);
    expect(roundVec(v.voxelSize)).toEqual([2, 0.25, 0.5]);
    expect(roundVec(v.origin)).toEqual([3, -2, -1]);
    expect(Array.from(await v.readBox(whole(v.shape)))).toEqual(Array.from(data));
    expect(v.header?.TransformMatrix).toBe('0 1 0 -1 0 0 0 0 1');
    await v.close();

    // Through convert to .mha and back: every geometry field the same, in the same order.
    const out = join(dir, 'hand-out.mha');
    await convertToOmeZarr(join(dir, 'hand.mhd'), out, { overwrite: true, compression: 'none' });
    const text = (await readFile(out)).toString('latin1');
    const get = (k: string): string | undefined => new RegExp(`^${k} = (.*)$`, 'm').exec(text)?.[1];
    expect(get('TransformMatrix')).toBe('0 1 0 -1 0 0 0 0 1');
    expect(get('Offset')).toBe('1 2 3');
    expect(get('ElementSpacing')).toBe('0.5 0.25 2');
    expect(get('DimSize')).toBe('4 3 2');
    expect(get('BinaryDataByteOrderMSB')).toBe('False');
    const w = await openVolume(out);
    expect(roundAffine(w.affine)).toEqual(HAND_RAS);
    expect(Array.from(await w.readBox(whole(w.shape)))).toEqual(Array.from(data));
    await w.close();
  });

  it('synonyms and defaults: ElementByteOrderMSB, Position, ElementSize, HeaderSize = -1, NDims = 2, no spacing', async () => {
    const data = Int16Array.from({ length: 12 }, (_, i) => i - 6);
    await writeFile(
      join(dir, 'syn.raw'),
      Buffer.concat([Buffer.from('some header of unknown length'), Buffer.from(swapped(new Uint8Array(data.buffer), 2))]),
    );
    await writeFile(
      join(dir, 'syn.mhd'),
      'NDims = 2\nDimSize = 4 3\nElementType = MET_SHORT\nElementByteOrderMSB = True\nPosition = 5 6\nElementSize = 0.1 0.2\nHeaderSize = -1\nElementDataFile = syn.raw\n',
    );
    const v = await openVolume(join(dir, 'syn.mhd'));
    expect(v.shape).toEqual([1, 3, 4]);
    expect(roundVec(v.voxelSize)).toEqual([1, 0.2, 0.1]);
    expect(roundVec(v.origin)).toEqual([0, -6, -5]);
    expect(Array.from(await v.readBox(whole(v.shape)))).toEqual(Array.from(data));
    await v.close();
    await writeFile(
      join(dir, 'plain.mha'),
      Buffer.concat([
        Buffer.from('NDims = 3\nDimSize = 2 2 1\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n'),
        Buffer.from([1, 2, 3, 4]),
      ]),
    );
    const p = await openVolume(join(dir, 'plain.mha'));
    expect([p.unit, p.voxelSize, p.origin]).toEqual(['', [1, 1, 1], [0, 0, 0]]);
    expect(Array.from(await p.readBox(whole(p.shape)))).toEqual([1, 2, 3, 4]);
    await p.close();
  });

  it('a volume with no unit and unit spacing is written without ElementSpacing and reads back with no unit', async () => {
    const meta: VolumeMeta = { shape: [2, 3, 4], dtype: 'uint8', voxelSize: [1, 1, 1], unit: '', origin: [0, 0, 0] };
    const data = Uint8Array.from({ length: 24 }, (_, i) => i);
    await writeOurs(join(dir, 'nounit.mha'), meta, data, 'gzip');
    expect((await readFile(join(dir, 'nounit.mha'))).toString('latin1')).not.toMatch(/ElementSpacing/);
    const v = await openVolume(join(dir, 'nounit.mha'));
    expect([v.unit, v.voxelSize, v.origin]).toEqual(['', [1, 1, 1], [0, 0, 0]]);
    expect(Array.from(await v.readBox(whole(v.shape)))).toEqual(Array.from(data));
    await v.close();
  });
});

describe('bad MetaImage input: a clear error naming the file and the field, before anything is written', () => {
  const head = (extra: string): string => `ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\n${extra}`;

  async function rejects(file: string, tag: Parameters<typeof isVolumeIoError>[1], pattern: RegExp): Promise<void> {
    let err: unknown;
    try {
      const v = await openVolume(file);
      try {
        await v.readBox(whole(v.shape));
      } finally {
        await v.close();
      }
    } catch (e) {
      err = e;
    }
    expect(isVolumeIoError(err, tag), `${file}: ${String(err)}`).toBe(true);
    expect((err as Error).message).toMatch(pattern);
  }

  it('truncated data, a DimSize that lies, a type, channels, text data, a compressed size and a data file that are wrong', async () => {
    const cases: [string, string | Buffer, Parameters<typeof isVolumeIoError>[1], RegExp][] = [
      [
        'trunc.mha',
        Buffer.concat([Buffer.from(head('ElementType = MET_USHORT\nElementDataFile = LOCAL\n')), Buffer.alloc(40)]),
        'Truncated',
        /trunc\.mha.*DimSize = 4 3 2.*8 missing/,
      ],
      [
        'lie.mhd',
        head('ElementType = MET_FLOAT\nElementDataFile = small.raw\n'),
        'Truncated',
        /small\.raw.*DimSize = 4 3 2 with ElementType = MET_FLOAT.*lie\.mhd/,
      ],
      ['type.mha', head('ElementType = MET_STRING\nElementDataFile = LOCAL\n'), 'Unsupported', /type\.mha.*ElementType = MET_STRING/],
      [
        'rgb.mha',
        head('ElementNumberOfChannels = 3\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n'),
        'Unsupported',
        /rgb\.mha.*ElementNumberOfChannels = 3/,
      ],
      [
        'text.mha',
        head('BinaryData = False\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n'),
        'Unsupported',
        /text\.mha.*BinaryData = False/,
      ],
      [
        'zsize.mha',
        Buffer.concat([
          Buffer.from(head('CompressedData = True\nCompressedDataSize = 500\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n')),
          deflateSync(Buffer.alloc(24)),
        ]),
        'Truncated',
        /zsize\.mha.*CompressedDataSize/,
      ],
      ['nofile.mhd', head('ElementType = MET_UCHAR\nElementDataFile = gone.raw\n'), 'NotFound', /gone\.raw.*ElementDataFile.*nofile\.mhd/],
      ['noend.mha', head('ElementType = MET_UCHAR\n'), 'InvalidMetadata', /noend\.mha.*ElementDataFile/],
      [
        'dims.mha',
        head('ElementType = MET_UCHAR\nElementDataFile = LOCAL\n').replace('DimSize = 4 3 2', 'DimSize = 4 3'),
        'InvalidMetadata',
        /dims\.mha.*DimSize.*3 numbers/,
      ],
    ];
    await writeFile(join(dir, 'small.raw'), Buffer.alloc(40));
    for (const [name, content, tag, pattern] of cases) {
      await writeFile(join(dir, name), content);
      await rejects(join(dir, name), tag, pattern);
    }
    await expect(convertToOmeZarr(join(dir, 'trunc.mha'), join(dir, 'never.nrrd'))).rejects.toThrow(/trunc\.mha/);
    expect((await readdir(dir)).filter((n) => n.startsWith('never'))).toEqual([]);
  });
});
