import type { Vec3 } from '../volume/box.js';
import type { LengthUnit } from '../volume/voxel-size.js';
import { InvalidMetadataError, TruncatedError, UnknownFormatError, UnsupportedError } from './errors.js';
import { withRangeFile } from './file-range.js';
import { affineFromDirections, flipLpsRas, placementOfAffine, type RawLayout, RawVolumeSource, rawDataBytes } from './raw-volume.js';
import type { SampleType } from './sample-type.js';
import { findDataFile, headerNumber, headerNumbers, readHeaderText } from './text-header.js';

/**
 * MetaImage (ITK's and VTK's .mha / .mhd + .raw/.zraw): a text header of "Key = Value" lines
 * ending with ElementDataFile, then (LOCAL) the data in the same file or in the file it
 * names. Compressed data (CompressedData = True) is one zlib stream. Positions and
 * directions are in ITK's LPS world; rhizoct's (NIfTI's) is RAS, so x and y are negated.
 */

const TYPES: Record<string, SampleType> = {
  MET_CHAR: 'int8',
  MET_UCHAR: 'uint8',
  MET_SHORT: 'int16',
  MET_USHORT: 'uint16',
  MET_INT: 'int32',
  MET_UINT: 'uint32',
  MET_LONG: 'int32',
  MET_ULONG: 'uint32',
  MET_LONG_LONG: 'int64',
  MET_ULONG_LONG: 'uint64',
  MET_FLOAT: 'float32',
  MET_DOUBLE: 'float64',
};

/** Canonical key names (MetaIO's spelling) by lower case, with the synonyms MetaIO accepts. */
const KEYS: Record<string, string> = {};
for (const k of [
  'ObjectType',
  'ObjectSubType',
  'NDims',
  'DimSize',
  'ElementType',
  'ElementDataFile',
  'BinaryData',
  'BinaryDataByteOrderMSB',
  'ElementByteOrderMSB',
  'CompressedData',
  'CompressedDataSize',
  'HeaderSize',
  'ElementSpacing',
  'ElementSize',
  'Offset',
  'Position',
  'Origin',
  'TransformMatrix',
  'Rotation',
  'Orientation',
  'CenterOfRotation',
  'AnatomicalOrientation',
  'ElementNumberOfChannels',
  'ElementMin',
  'ElementMax',
  'Modality',
  'Comment',
  'Name',
  'ID',
  'ParentID',
  'Color',
  'TransformType',
]) {
  KEYS[k.toLowerCase()] = k;
}

export interface MetaImageHeader {
  /** Keys by canonical name; unknown keys by their own. */
  readonly fields: ReadonlyMap<string, string>;
  readonly asWritten: Readonly<Record<string, string>>;
  /** Byte just past the ElementDataFile line; undefined when there is none. */
  readonly end: number | undefined;
}

/** True when a file's first bytes look like a MetaImage header. */
export function isMetaImageText(bytes: Uint8Array): boolean {
  const t = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  return /^\s*(ObjectType|NDims|ObjectSubType|Comment)\s*=/i.test(t);
}

function headerEnd(text: string): number | undefined {
  const m = /^[ \t]*ElementDataFile[ \t]*=[^\n]*\n/im.exec(text);
  return m ? m.index + m[0].length : undefined;
}

export function parseMetaImageHeader(file: string, text: string): MetaImageHeader {
  const end = headerEnd(text);
  const fields = new Map<string, string>();
  const asWritten: Record<string, string> = {};
  for (const line of text.slice(0, end ?? text.length).split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) {
      throw new (fields.size === 0 ? UnknownFormatError : InvalidMetadataError)(
        file,
        `MetaImage header line "${line.slice(0, 80)}" is not "Key = Value"`,
      );
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const name = KEYS[key.toLowerCase()] ?? key;
    if (fields.has(name)) throw new InvalidMetadataError(file, `MetaImage key ${name} appears twice`);
    fields.set(name, value);
    asWritten[key] = value;
  }
  return { fields, asWritten, end };
}

function bool(file: string, key: string, text: string | undefined, dflt: boolean): boolean {
  if (text === undefined) return dflt;
  const t = text.toLowerCase();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw new InvalidMetadataError(file, `MetaImage ${key} = ${text}: expected True or False`);
}

