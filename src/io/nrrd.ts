import type { Vec3 } from '../volume/box.js';
import { type LengthUnit, parseUnit } from '../volume/voxel-size.js';
import { InvalidMetadataError, TruncatedError, UnknownFormatError, UnsupportedError } from './errors.js';
import { withRangeFile } from './file-range.js';
import { affineFromDirections, placementOfAffine, type RawLayout, type RawPlacement, RawVolumeSource, rawDataBytes } from './raw-volume.js';
import { sampleBytes, type SampleType } from './sample-type.js';
import { findDataFile, headerNumber, headerNumbers, readHeaderText, skipLines } from './text-header.js';

/**
 * NRRD (teem's "nearly raw raster data", 3D Slicer's and ITK's exchange format) as the
 * format's definition (teem.sourceforge.net/nrrd/format.html) describes it: attached
 * (.nrrd) or detached (.nhdr + data file) headers, raw or gzip encoding, either byte order,
 * line and byte skips, and the orientation fields (space, space directions, space origin,
 * space units) or, without them, per-axis spacings, units and axis mins.
 */

/** Type names of the NRRD definition, with the sample type each stands for. */
const TYPES: Record<string, SampleType> = {};
for (const [t, names] of Object.entries({
  int8: ['signed char', 'int8', 'int8_t'],
  uint8: ['uchar', 'unsigned char', 'uint8', 'uint8_t'],
  int16: ['short', 'short int', 'signed short', 'signed short int', 'int16', 'int16_t'],
  uint16: ['ushort', 'unsigned short', 'unsigned short int', 'uint16', 'uint16_t'],
  int32: ['int', 'signed int', 'int32', 'int32_t'],
  uint32: ['uint', 'unsigned int', 'uint32', 'uint32_t'],
  int64: ['longlong', 'long long', 'long long int', 'signed long long', 'signed long long int', 'int64', 'int64_t'],
  uint64: ['ulonglong', 'unsigned long long', 'unsigned long long int', 'uint64', 'uint64_t'],
  float32: ['float'],
  float64: ['double'],
})) {
  for (const n of names) TYPES[n] = t as SampleType;
}

/** Field names, and the spellings without spaces that teem also accepts. */
const FIELDS = [
  'type',
  'dimension',
  'sizes',
  'encoding',
  'endian',
  'data file',
  'line skip',
  'byte skip',
  'content',
  'space',
  'space dimension',
  'space directions',
  'space origin',
  'space units',
  'measurement frame',
  'spacings',
  'thicknesses',
  'axis mins',
  'axis maxs',
  'centers',
  'centerings',
  'labels',
  'units',
  'kinds',
  'min',
  'max',
  'old min',
  'old max',
  'block size',
  'blocksize',
  'number',
  'sample units',
];
const ALIASES: Record<string, string> = {
  datafile: 'data file',
  lineskip: 'line skip',
  byteskip: 'byte skip',
  centerings: 'centers',
  blocksize: 'block size',
  oldmin: 'old min',
  oldmax: 'old max',
  axismins: 'axis mins',
  axismaxs: 'axis maxs',
};

/** Anatomical spaces (RAS is rhizoct's and NIfTI's frame) and the sign that takes each axis to RAS. */
const SPACES: Record<string, { name: string; flip: [number, number, number] }> = {
  'right-anterior-superior': { name: 'right-anterior-superior', flip: [1, 1, 1] },
  ras: { name: 'right-anterior-superior', flip: [1, 1, 1] },
  'left-anterior-superior': { name: 'left-anterior-superior', flip: [-1, 1, 1] },
  las: { name: 'left-anterior-superior', flip: [-1, 1, 1] },
  'left-posterior-superior': { name: 'left-posterior-superior', flip: [-1, -1, 1] },
  lps: { name: 'left-posterior-superior', flip: [-1, -1, 1] },
};
const PLAIN_SPACES = ['scanner-xyz', '3d-right-handed', '3d-left-handed'];

export function isNrrdMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x4e && bytes[1] === 0x52 && bytes[2] === 0x52 && bytes[3] === 0x44;
}

