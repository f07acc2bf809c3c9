import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVolumeIoError } from '../../src/io/errors.js';
import { NrrdSink } from '../../src/io/nrrd-write.js';
import { openVolume } from '../../src/io/open.js';
import { sampleReadType, type SampleType } from '../../src/io/sample-type.js';
import type { Affine, VolumeMeta, VoxelArray } from '../../src/io/volume.js';
import { convertToOmeZarr } from '../../src/pipeline/convert.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { freshSeed, rng } from '../helpers/random.js';
import { commandExists, commandSkipNote, pythonHas, pythonSkipNote, runCommand, runPython, tempDir } from './helpers.js';
import { roundAffine, roundVec, sampleData, swapped, voxels } from './sample-data.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('rhizoct-nrrd-')));
afterAll(() => cleanup());

const seed = freshSeed();
const unu = commandExists('teem-unu');
const unuNote = commandSkipNote('teem-unu', 'teem-apps');
const vtk = pythonHas('vtkmodules.vtkIOImage', 'numpy');
const vtkNote = pythonSkipNote('vtkmodules.vtkIOImage', 'numpy');

const whole = (shape: Vec3) => makeBox([0, 0, 0], shape);

/** The text of a NRRD header (up to its empty line) and the vectors of a field such as space directions. */
function headerOf(bytes: Buffer): string {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\n\n');
  return end < 0 ? text : text.slice(0, end);
}
function field(header: string, name: string): string | undefined {
  return new RegExp(`^${name}: (.*)$`, 'm').exec(header)?.[1]?.trim();
}
function vectorsOf(text: string | undefined): number[][] {
  return [...(text ?? '').matchAll(/\(([^)]*)\)/g)].map((m) => m[1]!.split(',').map(Number));
}
function closeTo(a: number[][], b: number[][], tol = 1e-12): boolean {
  return a.length === b.length && a.every((r, i) => r.length === b[i]!.length && r.every((v, j) => Math.abs(v - b[i]![j]!) <= tol));
}

/*
 * Geometry used throughout: a rotation of 53.13° about z, voxels 0.5 × 0.25 × 2 mm, in the
 * left-posterior-superior world teem's -spc LPS names. Axis x points along (0.3, 0.4, 0),
 * axis y along (-0.2, 0.15, 0), axis z along (0, 0, 2); voxel (0,0,0) sits at (10, -20, 30).
 * In rhizoct's (NIfTI's) RAS world x and y are negated.
 */
const LPS_DIRS = '(0.3,0.4,0) (-0.2,0.15,0) (0,0,2)';
const LPS_ORIGIN = '(10,-20,30)';
const RAS_AFFINE: Affine = [
  [-0.3, 0.2, 0, -10],
  [-0.4, -0.15, 0, 20],
  [0, 0, 2, 30],
  [0, 0, 0, 1],
];

const UNU_TYPES: [string, SampleType][] = [
  ['signed char', 'int8'],
  ['uchar', 'uint8'],
  ['short', 'int16'],
  ['ushort', 'uint16'],
  ['int', 'int32'],
  ['uint', 'uint32'],
  ['float', 'float32'],
  ['double', 'float64'],
];

