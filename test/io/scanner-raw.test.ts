import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatInfo } from '../../src/cli/commands/info.js';
import { useRawLayout } from '../../src/cli/raw.js';
import { isVolumeIoError } from '../../src/io/errors.js';
import { forgetRawInputs, openVolume } from '../../src/io/open.js';
import { parseRawSpec } from '../../src/io/scanner-raw.js';
import { encodeTiffSlice } from '../../src/io/tiff-write.js';
import { volumeInfo } from '../../src/pipeline/info.js';
import { startViewServer } from '../../src/pipeline/view-server.js';
import { makeBox, type Vec3 } from '../../src/volume/box.js';
import { freshSeed, rng } from '../helpers/random.js';
import { tempDir } from './helpers.js';
import { sampleData, swapped } from './sample-data.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('rhizoct-scanner-')));
afterAll(() => cleanup());
afterEach(() => forgetRawInputs());

const seed = freshSeed();
const whole = (shape: Vec3) => makeBox([0, 0, 0], shape);

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

async function readAll(path: string): Promise<number[]> {
  const v = await openVolume(path);
  try {
    return Array.from(await v.readBox(whole(v.shape)));
  } finally {
    await v.close();
  }
}

/*
 * Nikon/X-Tek CT Pro 3D writes NAME.vol (raw voxels, little-endian, x fastest, then y, then
 * z) beside NAME.xtekVolume, an INI file. The fields read, all in its [XTekCT] section:
 * VoxelsX/Y/Z (the size), VoxelSizeX/Y/Z (the voxel size) and Units (their unit, mm). The
 * file has no voxel type field in the versions we know of: CT Pro writes 32-bit float or, by
 * choice, 16-bit unsigned volumes, so the type is what the .vol's size gives (4 or 2 bytes a
 * voxel), and a type field (DataType, VolumeDataType, Scaling_DataTypeVolume) wins when present.
 */
const XTEK = `[XTekCT]
Name=root_sample
VoxelsX=6
VoxelsY=5
VoxelsZ=4
VoxelSizeX=0.0125
VoxelSizeY=0.0125
VoxelSizeZ=0.02
OffsetX=0.1
OffsetY=0
OffsetZ=-0.3
SrcToObject=100.5
SrcToDetector=1000
Units=mm
OutputUnits=/m
[CTPro]
Filter_ThicknessMM=0.5
`;

describe('Nikon .xtekVolume + .vol (fixture documented above)', () => {
  it('reads size, voxel size and unit from [XTekCT]; float32 from the .vol size; opens from the header or the .vol', async () => {
    const d = join(dir, 'xtek');
    await mkdir(d);
    const { bytes, values } = sampleData('float32', 6 * 5 * 4, rng(seed));
    await writeFile(join(d, 'root_sample.vol'), bytes);
    await writeFile(join(d, 'root_sample.xtekVolume'), XTEK.replace(/\n/g, '\r\n'));
    for (const p of [join(d, 'root_sample.xtekVolume'), join(d, 'root_sample.vol')]) {
      const v = await openVolume(p);
      expect(v.format, p).toBe('nikon-xtek');
      expect(v.path, p).toBe(join(d, 'root_sample.xtekVolume'));
      expect(v.shape, p).toEqual([4, 5, 6]);
      expect(v.dtype, p).toBe('float32');
      expect(v.voxelSize, p).toEqual([0.02, 0.0125, 0.0125]);
      expect(v.unit, p).toBe('millimeter');
      expect(v.origin, p).toEqual([0, 0, 0]);
      expect(v.header?.VoxelsX).toBe('6');
      expect(v.header?.OffsetX).toBe('0.1');
      expect(v.notes?.join(' ')).toMatch(/voxel type not in the header: float32, from the size of root_sample\.vol/);
      expect(Array.from(await v.readBox(whole(v.shape))), p).toEqual(values);
      await v.close();
    }
  });

  it('16-bit volumes by size or by a type field; a .vol whose size fits no type, or is missing, is an error naming the fields', async () => {
    const d = join(dir, 'xtek16');
    await mkdir(d);
    const { bytes, values } = sampleData('uint16', 6 * 5 * 4, rng(seed + 1));
    await writeFile(join(d, 'a.vol'), bytes);
    await writeFile(join(d, 'a.xtekVolume'), XTEK);
    expect(await readAll(join(d, 'a.xtekVolume'))).toEqual(values);
    await writeFile(join(d, 'a.xtekVolume'), `${XTEK}[Output]\nScaling_DataTypeVolume=UInt16\n`);
    expect(await readAll(join(d, 'a.xtekVolume'))).toEqual(values);
    // A type field that disagrees with the file's size.
    await writeFile(join(d, 'a.xtekVolume'), `${XTEK}[Output]\nScaling_DataTypeVolume=Float\n`);
    const e1 = await errorOf(openVolume(join(d, 'a.xtekVolume')));
    expect(isVolumeIoError(e1, 'Truncated')).toBe(true);
    expect(e1.message).toMatch(/a\.vol: VoxelsX\/Y\/Z = 6\/5\/4 with float32 voxels in .*a\.xtekVolume.*240 missing/);
    await writeFile(join(d, 'b.vol'), Buffer.alloc(6 * 5 * 4 * 3));
    await writeFile(join(d, 'b.xtekVolume'), XTEK);
    const e2 = await errorOf(openVolume(join(d, 'b.xtekVolume')));
    expect(isVolumeIoError(e2, 'Inconsistent')).toBe(true);
    expect(e2.message).toMatch(/b\.vol: VoxelsX\/Y\/Z in .*b\.xtekVolume.*3 per voxel/);
    await writeFile(join(d, 'c.xtekVolume'), XTEK.replace('VoxelsY=5\n', ''));
    const e3 = await errorOf(openVolume(join(d, 'c.xtekVolume')));
    expect(e3.message).toMatch(/c\.xtekVolume: Nikon header has no VoxelsY/);
  });
});