export interface NrrdHeader {
  readonly magic: string;
  /** Fields by canonical name (lower case, spaced), values trimmed. */
  readonly fields: ReadonlyMap<string, string>;
  /** Every line as written: fields and key:=value pairs, in order. */
  readonly asWritten: Readonly<Record<string, string>>;
  /** Byte just past the blank line that ends an attached header; undefined when none does. */
  readonly end: number | undefined;
}

function canonical(name: string): string {
  const n = name.trim().toLowerCase().replace(/\s+/g, ' ');
  return ALIASES[n] ?? ALIASES[n.replace(/ /g, '')] ?? n;
}

/** Where the header ends: just past the first empty line. */
function headerEnd(text: string): number | undefined {
  const m = /\r?\n\r?\n/.exec(text);
  return m ? m.index + m[0].length : undefined;
}

/** Parses the text of a NRRD header (the data after it, if any, is ignored). */
export function parseNrrdHeader(file: string, text: string): NrrdHeader {
  const end = headerEnd(text);
  const lines = text.slice(0, end ?? text.length).split(/\r?\n/);
  const magic = lines[0]!.trim();
  if (!/^NRRD000[1-5]$/.test(magic)) {
    throw new UnknownFormatError(file, `not a NRRD file: the first line is "${magic.slice(0, 40)}", expected NRRD0001 … NRRD0005`);
  }
  const fields = new Map<string, string>();
  const asWritten: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (line.trim() === '') break;
    if (line.startsWith('#')) continue;
    const colon = line.indexOf(': ');
    const name = colon > 0 ? canonical(line.slice(0, colon)) : '';
    if (colon > 0 && FIELDS.includes(name)) {
      if (fields.has(name)) throw new InvalidMetadataError(file, `NRRD field "${name}" appears twice`);
      const value = line.slice(colon + 2).trim();
      fields.set(name, value);
      asWritten[line.slice(0, colon).trim()] = value;
      continue;
    }
    const kv = line.indexOf(':=');
    if (kv > 0) {
      asWritten[line.slice(0, kv)] = line.slice(kv + 2);
      continue;
    }
    throw new InvalidMetadataError(
      file,
      `NRRD header line "${line.slice(0, 80)}" is neither a field ("name: value") nor a key:=value pair`,
    );
  }
  return { magic, fields, asWritten, end };
}

/** Values of a per-axis field of quoted strings, e.g. units: "mm" "mm" "mm". */
function quotedList(text: string): string[] {
  return [...text.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\"/g, '"'));
}

/** Vectors of space directions / space origin: "(1,0,0) none (0,0,2.5)"; none gives undefined. */
function vectors(file: string, field: string, text: string): (number[] | undefined)[] {
  const out: (number[] | undefined)[] = [];
  const re = /\(([^)]*)\)|none/gi;
  const rest = text.replace(re, '').trim();
  if (rest !== '') throw new InvalidMetadataError(file, `NRRD field ${field} is "${text}": expected vectors such as (1,0,0) or none`);
  for (const m of text.matchAll(re)) {
    if (m[1] === undefined) {
      out.push(undefined);
      continue;
    }
    out.push(m[1].split(',').map((s) => headerNumber(file, field, s)));
  }
  return out;
}

function cross(a: readonly number[], b: readonly number[]): number[] {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}

function unitOf(text: string): LengthUnit | undefined {
  return parseUnit(text);
}

interface NrrdGeometry {
  placement: RawPlacement;
  notes: string[];
}