/** Opens a .mha, or a .mhd with its data file; reads only the header and checks the data's size. */
export async function openMetaImage(path: string): Promise<RawVolumeSource> {
  const { text, fileSize } = await withRangeFile(path, async (f) => {
    const r = await readHeaderText(f, 'MetaImage header', headerEnd);
    return { text: r.text, fileSize: f.size };
  });
  const h = parseMetaImageHeader(path, text);
  const f = h.fields;
  if (h.end === undefined) throw new InvalidMetadataError(path, 'MetaImage header has no ElementDataFile line (it must end the header)');
  const need = (key: string): string => {
    const v = f.get(key);
    if (v === undefined) throw new InvalidMetadataError(path, `MetaImage header has no ${key}`);
    return v;
  };
  const objectType = f.get('ObjectType');
  if (objectType !== undefined && objectType.toLowerCase() !== 'image')
    throw new UnsupportedError(path, `MetaImage ObjectType = ${objectType}: only Image is read`);
  const ndims = headerNumber(path, 'NDims', need('NDims'), { integer: true, min: 1 });
  const dims = headerNumbers(path, 'DimSize', need('DimSize'), ndims, { integer: true, min: 1 });
  if (ndims > 3 && dims.slice(3).some((d) => d > 1))
    throw new UnsupportedError(path, `MetaImage DimSize = ${f.get('DimSize')}: only 3D volumes are read`);
  const typeText = need('ElementType');
  const sampleType = TYPES[typeText.toUpperCase()];
  if (!sampleType)
    throw new UnsupportedError(path, `MetaImage ElementType = ${typeText} is not read; read are ${Object.keys(TYPES).join(', ')}`);
  const channels = f.has('ElementNumberOfChannels')
    ? headerNumber(path, 'ElementNumberOfChannels', f.get('ElementNumberOfChannels')!, { integer: true, min: 1 })
    : 1;
  if (channels !== 1) throw new UnsupportedError(path, `MetaImage ElementNumberOfChannels = ${channels}: only one value per voxel is read`);
  if (!bool(path, 'BinaryData', f.get('BinaryData'), true))
    throw new UnsupportedError(path, 'MetaImage BinaryData = False (text voxels) is not read');
  const msbKey = f.has('BinaryDataByteOrderMSB') ? 'BinaryDataByteOrderMSB' : 'ElementByteOrderMSB';
  const littleEndian = !bool(path, msbKey, f.get(msbKey), false);
  const compressed = bool(path, 'CompressedData', f.get('CompressedData'), false);

  // Geometry: the first three axes; ElementSpacing wins over ElementSize, as in MetaIO.
  const n3 = Math.min(ndims, 3);
  const vec = (key: string, count: number): number[] | undefined =>
    (f.has(key) ? headerNumbers(path, key, f.get(key)!, undefined) : undefined)?.slice(0, count);
  const spacingKey = f.has('ElementSpacing') ? 'ElementSpacing' : f.has('ElementSize') ? 'ElementSize' : undefined;
  const spacing = spacingKey ? vec(spacingKey, n3)! : [1, 1, 1];
  if (spacingKey && (spacing.length < n3 || spacing.some((s) => !(s > 0)))) {
    throw new InvalidMetadataError(path, `MetaImage ${spacingKey} = ${f.get(spacingKey)}: expected ${ndims} positive numbers`);
  }
  const originKey = ['Offset', 'Position', 'Origin'].find((k) => f.has(k));
  const origin = originKey ? vec(originKey, n3)! : [0, 0, 0];
  if (origin.length < n3) throw new InvalidMetadataError(path, `MetaImage ${originKey} = ${f.get(originKey!)}: expected ${ndims} numbers`);
  const matrixKey = ['TransformMatrix', 'Rotation', 'Orientation'].find((k) => f.has(k));
  const m = matrixKey ? headerNumbers(path, matrixKey, f.get(matrixKey)!, ndims * ndims) : undefined;
  // TransformMatrix lists each axis's direction in turn (ITK's MetaImageIO reads it so).
  const dirs = [0, 1, 2].map((a) =>
    [0, 1, 2].map((c) => (a < ndims && c < ndims ? (m ? m[a * ndims + c]! : a === c ? 1 : 0) : a === c ? 1 : 0)),
  );
  const lps = affineFromDirections(
    dirs.map((d, a) => d.map((c) => c * (spacing[a] ?? 1))),
    [0, 1, 2].map((c) => origin[c] ?? 0),
  );
  const notes = [
    "positions and directions are in ITK's left-posterior-superior world, turned into rhizoct's (NIfTI's) right-anterior-superior: x and y negated",
  ];
  let unit: LengthUnit = '';
  if (spacingKey) {
    unit = 'millimeter';
    notes.push('MetaImage records no unit: millimetres assumed, as ITK and 3D Slicer do');
  }
  const placement = placementOfAffine(flipLpsRas(lps), unit);
  const shape: Vec3 = [dims[2] ?? 1, dims[1] ?? 1, dims[0]!];

  const dataText = need('ElementDataFile');
  let file = path;
  let dataStart = h.end;
  let size = fileSize;
  if (dataText.toUpperCase() !== 'LOCAL') {
    if (/^list\b/i.test(dataText) || /%\d*[dui]/.test(dataText)) {
      throw new UnsupportedError(path, `MetaImage ElementDataFile = ${dataText} names one file per slice; only a single data file is read`);
    }
    file = await findDataFile(path, dataText, 'ElementDataFile');
    dataStart = 0;
    size = await withRangeFile(file, async (df) => df.size);
  }
  const headerSize = f.has('HeaderSize') ? headerNumber(path, 'HeaderSize', f.get('HeaderSize')!, { integer: true, min: -1 }) : 0;
  const bytes = rawDataBytes({ shape, sampleType });
  let layout: RawLayout;
  let compressedBytes: number | undefined;
  if (compressed) {
    if (headerSize === -1)
      throw new UnsupportedError(path, 'MetaImage HeaderSize = -1 (data at the end of the file) is not read for compressed data');
    if (f.has('CompressedDataSize'))
      compressedBytes = headerNumber(path, 'CompressedDataSize', f.get('CompressedDataSize')!, { integer: true, min: 1 });
    layout = { file, shape, sampleType, littleEndian, offset: 0, compression: { format: 'zlib', start: dataStart + headerSize } };
  } else {
    const offset = headerSize === -1 ? size - bytes : dataStart + headerSize;
    if (offset < dataStart) {
      throw new TruncatedError(
        file,
        `HeaderSize = -1 in ${path} puts the ${bytes} bytes of data at the end of the file, but it has only ${size - dataStart}`,
      );
    }
    layout = { file, shape, sampleType, littleEndian, offset };
  }
  return RawVolumeSource.open({
    format: 'metaimage',
    path,
    layout,
    placement,
    report: { header: h.asWritten, notes },
    sizeField: `DimSize = ${f.get('DimSize')} with ElementType = ${typeText}`,
    ...(compressedBytes !== undefined ? { compressedBytes } : {}),
  });
}
