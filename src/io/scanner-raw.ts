import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Vec3 } from '../volume/box.js';
import { type LengthUnit, parseUnit } from '../volume/voxel-size.js';
import { InconsistentError, InvalidMetadataError, NotFoundError, UnsupportedError } from './errors.js';
import { type RawPlacement, RawVolumeSource } from './raw-volume.js';
import { isSampleType, sampleBytes, SAMPLE_TYPES, type SampleType } from './sample-type.js';
import { findDataFile, headerNumber, headerNumbers, iniGet, parseIni, readSmallText } from './text-header.js';

/**
 * Raw voxel files from Nikon/X-Tek scanners, described by the text file CT Pro 3D writes
 * beside the .vol (.xtekVolume, an INI file whose [XTekCT] section gives VoxelsX/Y/Z and
 * VoxelSizeX/Y/Z) or by the .vgi VGStudio MAX reads ({volume1} with [file1] Size, Name,
 * Datatype, BitsPerElement, SkipHeader and [geometry] resolution, unit); and headerless raw
 * files described on the command line (--raw). Voxels are x fastest, then y, then z.
 */

/** True when a text starts like a Nikon .xtekVolume / .xtekct file. */
export function isXtekText(bytes: Uint8Array): boolean {
  return /^(\uFEFF|\xEF\xBB\xBF)?\s*\[XTekCT\]/i.test(Buffer.from(bytes.subarray(0, 32)).toString('latin1'));
}

/** True when a text starts like a VGStudio .vgi file. */
export function isVgiText(bytes: Uint8Array): boolean {
  return /^(\uFEFF|\xEF\xBB\xBF)?\s*\{volume\d*\}/i.test(Buffer.from(bytes.subarray(0, 32)).toString('latin1'));
}