/** Placement from the orientation fields, or from spacings/units/axis mins, or none. */
function geometry(file: string, h: NrrdHeader, spatial: number[]): NrrdGeometry {
  const f = h.fields;
  const notes: string[] = [];
  const spaceName = f.get('space');
  const spaceDimText = f.get('space dimension');
  const directions = f.get('space directions');
  if (spaceName !== undefined || spaceDimText !== undefined) {
    let flip: [number, number, number] = [1, 1, 1];
    let anatomical = false;
    let spaceDim: number;
    if (spaceName !== undefined) {
      const s = SPACES[spaceName.toLowerCase()];
      if (s) {
        flip = s.flip;
        anatomical = true;
        if (s.flip.some((v) => v < 0))
          notes.push(
            `world frame ${s.name} turned into rhizoct's (NIfTI's) right-anterior-superior: ${s.flip[0] < 0 ? 'x' : ''}${s.flip[1] < 0 ? ' and y' : ''} negated`,
          );
      } else if (!PLAIN_SPACES.includes(spaceName.toLowerCase())) {
        throw new UnsupportedError(
          file,
          `NRRD field "space: ${spaceName}" is not read; read are 3D spaces: right-anterior-superior, left-anterior-superior, left-posterior-superior, scanner-xyz, 3D-right-handed, 3D-left-handed`,
        );
      }
      spaceDim = 3;
    } else {
      spaceDim = headerNumber(file, 'space dimension', spaceDimText!, { integer: true, min: 1 });
      if (spaceDim > 3)
        throw new UnsupportedError(file, `NRRD "space dimension: ${spaceDim}" is not read; volumes in a space of 1 to 3 dimensions are`);
    }
    if (directions === undefined) throw new InvalidMetadataError(file, `NRRD header sets a space but has no "space directions" field`);
    const dirs = vectors(file, 'space directions', directions);
    const pad = (v: number[], what: string): number[] => {
      if (v.length !== spaceDim)
        throw new InvalidMetadataError(file, `NRRD ${what} has ${v.length} components but the space has ${spaceDim}`);
      return [...v, 0, 0, 0].slice(0, 3);
    };
    const axes = spatial.map((a) => pad(dirs[a]!, `space directions vector of axis ${a}`));
    for (const [i, v] of axes.entries()) {
      if (Math.hypot(...v) === 0) throw new InvalidMetadataError(file, `NRRD space directions vector of axis ${spatial[i]} is zero`);
    }
    // Axes a 2D image lacks: unit vectors orthogonal to the ones it has.
    if (axes.length === 1) axes.push(Math.abs(axes[0]![0]!) < 0.9 * Math.hypot(...axes[0]!) ? [1, 0, 0] : [0, 1, 0]);
    if (axes.length === 2) {
      const c = cross(axes[0]!, axes[1]!);
      const n = Math.hypot(...c) || 1;
      axes.push(c.map((v) => v / n));
    }
    const originText = f.get('space origin');
    const origin = originText === undefined ? [0, 0, 0] : pad(vectors(file, 'space origin', originText)[0] ?? [], 'space origin');
    const ras = affineFromDirections(
      axes.map((v) => v.map((c, r) => c * flip[r]!)),
      origin.map((c, r) => c * flip[r]!),
    );
    let unit: LengthUnit = '';
    const unitsText = f.get('space units');
    if (unitsText !== undefined) {
      const us = quotedList(unitsText);
      const u = unitOf(us[0] ?? '');
      if (u === undefined || us.some((x) => unitOf(x) !== u))
        notes.push(`space units ${unitsText} not read as one length unit: voxel size has no unit`);
      else unit = u;
    } else if (anatomical) {
      unit = 'millimeter';
      notes.push('no space units: millimetres assumed, as 3D Slicer and ITK do for anatomical spaces');
    }
    return { placement: placementOfAffine(ras, unit), notes };
  }
  if (directions !== undefined)
    throw new InvalidMetadataError(file, 'NRRD header has "space directions" but neither "space" nor "space dimension"');
  const size: number[] = [1, 1, 1];
  const origin: number[] = [0, 0, 0];
  let unit: LengthUnit = '';
  const spacings = f.get('spacings');
  if (spacings !== undefined) {
    const all = spacings
      .split(/\s+/)
      .filter(Boolean)
      .map((s) => (/^nan$/i.test(s) ? NaN : headerNumber(file, 'spacings', s)));
    const mins = f
      .get('axis mins')
      ?.split(/\s+/)
      .filter(Boolean)
      .map((s) => (/^nan$/i.test(s) ? NaN : headerNumber(file, 'axis mins', s)));
    const centers = f.get('centers')?.split(/\s+/).filter(Boolean);
    spatial.forEach((a, i) => {
      const s = all[a];
      if (s !== undefined && Number.isFinite(s) && s !== 0) {
        if (s < 0) notes.push(`spacing of axis ${a} is negative (${s}): its size is taken, the flip is not`);
        size[i] = Math.abs(s);
      }
      const m = mins?.[a];
      if (m !== undefined && Number.isFinite(m)) origin[i] = m + (centers?.[a]?.toLowerCase() === 'cell' ? size[i]! / 2 : 0);
    });
    const units = f.get('units');
    if (units !== undefined) {
      const us = spatial.map((a) => quotedList(units)[a] ?? '');
      const u = unitOf(us[0]!);
      if (u === undefined || us.some((x) => unitOf(x) !== u))
        notes.push(`units ${units} not read as one length unit: voxel size has no unit`);
      else unit = u;
    }
  }
  return {
    placement: { voxelSize: [size[2]!, size[1]!, size[0]!], unit, origin: [origin[2]!, origin[1]!, origin[0]!] },
    notes,
  };
}