/*
 * VGStudio MAX's .vgi, as Nikon and other scanners export it: blocks {volume1}, {scene};
 * sections in a block. Fields read: [file1] Size (x y z), Name (the data file, often an
 * absolute Windows path: its last component is looked for beside the .vgi), SkipHeader
 * (bytes before the voxels), FileFormat (raw), Datatype and BitsPerElement (unsigned
 * integer / 16 → uint16, float / 32 → float32, …); [geometry] resolution (x y z, or one
 * value) and unit. Little-endian.
 */
const VGI = `{volume1}
[representation]
size = 6 5 4
datatype = unsigned integer
datarange = 0 65535
bitsperelement = 16
[file1]
SkipHeader = 8
FileFormat = raw
Size = 6 5 4
Name = C:\\CT data\\exports\\part.vol
Datatype = unsigned integer
BitsPerElement = 16
[geometry]
status = visible
position = 1 2 3
resolution = 0.02 0.02 0.025
unit = mm
[description]
text = bean root
{scene}
[camera]
distance = 100
`;

describe('VGStudio .vgi + raw (fixture documented above)', () => {
  it('reads size, type, header skip, Windows data path and anisotropic resolution', async () => {
    const d = join(dir, 'vgi');
    await mkdir(d);
    const { bytes, values } = sampleData('uint16', 6 * 5 * 4, rng(seed + 2));
    await writeFile(join(d, 'part.vol'), Buffer.concat([Buffer.from('8 bytes!'), bytes]));
    await writeFile(join(d, 'scan.vgi'), VGI);
    const v = await openVolume(join(d, 'scan.vgi'));
    expect(v.format).toBe('nikon-vgi');
    expect(v.shape).toEqual([4, 5, 6]);
    expect(v.dtype).toBe('uint16');
    expect(v.voxelSize).toEqual([0.025, 0.02, 0.02]);
    expect(v.unit).toBe('millimeter');
    expect(v.header?.['[file1] Name']).toBe('C:\\CT data\\exports\\part.vol');
    expect(Array.from(await v.readBox(whole(v.shape)))).toEqual(values);
    await v.close();
  });

  it('float volumes, signed types, one resolution value; unknown types and formats are errors naming the field', async () => {
    const d = join(dir, 'vgi2');
    await mkdir(d);
    const f = sampleData('float32', 6 * 5 * 4, rng(seed + 3));
    await writeFile(join(d, 'f.vol'), f.bytes);
    await writeFile(
      join(d, 'f.vgi'),
      VGI.replace(/Name = .*\n/, 'Name = f.vol\n')
        .replace(/SkipHeader = 8/, 'SkipHeader = 0')
        .replace(/[Dd]atatype = unsigned integer/g, 'Datatype = float')
        .replace(/[Bb]its[Pp]er[Ee]lement = 16/g, 'BitsPerElement = 32')
        .replace('resolution = 0.02 0.02 0.025', 'resolution = 0.05'),
    );
    const v = await openVolume(join(d, 'f.vgi'));
    expect([v.dtype, v.voxelSize]).toEqual(['float32', [0.05, 0.05, 0.05]]);
    expect(Array.from(await v.readBox(whole(v.shape)))).toEqual(f.values);
    await v.close();
    const s = sampleData('int16', 6 * 5 * 4, rng(seed + 4));
    await writeFile(join(d, 's.vol'), s.bytes);
    await writeFile(
      join(d, 's.vgi'),
      VGI.replace(/Name = .*\n/, 'Name = s.vol\n')
        .replace(/SkipHeader = 8/, 'SkipHeader = 0')
        .replace(/[Dd]atatype = unsigned integer/g, 'Datatype = signed integer'),
    );
    expect(await readAll(join(d, 's.vgi'))).toEqual(s.values);
    await writeFile(join(d, 'bad.vgi'), VGI.replace(/BitsPerElement = 16/, 'BitsPerElement = 12'));
    expect((await errorOf(openVolume(join(d, 'bad.vgi')))).message).toMatch(
      /bad\.vgi: VGStudio Datatype = unsigned integer with BitsPerElement = 12/,
    );
    await writeFile(join(d, 'tif.vgi'), VGI.replace('FileFormat = raw', 'FileFormat = tiff'));
    expect((await errorOf(openVolume(join(d, 'tif.vgi')))).message).toMatch(/tif\.vgi: VGStudio \[file1\] FileFormat = tiff/);
    await writeFile(join(d, 'gone.vgi'), VGI.replace(/Name = .*\n/, 'Name = elsewhere.vol\n'));
    const gone = await errorOf(openVolume(join(d, 'gone.vgi')));
    expect(isVolumeIoError(gone, 'NotFound')).toBe(true);
    expect(gone.message).toMatch(/elsewhere\.vol.*\[file1\] Name.*gone\.vgi/);
  });
});