/** The .vol beside a header: same stem; else the only .vol in the folder. */
async function volBeside(header: string, field: string): Promise<string> {
  const stem = join(dirname(header), basename(header, extname(header)));
  for (const ext of ['.vol', '.VOL']) {
    if (
      await stat(stem + ext).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return stem + ext;
  }
  const vols = (await readdir(dirname(header))).filter((n) => n.toLowerCase().endsWith('.vol'));
  if (vols.length === 1) return join(dirname(header), vols[0]!);
  throw new NotFoundError(
    `${stem}.vol`,
    `no voxel file for ${header} (${field}): expected ${basename(stem)}.vol beside it${vols.length > 1 ? `; the folder holds several .vol files (${vols.join(', ')})` : ''}`,
  );
}

/** Nikon data type names (CT Pro's settings) → sample types; undefined when not a type we know. */
function nikonType(text: string): SampleType | undefined {
  const t = text.toLowerCase().replace(/[\s_-]+/g, '');
  if (['float', 'float32', 'real', 'single', '32bitfloat', 'float32bit', '32bit'].includes(t)) return 'float32';
  if (['uint16', 'unsigned16', 'unsignedshort', 'ushort', '16bit', '16bitunsigned', 'unsigned16bit', 'uint16bit'].includes(t))
    return 'uint16';
  if (['uint8', 'unsigned8', 'unsignedchar', 'uchar', 'byte', '8bit', '8bitunsigned', 'unsigned8bit'].includes(t)) return 'uint8';
  return undefined;
}

/** Voxel type from the file size when a header does not say: 1, 2 or 4 bytes a voxel. */
async function typeFromSize(file: string, header: string, shape: Vec3, field: string, skip = 0): Promise<SampleType> {
  const size = (await stat(file)).size - skip;
  const n = shape[0] * shape[1] * shape[2];
  const per = size / n;
  if (per === 1) return 'uint8';
  if (per === 2) return 'uint16';
  if (per === 4) return 'float32';
  throw new InconsistentError(
    file,
    `${field} in ${header} describes ${n} voxels, and the header gives no voxel type; the file's ${size} bytes are ${Number.isInteger(per) ? per : per.toFixed(3)} per voxel, not 1 (uint8), 2 (uint16) or 4 (float32): the header's size is wrong or the data is truncated`,
  );
}

function unitOrMm(text: string | undefined, field: string, notes: string[]): LengthUnit {
  if (text !== undefined) {
    const u = parseUnit(text);
    if (u !== undefined && u !== '') return u;
    notes.push(`${field} "${text}" is not a length unit rhizoct knows: millimetres assumed`);
    return 'millimeter';
  }
  notes.push(`no ${field}: millimetres assumed (the scanner software's unit)`);
  return 'millimeter';
}

function axisAligned(voxelSize: Vec3, unit: LengthUnit): RawPlacement {
  return { voxelSize, unit, origin: [0, 0, 0] };
}

/** Opens the .vol described by a Nikon .xtekVolume (or .xtekct) file. */
export async function openXtekVolume(path: string): Promise<RawVolumeSource> {
  const ini = parseIni(await readSmallText(path, 'Nikon .xtekVolume header'));
  const sec = 'XTekCT';
  const get = (k: string): string | undefined => iniGet(ini, sec, k);
  const need = (k: string): string => {
    const v = get(k);
    if (v === undefined) throw new InvalidMetadataError(path, `Nikon header has no ${k} in its [XTekCT] section`);
    return v;
  };
  const nx = headerNumber(path, 'VoxelsX', need('VoxelsX'), { integer: true, min: 1 });
  const ny = headerNumber(path, 'VoxelsY', need('VoxelsY'), { integer: true, min: 1 });
  const nz = headerNumber(path, 'VoxelsZ', need('VoxelsZ'), { integer: true, min: 1 });
  const shape: Vec3 = [nz, ny, nx];
  const notes: string[] = [];
  const header: Record<string, string> = {};
  for (const e of ini.entries) {
    if (
      e.section.toLowerCase() === 'xtekct' &&
      /^(name|voxels[xyz]|voxelsize[xyz]|offset[xyz]|units|outputunits|scaling|datatype)$/i.test(e.key)
    )
      header[e.key] = e.value;
  }
  let voxelSize: Vec3 = [1, 1, 1];
  let unit: LengthUnit = '';
  const vs = ['VoxelSizeX', 'VoxelSizeY', 'VoxelSizeZ'].map((k) => get(k));
  if (vs.every((v) => v !== undefined)) {
    const [sx, sy, sz] = vs.map((v, i) => headerNumber(path, ['VoxelSizeX', 'VoxelSizeY', 'VoxelSizeZ'][i]!, v!));
    if (!(sx! > 0 && sy! > 0 && sz! > 0))
      throw new InvalidMetadataError(path, `Nikon VoxelSizeX/Y/Z are ${vs.join(', ')}: voxel sizes must be positive`);
    voxelSize = [sz!, sy!, sx!];
    unit = unitOrMm(get('Units'), 'Units', notes);
  } else {
    notes.push('no VoxelSizeX/Y/Z: voxel size unknown');
  }
  const file = await volBeside(path, 'VoxelsX/Y/Z');
  const typeEntry = ini.entries.find((e) => /^(datatype|volumedatatype|outputdatatype|scaling_datatypevolume)$/i.test(e.key));
  let sampleType: SampleType;
  if (typeEntry) {
    header[typeEntry.key] = typeEntry.value;
    const t = nikonType(typeEntry.value);
    if (!t)
      throw new UnsupportedError(
        path,
        `Nikon ${typeEntry.key}=${typeEntry.value} is not a voxel type rhizoct reads (float, 16-bit or 8-bit unsigned)`,
      );
    sampleType = t;
  } else {
    sampleType = await typeFromSize(file, path, shape, 'VoxelsX/Y/Z');
    notes.push(`voxel type not in the header: ${sampleType}, from the size of ${basename(file)}`);
  }
  return RawVolumeSource.open({
    format: 'nikon-xtek',
    path,
    layout: { file, shape, sampleType, littleEndian: true, offset: 0 },
    placement: axisAligned(voxelSize, unit),
    report: { header, notes },
    sizeField: `VoxelsX/Y/Z = ${nx}/${ny}/${nz} with ${sampleType} voxels`,
    exact: true,
  });
}

/** VGStudio data types: name and bits → sample type. */
function vgiType(name: string | undefined, bits: number | undefined): SampleType | undefined {
  const n = (name ?? '').toLowerCase().trim();
  const b = bits ?? 0;
  if (n.startsWith('float') || n === 'real') return b === 64 ? 'float64' : b === 32 || b === 0 ? 'float32' : undefined;
  if (n.startsWith('double')) return 'float64';
  const signed = n.startsWith('signed') || n === 'integer' || n === 'int' || n === 'short';
  const unsigned = n.startsWith('unsigned') || n === 'uint' || n === 'ushort' || n === 'uchar' || n === '';
  const byBits: Record<number, [SampleType, SampleType]> = { 8: ['int8', 'uint8'], 16: ['int16', 'uint16'], 32: ['int32', 'uint32'] };
  if (n === '' && b === 32) return 'float32';
  if (!byBits[b] || !(signed || unsigned)) return undefined;
  return byBits[b]![signed ? 0 : 1];
}

/** Opens the raw file described by a VGStudio .vgi header (the first volume it lists). */
export async function openVgi(path: string): Promise<RawVolumeSource> {
  const ini = parseIni(await readSmallText(path, 'VGStudio .vgi header'));
  const block = ini.entries.find((e) => /^volume/i.test(e.block))?.block ?? '';
  const get = (section: string, key: string): string | undefined => iniGet(ini, section, key, block);
  const notes: string[] = [];
  const header: Record<string, string> = {};
  const show = (section: string, key: string): string | undefined => {
    const v = get(section, key);
    if (v !== undefined) header[`[${section}] ${key}`] = v;
    return v;
  };
  const sizeText = show('file1', 'Size') ?? show('representation', 'size');
  if (sizeText === undefined) throw new InvalidMetadataError(path, 'VGStudio header has no size in [file1] or [representation]');
  const [nx, ny, nz] = headerNumbers(path, 'size', sizeText, 3, { integer: true, min: 1 }) as [number, number, number];
  const shape: Vec3 = [nz, ny, nx];
  const format = show('file1', 'FileFormat');
  if (format !== undefined && format.toLowerCase() !== 'raw')
    throw new UnsupportedError(path, `VGStudio [file1] FileFormat = ${format}: only raw files are read`);
  const typeName = show('file1', 'Datatype') ?? show('representation', 'datatype');
  const bitsText = show('file1', 'BitsPerElement') ?? show('representation', 'bitsperelement');
  const bits = bitsText !== undefined ? headerNumber(path, 'BitsPerElement', bitsText, { integer: true, min: 1 }) : undefined;
  const skip = show('file1', 'SkipHeader');
  const offset = skip !== undefined ? headerNumber(path, 'SkipHeader', skip, { integer: true, min: 0 }) : 0;
  let sampleType: SampleType | undefined;
  if (typeName !== undefined || bits !== undefined) {
    sampleType = vgiType(typeName, bits);
    if (!sampleType)
      throw new UnsupportedError(
        path,
        `VGStudio Datatype = ${typeName ?? '(none)'} with BitsPerElement = ${bits ?? '(none)'} is not a voxel type rhizoct reads`,
      );
  }
  const name = show('file1', 'Name');
  const file =
    name !== undefined && name !== '' ? await findDataFile(path, name, '[file1] Name') : await volBeside(path, '[file1] has no Name');
  if (!sampleType) {
    sampleType = await typeFromSize(file, path, shape, 'size', offset);
    notes.push(`voxel type not in the header: ${sampleType}, from the size of ${basename(file)}`);
  }
  let voxelSize: Vec3 = [1, 1, 1];
  let unit: LengthUnit = '';
  const res = show('geometry', 'resolution');
  if (res !== undefined) {
    const r = headerNumbers(path, '[geometry] resolution', res);
    if (r.length !== 1 && r.length !== 3)
      throw new InvalidMetadataError(path, `VGStudio [geometry] resolution = ${res}: expected one or three numbers`);
    const [rx, ry, rz] = r.length === 1 ? [r[0]!, r[0]!, r[0]!] : r;
    if (!(rx! > 0 && ry! > 0 && rz! > 0))
      throw new InvalidMetadataError(path, `VGStudio [geometry] resolution = ${res}: voxel sizes must be positive`);
    voxelSize = [rz!, ry!, rx!];
    unit = unitOrMm(show('geometry', 'unit'), '[geometry] unit', notes);
  } else {
    notes.push('no [geometry] resolution: voxel size unknown');
  }
  show('geometry', 'position');
  return RawVolumeSource.open({
    format: 'nikon-vgi',
    path,
    layout: { file, shape, sampleType, littleEndian: true, offset },
    placement: axisAligned(voxelSize, unit),
    report: { header, notes },
    sizeField: `size = ${nx} ${ny} ${nz} with ${sampleType} voxels`,
    exact: true,
  });
}

/** A headerless raw file's layout as given on the command line: --raw Z,Y,X,TYPE[,ENDIAN][,OFFSET]. */
export interface RawSpec {
  /** z, y, x. */
  readonly shape: Vec3;
  readonly sampleType: SampleType;
  readonly littleEndian: boolean;
  /** Bytes before the first voxel. */
  readonly offset: number;
}

const RAW_TYPE_ALIASES: Record<string, SampleType> = {
  float: 'float32',
  double: 'float64',
  u8: 'uint8',
  i8: 'int8',
  u16: 'uint16',
  i16: 'int16',
  u32: 'uint32',
  i32: 'int32',
  f32: 'float32',
  f64: 'float64',
};

/** Parses "Z,Y,X,TYPE[,little|big][,OFFSET]"; throws a RangeError saying what is wrong. */
export function parseRawSpec(text: string): RawSpec {
  const parts = text.split(',').map((s) => s.trim().toLowerCase());
  const usage = `--raw takes Z,Y,X,TYPE[,little|big][,HEADER_BYTES] (z, y, x sizes with x fastest on disk; TYPE one of ${SAMPLE_TYPES.join(', ')}), e.g. --raw 500,512,512,uint16,little; got "${text}"`;
  if (parts.length < 4 || parts.length > 6) throw new RangeError(usage);
  const dims = parts.slice(0, 3).map(Number);
  if (dims.some((n) => !Number.isInteger(n) || n < 1)) throw new RangeError(`${usage}: sizes must be positive whole numbers`);
  const t = RAW_TYPE_ALIASES[parts[3]!] ?? parts[3]!;
  if (!isSampleType(t)) throw new RangeError(`${usage}: unknown type "${parts[3]}"`);
  let littleEndian: boolean | undefined;
  let offset = 0;
  for (const p of parts.slice(4)) {
    if (p === 'little' || p === 'le') littleEndian = true;
    else if (p === 'big' || p === 'be') littleEndian = false;
    else if (/^\d+$/.test(p) && offset === 0) offset = Number(p);
    else throw new RangeError(`${usage}: "${p}" is neither little, big nor a header size in bytes`);
  }
  if (littleEndian === undefined) {
    if (sampleBytes(t) > 1) throw new RangeError(`${usage}: ${t} voxels need the byte order, little or big`);
    littleEndian = true;
  }
  return { shape: [dims[0]!, dims[1]!, dims[2]!], sampleType: t, littleEndian, offset };
}

/** Opens a headerless raw file with a layout given by the user; its size must match exactly. */
export async function openRawFile(path: string, spec: RawSpec): Promise<RawVolumeSource> {
  const [nz, ny, nx] = spec.shape;
  const header = {
    shape: `${nz},${ny},${nx} (z,y,x; x fastest)`,
    type: spec.sampleType,
    endianness: spec.littleEndian ? 'little' : 'big',
    'header bytes': String(spec.offset),
  };
  return RawVolumeSource.open({
    format: 'raw',
    path,
    layout: { file: path, ...spec },
    placement: axisAligned([1, 1, 1], ''),
    report: { header, notes: ['layout from --raw; a raw file records no voxel size (give one with convert --voxel-size)'] },
    sizeField: `--raw ${nz},${ny},${nx},${spec.sampleType}${spec.offset ? `,${spec.offset}` : ''}`,
    exact: true,
    leftoverHint: (extra) => `, or the file starts with a header of ${spec.offset + extra} bytes: then give it as the last --raw value`,
  });
}