/** The axes that are the volume's x, y, z (fastest first); the others must have one sample each. */
function spatialAxes(file: string, h: NrrdHeader, sizes: number[]): number[] {
  const dirsText = h.fields.get('space directions');
  const kinds = h.fields.get('kinds')?.split(/\s+/).filter(Boolean);
  const kindNote = (a: number): string => (kinds?.[a] ? ` (kind ${kinds[a]})` : '');
  let spatial: number[];
  if (dirsText !== undefined) {
    const dirs = vectors(file, 'space directions', dirsText);
    if (dirs.length !== sizes.length)
      throw new InvalidMetadataError(file, `NRRD space directions has ${dirs.length} entries but the dimension is ${sizes.length}`);
    spatial = sizes.map((_, a) => a).filter((a) => dirs[a] !== undefined);
  } else if (kinds && kinds.length === sizes.length) {
    // Without space directions the kinds tell space from values (RGB-color, vector, list, …).
    spatial = sizes.map((_, a) => a).filter((a) => ['domain', 'space', '???', 'none'].includes(kinds[a]!.toLowerCase()));
  } else {
    spatial = sizes.map((_, a) => a);
  }
  // Beyond three axes, axes of one sample carry no layout and are set aside.
  if (spatial.length > 3) spatial = spatial.filter((a) => sizes[a]! > 1);
  for (let a = 0; a < sizes.length; a++) {
    if (!spatial.includes(a) && sizes[a]! > 1) {
      throw new UnsupportedError(
        file,
        `NRRD axis ${a}${kindNote(a)} has ${sizes[a]} samples and no space direction: only scalar volumes (one value per voxel) are read`,
      );
    }
  }
  if (spatial.length > 3)
    throw new UnsupportedError(
      file,
      `NRRD data has ${spatial.length} axes of more than one sample (sizes: ${sizes.join(' ')}); only 3D volumes are read`,
    );
  if (spatial.length === 0) spatial = [0];
  return spatial;
}