describe('NRRD written by teem-unu (the reference implementation), read by us', () => {
  it.skipIf(!unu)(
    `every type, raw and gzip, little and big endian, attached and detached, with oblique LPS geometry${unuNote}`,
    async () => {
      const r = rng(seed);
      const [nx, ny, nz] = [7, 6, 5];
      for (const [unuType, t] of UNU_TYPES) {
        const { bytes, values } = sampleData(t, nx * ny * nz, r);
        const raw = join(dir, `${unuType}.raw`);
        await writeFile(raw, bytes);
        const base = join(dir, `${unuType}.nrrd`);
        runCommand('teem-unu', [
          'make',
          '-i',
          raw,
          '-t',
          unuType,
          '-s',
          `${nx}`,
          `${ny}`,
          `${nz}`,
          '-e',
          'raw',
          '-en',
          'little',
          '-spc',
          'LPS',
          '-dirs',
          LPS_DIRS,
          '-orig',
          LPS_ORIGIN,
          '-spu',
          'mm',
          'mm',
          'mm',
          '-o',
          base,
        ]);
        const variants: [string, string[]][] = [
          [base, []],
          [join(dir, `${unuType}-gz-big.nrrd`), ['-e', 'gzip', '-en', 'big']],
          [join(dir, `${unuType}-raw-big.nhdr`), ['-e', 'raw', '-en', 'big']],
          [join(dir, `${unuType}-gz.nhdr`), ['-e', 'gzip', '-en', 'little']],
        ];
        for (const [file, args] of variants) {
          if (args.length) runCommand('teem-unu', ['save', '-i', base, '-f', 'nrrd', ...args, '-o', file]);
          const label = `${unuType} ${file.split('/').pop()}`;
          const v = await openVolume(file);
          try {
            expect(v.format, label).toBe('nrrd');
            expect(v.shape, label).toEqual([nz, ny, nx]);
            expect(v.dtype, label).toBe(sampleReadType(t));
            expect(roundVec(v.voxelSize), label).toEqual([2, 0.25, 0.5]);
            expect(v.unit, label).toBe('millimeter');
            expect(roundVec(v.origin), label).toEqual([30, 20, -10]);
            expect(roundAffine(v.affine), label).toEqual(RAS_AFFINE);
            expect(Array.from(await v.readBox(whole(v.shape))), label).toEqual(values);
            // A box inside reads the same voxels as the whole.
            const part = await v.readBox(makeBox([1, 2, 3], [3, 2, 4]));
            const want: number[] = [];
            for (let z = 1; z < 4; z++) for (let y = 2; y < 4; y++) for (let x = 3; x < 7; x++) want.push(values[(z * ny + y) * nx + x]!);
            expect(Array.from(part), label).toEqual(want);
          } finally {
            await v.close();
          }
        }
      }
    },
  );

  it.skipIf(!unu)(`RAS space, and per-axis spacings with units and axis mins, as teem writes them${unuNote}`, async () => {
    const { bytes, values } = sampleData('uint16', 6 * 5 * 4, rng(seed + 1));
    const raw = join(dir, 'g.raw');
    await writeFile(raw, bytes);
    const ras = join(dir, 'ras.nrrd');
    runCommand('teem-unu', [
      'make',
      '-i',
      raw,
      '-t',
      'ushort',
      '-s',
      '6',
      '5',
      '4',
      '-en',
      'little',
      '-spc',
      'RAS',
      '-dirs',
      '(0,0.5,0) (0.25,0,0) (0,0,-2)',
      '-orig',
      '(1,2,3)',
      '-o',
      ras,
    ]);
    const a = await openVolume(ras);
    // No space units: millimetres, as 3D Slicer and ITK take anatomical spaces.
    expect(a.unit).toBe('millimeter');
    expect(roundAffine(a.affine)).toEqual([
      [0, 0.25, 0, 1],
      [0.5, 0, 0, 2],
      [0, 0, -2, 3],
      [0, 0, 0, 1],
    ]);
    expect(a.notes?.join(' ')).toMatch(/millimetres assumed/);
    expect(Array.from(await a.readBox(whole(a.shape)))).toEqual(values);
    await a.close();

    const sp = join(dir, 'spacings.nrrd');
    runCommand('teem-unu', ['make', '-i', raw, '-t', 'ushort', '-s', '6', '5', '4', '-en', 'little', '-sp', '0.5', '0.25', '2', '-o', sp]);
    // unu make has no option for axis mins, and teem 1.12 writes its -u units empty: add both as the definition spells them.
    const text = (await readFile(sp))
      .toString('latin1')
      .replace('sizes: 6 5 4\n', 'sizes: 6 5 4\naxis mins: 10 20 30\nunits: "um" "um" "um"\n');
    await writeFile(sp, Buffer.from(text, 'latin1'));
    const b = await openVolume(sp);
    expect(b.voxelSize).toEqual([2, 0.25, 0.5]);
    expect(b.unit).toBe('micrometer');
    expect(b.origin).toEqual([30, 20, 10]);
    expect(b.affine).toBeUndefined();
    expect(Array.from(await b.readBox(whole(b.shape)))).toEqual(values);
    await b.close();
  });

  it.skipIf(!unu)(
    `line and byte skips, byte skip -1 and gzip byte skips (after decompression), read as teem reads them${unuNote}`,
    async () => {
      const { bytes, values } = sampleData('int16', 6 * 5 * 4, rng(seed + 2));
      await writeFile(join(dir, 'skip-a.bin'), Buffer.concat([Buffer.from('two lines\nof text\n'), Buffer.from('XYZ'), bytes]));
      await writeFile(join(dir, 'skip-b.bin'), Buffer.concat([Buffer.from('a binary header of some length'), bytes]));
      await writeFile(join(dir, 'skip-c.gz'), gzipSync(Buffer.concat([Buffer.from('1234567'), bytes])));
      const head = (extra: string): string => `NRRD0004\ntype: short\ndimension: 3\nsizes: 6 5 4\nendian: little\n${extra}`;
      await writeFile(join(dir, 'skip-a.nhdr'), head('encoding: raw\nline skip: 2\nbyte skip: 3\ndata file: skip-a.bin\n'));
      await writeFile(join(dir, 'skip-b.nhdr'), head('encoding: raw\nbyte skip: -1\ndata file: skip-b.bin\n'));
      await writeFile(join(dir, 'skip-c.nhdr'), head('encoding: gzip\nbyte skip: 7\ndata file: skip-c.gz\n'));
      for (const n of ['skip-a', 'skip-b', 'skip-c']) {
        const file = join(dir, `${n}.nhdr`);
        // teem's reading of the same header is the reference.
        const teem = runCommand('teem-unu', ['save', '-i', file, '-f', 'nrrd', '-e', 'raw', '-en', 'little', '-o', '-']);
        expect(Buffer.compare(teem.subarray(teem.length - bytes.length), Buffer.from(bytes)), n).toBe(0);
        const v = await openVolume(file);
        expect(Array.from(await v.readBox(whole(v.shape))), n).toEqual(values);
        await v.close();
      }
    },
  );
});