describe('--raw for headerless files', () => {
  it('parses Z,Y,X,TYPE[,ENDIAN][,SKIP] and says what is wrong otherwise', () => {
    expect(parseRawSpec('4,5,6,uint16,little')).toEqual({ shape: [4, 5, 6], sampleType: 'uint16', littleEndian: true, offset: 0 });
    expect(parseRawSpec('4, 5, 6, float32, big, 1024')).toEqual({
      shape: [4, 5, 6],
      sampleType: 'float32',
      littleEndian: false,
      offset: 1024,
    });
    expect(parseRawSpec('4,5,6,uint8')).toEqual({ shape: [4, 5, 6], sampleType: 'uint8', littleEndian: true, offset: 0 });
    expect(() => parseRawSpec('4,5,6,uint16')).toThrow(/need the byte order/);
    expect(() => parseRawSpec('4,5,uint16,little')).toThrow(/Z,Y,X,TYPE/);
    expect(() => parseRawSpec('4,5,6,complex64,little')).toThrow(/unknown type "complex64"/);
    expect(() => parseRawSpec('4,0,6,uint8')).toThrow(/positive whole numbers/);
    expect(() => parseRawSpec('4,5,6,uint16,middle')).toThrow(/"middle"/);
  });

  it('reads big-endian float32 after a header; a size that does not match names --raw and the bytes left over', async () => {
    const { bytes, values } = sampleData('float32', 4 * 5 * 6, rng(seed + 5));
    const p = join(dir, 'scan.raw');
    await writeFile(p, Buffer.concat([Buffer.alloc(100, 1), swapped(bytes, 4)]));
    const v = await openVolume(p, { raw: parseRawSpec('4,5,6,float32,big,100') });
    expect([v.format, v.shape, v.dtype, v.unit]).toEqual(['raw', [4, 5, 6], 'float32', '']);
    expect(Array.from(await v.readBox(whole(v.shape)))).toEqual(values);
    await v.close();
    const e = await errorOf(openVolume(p, { raw: parseRawSpec('4,5,6,float32,big') }));
    expect(isVolumeIoError(e, 'Inconsistent')).toBe(true);
    expect(e.message).toMatch(/scan\.raw: --raw 4,5,6,float32 describes .*100 left over.*header of 100 bytes/);
    const short = await errorOf(openVolume(p, { raw: parseRawSpec('5,5,6,float32,big,100') }));
    expect(isVolumeIoError(short, 'Truncated')).toBe(true);
  });

  it('applies to the headerless inputs a command names (as the CLI does), and refuses when none is headerless', async () => {
    const { bytes, values } = sampleData('uint8', 2 * 3 * 4, rng(seed + 6));
    const p = join(dir, 'mask.bin');
    await writeFile(p, bytes);
    const e = await errorOf(openVolume(p));
    expect(isVolumeIoError(e, 'UnknownFormat')).toBe(true);
    expect(e.message).toMatch(/mask\.bin: format not recognised.*--raw Z,Y,X,TYPE/);
    await useRawLayout(parseRawSpec('2,3,4,uint8'), [p, dir]);
    expect(await readAll(p)).toEqual(values);
    const nrrd = join(dir, 'has-header.nrrd');
    await writeFile(nrrd, Buffer.concat([Buffer.from('NRRD0004\ntype: uchar\ndimension: 3\nsizes: 4 3 2\nencoding: raw\n\n'), bytes]));
    await expect(useRawLayout(parseRawSpec('2,3,4,uint8'), [nrrd])).rejects.toThrow(
      /--raw describes headerless raw files, but .*has-header\.nrrd is a nrrd file, read from its own header/,
    );
    await expect(openVolume(nrrd, { raw: parseRawSpec('2,3,4,uint8') })).rejects.toThrow(/is a nrrd file/);
  });
});