/** Opens a .nrrd or .nhdr (with its data file); reads only the header and checks the data's size. */
export async function openNrrd(path: string): Promise<RawVolumeSource> {
  const { text, size: headerFileSize } = await withRangeFile(path, async (f) => {
    const r = await readHeaderText(f, 'NRRD header', headerEnd);
    return { text: r.text, size: f.size };
  });
  const h = parseNrrdHeader(path, text);
  const f = h.fields;
  const need = (name: string): string => {
    const v = f.get(name);
    if (v === undefined) throw new InvalidMetadataError(path, `NRRD header has no "${name}" field`);
    return v;
  };
  const typeText = need('type');
  const sampleType = TYPES[typeText.toLowerCase().replace(/\s+/g, ' ')];
  if (!sampleType) {
    throw new UnsupportedError(
      path,
      `NRRD field "type: ${typeText}" is not read; read are the integer types of 8 to 64 bits, float and double`,
    );
  }
  const dimension = headerNumber(path, 'dimension', need('dimension'), { integer: true, min: 1 });
  const sizes = headerNumbers(path, 'sizes', need('sizes'), undefined, { integer: true, min: 1 });
  if (sizes.length !== dimension)
    throw new InvalidMetadataError(path, `NRRD field "sizes: ${f.get('sizes')}" has ${sizes.length} values but "dimension: ${dimension}"`);
  const encoding = need('encoding').toLowerCase();
  let compression: 'gzip' | undefined;
  if (encoding === 'gzip' || encoding === 'gz') compression = 'gzip';
  else if (encoding !== 'raw') {
    throw new UnsupportedError(
      path,
      `NRRD field "encoding: ${f.get('encoding')}" is not read; read are raw and gzip (re-encode with \`teem-unu save -f nrrd -e gzip\`)`,
    );
  }
  let littleEndian = true;
  const endian = f.get('endian')?.toLowerCase();
  if (endian !== undefined && endian !== 'little' && endian !== 'big')
    throw new InvalidMetadataError(path, `NRRD field "endian: ${f.get('endian')}" must be little or big`);
  if (sampleBytes(sampleType) > 1) {
    if (endian === undefined) throw new InvalidMetadataError(path, `NRRD header has no "endian" field, which ${typeText} data needs`);
    littleEndian = endian === 'little';
  }
  if (f.has('block size')) throw new UnsupportedError(path, 'NRRD data of type block is not read');

  const spatial = spatialAxes(path, h, sizes);
  const { placement, notes } = geometry(path, h, spatial);
  const shape: Vec3 = [sizes[spatial[2]!] ?? 1, sizes[spatial[1]!] ?? 1, sizes[spatial[0]!]!];

  const dataFileText = f.get('data file');
  let file = path;
  let start: number;
  let fileSize = headerFileSize;
  if (dataFileText !== undefined) {
    if (
      /^list\b/i.test(dataFileText) ||
      (/%\d*[dui]/.test(dataFileText.split(/\s+/)[0]!) && dataFileText.trim().split(/\s+/).length >= 4)
    ) {
      throw new UnsupportedError(
        path,
        `NRRD field "data file: ${dataFileText}" names several data files; only a single data file is read (join them with \`teem-unu join\`)`,
      );
    }
    file = await findDataFile(path, dataFileText, 'its "data file" field');
    start = 0;
  } else {
    if (h.end === undefined) {
      throw new TruncatedError(
        path,
        `NRRD header has no empty line after it, so the file holds no data (a detached header names its data with "data file:")`,
      );
    }
    start = h.end;
  }
  const lineSkip = f.has('line skip') ? headerNumber(path, 'line skip', f.get('line skip')!, { integer: true, min: 0 }) : 0;
  const byteSkip = f.has('byte skip') ? headerNumber(path, 'byte skip', f.get('byte skip')!, { integer: true, min: -1 }) : 0;
  if (lineSkip > 0 || byteSkip === -1 || file !== path) {
    await withRangeFile(file, async (df) => {
      fileSize = df.size;
      if (lineSkip > 0) start = await skipLines(df, start, lineSkip, `"line skip: ${lineSkip}" in ${path}`);
    });
  }
  const bytes = rawDataBytes({ shape, sampleType });
  let layout: RawLayout;
  if (compression) {
    if (byteSkip === -1)
      throw new UnsupportedError(path, 'NRRD "byte skip: -1" (data at the end of the file) is defined for raw encoding only, not gzip');
    // The definition skips bytes after decompression.
    layout = { file, shape, sampleType, littleEndian, offset: byteSkip, compression: { format: 'gzip', start } };
  } else {
    const offset = byteSkip === -1 ? fileSize - bytes : start + byteSkip;
    if (offset < start) {
      throw new TruncatedError(
        file,
        `"byte skip: -1" in ${path} puts the ${bytes} bytes of data at the end of the file, but the file has only ${fileSize - start} bytes after the header`,
      );
    }
    layout = { file, shape, sampleType, littleEndian, offset };
  }
  return RawVolumeSource.open({
    format: 'nrrd',
    path,
    layout,
    placement,
    report: { header: { magic: h.magic, ...h.asWritten }, notes },
    sizeField: `"sizes: ${f.get('sizes')}" with "type: ${typeText}"`,
  });
}