/** Geometry of the volumes we write: oblique, in µm, in rhizoct's RAS world. */
const META_RAS: Affine = [
  [30, -16, 0, 100],
  [40, 12, 0, -200],
  [0, 0, 40, 300],
  [0, 0, 0, 1],
];
/** The same in ITK's LPS world, in mm: what the header must say. */
const LPS_MM_DIRS = [
  [-0.03, -0.04, 0],
  [0.016, -0.012, 0],
  [0, 0, 0.04],
];
const LPS_MM_ORIGIN = [-0.1, 0.2, 0.3];

function metaFor(dtype: VolumeMeta['dtype'], shape: Vec3, affine: Affine | undefined = META_RAS): VolumeMeta {
  return { shape, dtype, voxelSize: [40, 20, 50], unit: 'micrometer', origin: [300, -200, 100], ...(affine ? { affine } : {}) };
}

async function writeOurs(path: string, meta: VolumeMeta, data: VoxelArray, compression: 'gzip' | 'none'): Promise<void> {
  const s = await NrrdSink.create(path, meta, { overwrite: true, compression, description: 'test volume' });
  // Written in two boxes, out of order, to exercise staging.
  const [nz, ny, nx] = meta.shape;
  const h = Math.floor(nz / 2);
  const per = ny * nx;
  await s.writeBox(makeBox([h, 0, 0], [nz - h, ny, nx]), data.subarray(h * per) as VoxelArray);
  await s.writeBox(makeBox([0, 0, 0], [h, ny, nx]), data.subarray(0, h * per) as VoxelArray);
  await s.finalize();
}

const TEEM_NAMES: Record<string, string> = { uint8: 'unsigned char', uint16: 'unsigned short', int16: 'short', float32: 'float' };