/** An uncompressed BMP of grey pixels given top row first: 8-bit with a grey palette, or 24-bit. */
function bmp(
  pixels: number[],
  width: number,
  height: number,
  opts: { bits?: 8 | 24; topDown?: boolean; palette?: (i: number) => [number, number, number] } = {},
): Buffer {
  const bits = opts.bits ?? 8;
  const stride = Math.floor((bits * width + 31) / 32) * 4;
  const paletteBytes = bits === 8 ? 256 * 4 : 0;
  const offset = 14 + 40 + paletteBytes;
  const b = Buffer.alloc(offset + stride * height);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(offset, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(opts.topDown ? -height : height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(bits, 28);
  b.writeUInt32LE(0, 30);
  b.writeUInt32LE(stride * height, 34);
  if (bits === 8) {
    for (let i = 0; i < 256; i++) {
      const [r, g, bl] = opts.palette?.(i) ?? [i, i, i];
      b.writeUInt8(bl, 54 + 4 * i);
      b.writeUInt8(g, 55 + 4 * i);
      b.writeUInt8(r, 56 + 4 * i);
    }
  }
  for (let y = 0; y < height; y++) {
    const row = opts.topDown ? y : height - 1 - y;
    for (let x = 0; x < width; x++) {
      const v = pixels[y * width + x]!;
      if (bits === 8) b.writeUInt8(v, offset + row * stride + x);
      else b.fill(v, offset + row * stride + 3 * x, offset + row * stride + 3 * x + 3);
    }
  }
  return b;
}

/*
 * A SkyScan reconstruction as NRecon writes it: slices PREFIX_recNNNNNNNN.bmp (8-bit, grey
 * palette, rows bottom-up), a preview PREFIX__spr.bmp that is not a slice, and the log
 * PREFIX_rec.log. Fields read: [Reconstruction] Pixel Size (um) (the slices' pixel, and so
 * voxel, size), else [Acquisition] Image Pixel Size (um) (the projections'); Result File Type,
 * First/Last Section only to check and report.
 */
const SKYSCAN_LOG = `[System]
Scanner=SkyScan1172
Instrument S/N=08G01121
[Acquisition]
Number of Files=  601
Image Pixel Size (um)=13.50
Scaled Image Pixel Size (um)=13.50
[Reconstruction]
Reconstruction Program=NRecon
Program Version=Version: 1.7.4.2
Pixel Size (um)=27.00000
Result File Type=BMP
Result Image Width (pixels)=5
Result Image Height (pixels)=3
First Section=100
Last Section=103
`;

describe('BMP slices and SkyScan reconstruction folders', () => {
  it('reads 8-bit palette BMPs bottom-up and top-down, and 24-bit grey; refuses colour', async () => {
    const d = join(dir, 'bmps');
    await mkdir(d);
    const px = Array.from({ length: 15 }, (_, i) => i * 17);
    await writeFile(join(d, 'a.bmp'), bmp(px, 5, 3));
    await writeFile(join(d, 'b.bmp'), bmp(px, 5, 3, { topDown: true }));
    await writeFile(join(d, 'c.bmp'), bmp(px, 5, 3, { bits: 24 }));
    for (const n of ['a.bmp', 'b.bmp', 'c.bmp']) {
      const v = await openVolume(join(d, n));
      expect(v.shape, n).toEqual([1, 3, 5]);
      expect(Array.from(await v.readBox(whole(v.shape))), n).toEqual(px);
      expect(Array.from(await v.readBox(makeBox([0, 1, 2], [1, 2, 2]))), n).toEqual([px[7], px[8], px[12], px[13]]);
      await v.close();
    }
    await writeFile(join(d, 'colour.bmp'), bmp(px, 5, 3, { palette: (i) => [i, 0, 0] }));
    expect((await errorOf(openVolume(join(d, 'colour.bmp')))).message).toMatch(/colour\.bmp: BMP palette entry 1 is a colour/);
  });

  it('a SkyScan folder: the numbered BMP series only, voxel size from the reconstruction log, all shown by info', async () => {
    const d = join(dir, 'skyscan');
    await mkdir(d);
    const slices = [100, 101, 102, 103].map((k) => Array.from({ length: 15 }, (_, i) => (k * 7 + i * 3) % 256));
    for (const [i, k] of [100, 101, 102, 103].entries())
      await writeFile(join(d, `bean_rec${String(k).padStart(8, '0')}.bmp`), bmp(slices[i]!, 5, 3));
    await writeFile(join(d, 'bean__spr.bmp'), bmp(Array(15).fill(9), 5, 3));
    await writeFile(join(d, 'bean_rec.log'), SKYSCAN_LOG.replace(/\n/g, '\r\n'));
    const v = await openVolume(d);
    expect(v.format).toBe('skyscan-bmp');
    expect(v.shape).toEqual([4, 3, 5]);
    expect(v.voxelSize).toEqual([27, 27, 27]);
    expect(v.unit).toBe('micrometer');
    expect(Array.from(await v.readBox(whole(v.shape)))).toEqual(slices.flat());
    expect(v.notes?.join(' ')).toMatch(/left out: bean__spr\.bmp/);
    await v.close();
    const text = formatInfo(await volumeInfo(d));
    expect(text).toMatch(/format\s+skyscan-bmp/);
    expect(text).toMatch(/voxel size\s+27 × 27 × 27 micrometer/);
    expect(text).toMatch(/\[Reconstruction\] Pixel Size \(um\): 27\.00000/);
    expect(text).toMatch(/\[System\] Scanner: SkyScan1172/);
  });

  it('TIFF slices with a log that gives only the acquisition pixel size', async () => {
    const d = join(dir, 'skyscan-tif');
    await mkdir(d);
    const data = Array.from({ length: 3 }, (_, z) => Uint16Array.from({ length: 12 }, (_, i) => z * 1000 + i));
    for (const [z, s] of data.entries()) await writeFile(join(d, `x_rec${String(z).padStart(4, '0')}.tif`), encodeTiffSlice(s, 4, 3));
    await writeFile(join(d, 'x_.log'), SKYSCAN_LOG.replace(/\[Reconstruction\][\s\S]*$/, ''));
    const v = await openVolume(d);
    expect([v.format, v.shape, v.dtype, v.voxelSize, v.unit]).toEqual([
      'skyscan-tif',
      [3, 3, 4],
      'uint16',
      [13.5, 13.5, 13.5],
      'micrometer',
    ]);
    expect(Array.from(await v.readBox(whole(v.shape)))).toEqual(data.flatMap((s) => Array.from(s)));
    await v.close();
  });
});

describe('rhizoct view on a scan that is not an OME-Zarr', () => {
  it('says in one line which command makes the OME-Zarr it shows', async () => {
    const d = join(dir, 'tiffs');
    await mkdir(d);
    for (let z = 0; z < 2; z++) await writeFile(join(d, `s${z}.tif`), encodeTiffSlice(new Uint8Array(12), 4, 3));
    const viewerDir = join(dir, 'viewer');
    await mkdir(viewerDir);
    await writeFile(join(viewerDir, 'index.html'), '<!doctype html>');
    await writeFile(join(viewerDir, 'main.js'), '');
    const e = await errorOf(startViewServer({ scan: d, port: 0, viewerDir }));
    expect(e.message).toBe(
      `${d} is tiff-stack (2×3×4), not an OME-Zarr; rhizoct view shows OME-Zarr pyramids: make one with \`rhizoct convert ${d} tiffs.zarr\` and view that`,
    );
    // What is not a scan at all keeps its own error.
    const none = await errorOf(startViewServer({ scan: join(dir, 'viewer'), port: 0, viewerDir }));
    expect(none.message).toMatch(/holds no Zarr metadata/);
  });
});