describe('NRRD written by us', () => {
  it.skipIf(!unu)(
    `is read by teem-unu with the same values, sizes, space, directions, origin and units (all types; .nrrd and .nhdr; gzip and raw)${unuNote}`,
    async () => {
      const r = rng(seed + 3);
      const shape: Vec3 = [5, 6, 7];
      for (const dtype of ['uint8', 'int16', 'uint16', 'float32'] as const) {
        const data = voxels(dtype, 5 * 6 * 7, r);
        for (const [name, compression] of [
          ['a.nrrd', 'gzip'],
          ['b.nrrd', 'none'],
          ['c.nhdr', 'gzip'],
          ['d.nhdr', 'none'],
        ] as const) {
          const path = join(dir, `ours-${dtype}-${name}`);
          const label = `${dtype} ${name}`;
          await writeOurs(path, metaFor(dtype, shape), data, compression);
          const check = join(dir, `check-${dtype}-${name}.nrrd`);
          runCommand('teem-unu', ['save', '-i', path, '-f', 'nrrd', '-e', 'raw', '-en', 'little', '-o', check]);
          const h = headerOf(await readFile(check));
          expect(field(h, 'type'), label).toBe(TEEM_NAMES[dtype]);
          expect(field(h, 'sizes'), label).toBe('7 6 5');
          expect(field(h, 'space'), label).toBe('left-posterior-superior');
          expect(field(h, 'space units'), label).toBe('"mm" "mm" "mm"');
          expect(closeTo(vectorsOf(field(h, 'space directions')), LPS_MM_DIRS), `${label}: ${field(h, 'space directions')}`).toBe(true);
          expect(closeTo(vectorsOf(field(h, 'space origin')), [LPS_MM_ORIGIN]), `${label}: ${field(h, 'space origin')}`).toBe(true);
          const teemData = runCommand('teem-unu', ['data', check]);
          expect(Buffer.compare(teemData, Buffer.from(data.buffer, data.byteOffset, data.byteLength)), label).toBe(0);
          // And we read back what we wrote.
          const v = await openVolume(path);
          expect(Array.from(await v.readBox(whole(shape))), label).toEqual(Array.from(data));
          expect(roundAffine(v.affine, 12), label).toEqual(
            roundAffine(
              META_RAS.map((row, i) => (i < 3 ? row.map((x) => x / 1000) : row)),
              12,
            ),
          );
          await v.close();
        }
      }
    },
  );

  it.skipIf(!vtk)(`is read by VTK's vtkNrrdReader with the same dimensions, spacing, origin and values${vtkNote}`, async () => {
    const shape: Vec3 = [5, 6, 12];
    const data = voxels('uint16', 5 * 6 * 12, rng(seed + 4));
    for (const [name, compression] of [
      ['vtk-gz.nrrd', 'gzip'],
      ['vtk-raw.nhdr', 'none'],
    ] as const) {
      const path = join(dir, name);
      await writeOurs(path, metaFor('uint16', shape, undefined), data, compression);
      const out = runPython(
        `
import sys, json
from vtkmodules.vtkIOImage import vtkNrrdReader
from vtkmodules.util import numpy_support as ns
r = vtkNrrdReader(); r.SetFileName(sys.argv[1]); r.Update()
o = r.GetOutput()
print(json.dumps({'dims': o.GetDimensions(), 'spacing': o.GetSpacing(), 'origin': o.GetOrigin(), 'values': ns.vtk_to_numpy(o.GetPointData().GetScalars()).ravel().tolist()}))
`,
        path,
      );
      const j = JSON.parse(out) as { dims: number[]; spacing: number[]; origin: number[]; values: number[] };
      expect(j.dims, name).toEqual([12, 6, 5]);
      expect(roundVec(j.spacing), name).toEqual([0.05, 0.02, 0.04]);
      // VTK reports the header's origin as it stands: LPS millimetres.
      expect(roundVec(j.origin), name).toEqual([-0.1, 0.2, 0.3]);
      expect(j.values, name).toEqual(Array.from(data));
    }
  });

  it.skipIf(!unu)(
    `keeps every geometry field of a teem NRRD through convert to NRRD, and through MetaImage back to NRRD${unuNote}`,
    async () => {
      const { bytes } = sampleData('int16', 7 * 6 * 5, rng(seed + 5));
      const raw = join(dir, 'rt.raw');
      // A big-endian source: the values are `bytes` read little-endian.
      await writeFile(raw, swapped(bytes, 2));
      const src = join(dir, 'rt-src.nrrd');
      runCommand('teem-unu', [
        'make',
        '-i',
        raw,
        '-t',
        'short',
        '-s',
        '7',
        '6',
        '5',
        '-en',
        'big',
        '-spc',
        'LPS',
        '-dirs',
        LPS_DIRS,
        '-orig',
        LPS_ORIGIN,
        '-spu',
        'mm',
        'mm',
        'mm',
        '-o',
        src,
      ]);
      const direct = join(dir, 'rt-direct.nrrd');
      const viaMha = join(dir, 'rt-via.mha');
      const back = join(dir, 'rt-back.nrrd');
      await convertToOmeZarr(src, direct, { overwrite: true });
      await convertToOmeZarr(src, viaMha, { overwrite: true });
      await convertToOmeZarr(viaMha, back, { overwrite: true });
      const srcHeader = headerOf(runCommand('teem-unu', ['save', '-i', src, '-f', 'nrrd', '-e', 'raw', '-en', 'little', '-o', '-']));
      const srcData = runCommand('teem-unu', ['save', '-i', src, '-f', 'nrrd', '-e', 'raw', '-en', 'little', '-o', '-']);
      for (const out of [direct, back]) {
        const norm = runCommand('teem-unu', ['save', '-i', out, '-f', 'nrrd', '-e', 'raw', '-en', 'little', '-o', '-']);
        const h = headerOf(norm);
        for (const f of ['type', 'sizes', 'space', 'space units']) expect(field(h, f), `${out} ${f}`).toBe(field(srcHeader, f));
        expect(
          closeTo(vectorsOf(field(h, 'space directions')), vectorsOf(field(srcHeader, 'space directions'))),
          `${out}: ${field(h, 'space directions')}`,
        ).toBe(true);
        expect(
          closeTo(vectorsOf(field(h, 'space origin')), vectorsOf(field(srcHeader, 'space origin'))),
          `${out}: ${field(h, 'space origin')}`,
        ).toBe(true);
        const data = norm.subarray(norm.length - bytes.length);
        expect(Buffer.compare(data, srcData.subarray(srcData.length - bytes.length)), out).toBe(0);
        expect(Buffer.compare(data, Buffer.from(bytes)), `${out}: values as written to the big-endian source`).toBe(0);
      }
    },
  );

  it('keeps a volume with no unit in an unnamed 3D space, and reads it back unchanged', async () => {
    const meta: VolumeMeta = { shape: [3, 4, 5], dtype: 'uint8', voxelSize: [1, 1, 1], unit: '', origin: [0, 0, 0] };
    const data = voxels('uint8', 60, rng(seed + 6));
    const path = join(dir, 'nounit.nrrd');
    await writeOurs(path, meta, data, 'none');
    const text = (await readFile(path)).toString('latin1');
    expect(text).toMatch(/^space dimension: 3$/m);
    expect(text).not.toMatch(/^space:/m);
    const v = await openVolume(path);
    expect([v.unit, v.voxelSize, v.origin]).toEqual(['', [1, 1, 1], [0, 0, 0]]);
    expect(Array.from(await v.readBox(whole(v.shape)))).toEqual(Array.from(data));
    await v.close();
  });
});

describe('bad NRRD input: a clear error naming the file and the field, before anything is written', () => {
  const header = (extra: string): string => `NRRD0004\ntype: ushort\ndimension: 3\nsizes: 6 5 4\n${extra}`;

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

  it('truncated attached data names the file and the sizes', async () => {
    const p = join(dir, 'bad-trunc.nrrd');
    await writeFile(p, Buffer.concat([Buffer.from(header('endian: little\nencoding: raw\n\n')), Buffer.alloc(6 * 5 * 4 * 2 - 10)]));
    await rejects(p, 'Truncated', /bad-trunc\.nrrd.*sizes: 6 5 4.*10 missing/);
  });

  it('a detached header whose sizes are larger than its data file', async () => {
    await writeFile(join(dir, 'bad-lie.raw'), Buffer.alloc(6 * 5 * 3 * 2));
    const p = join(dir, 'bad-lie.nhdr');
    await writeFile(p, header('endian: little\nencoding: raw\ndata file: bad-lie.raw\n'));
    await rejects(p, 'Truncated', /bad-lie\.raw.*"sizes: 6 5 4".*bad-lie\.nhdr/);
  });

  it('an unknown type, an unknown encoding, a missing endian, a missing data file, a vector axis', async () => {
    const cases: [string, string, Parameters<typeof isVolumeIoError>[1], RegExp][] = [
      [
        'bad-type.nrrd',
        'NRRD0004\ntype: quaternion\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n\n',
        'Unsupported',
        /bad-type\.nrrd.*"type: quaternion"/,
      ],
      ['bad-enc.nrrd', header('endian: little\nencoding: bzip2\n\n'), 'Unsupported', /bad-enc\.nrrd.*"encoding: bzip2"/],
      ['bad-endian.nrrd', header('encoding: raw\n\n'), 'InvalidMetadata', /bad-endian\.nrrd.*"endian"/],
      [
        'bad-file.nhdr',
        header('endian: little\nencoding: raw\ndata file: nowhere.raw\n'),
        'NotFound',
        /nowhere\.raw.*"data file".*bad-file\.nhdr/,
      ],
      [
        'bad-rgb.nrrd',
        'NRRD0004\ntype: uchar\ndimension: 4\nsizes: 3 4 4 4\nkinds: RGB-color space space space\nencoding: raw\n\n',
        'Unsupported',
        /bad-rgb\.nrrd.*axis 0 \(kind RGB-color\) has 3 samples/,
      ],
      ['bad-magic.nrrd', 'NRRDX\n', 'UnknownFormat', /bad-magic\.nrrd.*NRRD0001/],
    ];
    for (const [name, text, tag, pattern] of cases) {
      await writeFile(join(dir, name), text);
      await rejects(join(dir, name), tag, pattern);
    }
  });

  it('a header that lies in a gzip trailer, and a cut gzip stream, fail; convert then leaves no output', async () => {
    const body = gzipSync(Buffer.alloc(6 * 5 * 3 * 2, 7));
    const lie = join(dir, 'bad-gzlie.nrrd');
    await writeFile(lie, Buffer.concat([Buffer.from(header('endian: little\nencoding: gzip\n\n')), body]));
    await rejects(lie, 'Inconsistent', /bad-gzlie\.nrrd.*"sizes: 6 5 4".*gzip trailer records 180/);
    const full = gzipSync(Buffer.from(Array.from({ length: 6 * 5 * 4 * 2 }, (_, i) => (i * 37) % 251)));
    const cut = join(dir, 'bad-gzcut.nrrd');
    await writeFile(cut, Buffer.concat([Buffer.from(header('endian: little\nencoding: gzip\n\n')), full]));
    await truncate(cut, (await readFile(cut)).length - Math.floor(full.length / 2));
    await rejects(cut, 'Truncated', /bad-gzcut\.nrrd/);
    for (const bad of [cut, join(dir, 'bad-trunc.nrrd')]) {
      const out = join(dir, `out-of-${bad.split('/').pop()!.replace(/\W/g, '_')}.nrrd`);
      await expect(convertToOmeZarr(bad, out)).rejects.toThrow(/bad-/);
      expect((await readdir(dir)).filter((n) => n.startsWith(out.split('/').pop()!))).toEqual([]);
    }
  });
});
