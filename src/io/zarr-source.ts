import { stat } from 'node:fs/promises';
import * as zarr from 'zarrita';
import { type Box, type Vec3, boxVoxels, makeBox } from '../volume/box.js';
import { ChunkGrid } from '../volume/chunk-grid.js';
import { copyBox, type NumArray } from '../volume/copy.js';
import type { LengthUnit } from '../volume/voxel-size.js';
import { CorruptDataError, InvalidMetadataError, MissingChunkError, NotFoundError, UnsupportedError, VolumeIoError } from './errors.js';
import { mapLimit } from './limit.js';
import { labelNames, parseMultiscales, type ParsedMultiscale } from './ome-ngff.js';
import { allocateVoxels, type Affine, checkBoxInside, type DType, type VolumeSource, type VoxelArray } from './volume.js';
import { registerZarrCodecs } from './zarr-codecs.js';
import { type ArrayMeta, joinKey, type NodeMeta, type ReadStore, readNode } from './zarr-meta.js';
import { AtomicFileStore } from './zarr-store.js';

export interface ZarrOpenOptions {
  /** Pyramid level to read (0 = full resolution). */
  readonly level?: number;
  /** Read the label image labels/NAME instead of the image. */
  readonly label?: string;
  /**
   * A chunk absent from the store is the fill value by the Zarr spec ('fill', the default);
   * 'error' treats it as damage, for outputs that are always written densely.
   */
  readonly missingChunks?: 'fill' | 'error';
}

export interface ZarrLevel {
  readonly path: string;
  readonly shape: Vec3;
  readonly chunkShape: Vec3;
  readonly voxelSize: Vec3;
  readonly origin: Vec3;
  readonly dataType: string;
  readonly compression: string;
}

const READ_AS: Record<string, DType> = {
  uint8: 'uint8',
  uint16: 'uint16',
  int16: 'int16',
  float32: 'float32',
  int8: 'int16',
  uint32: 'float32',
  int32: 'float32',
  float64: 'float32',
};

export function isUrl(p: string): boolean {
  return /^https?:\/\//i.test(p);
}

/** Fails a read of an absent chunk instead of letting it become the fill value. */
class StrictChunkStore implements ReadStore {
  constructor(
    private readonly inner: ReadStore,
    private readonly base: string,
  ) {}
  async get(key: zarr.AbsolutePath, opts?: zarr.GetOptions): Promise<Uint8Array | undefined> {
    const v = await this.inner.get(key, opts);
    if (v === undefined && !/(^|\/)(\.zarray|\.zattrs|\.zgroup|\.zmetadata|zarr\.json)$/.test(key)) {
      throw new MissingChunkError(joinKey(this.base, key), 'chunk is missing');
    }
    return v;
  }
}

function openStore(path: string): ReadStore {
  return isUrl(path) ? new zarr.FetchStore(path.replace(/\/+$/, '')) : new AtomicFileStore(path);
}

/** A level (or plain array) of a Zarr store, read chunk by chunk. */
export class ZarrSource implements VolumeSource {
  readonly format: 'ome-zarr' | 'zarr';
  readonly shape: Vec3;
  readonly dtype: DType;
  readonly voxelSize: Vec3;
  readonly unit: LengthUnit;
  readonly origin: Vec3;
  readonly chunkShape: Vec3;
  readonly affine?: Affine;

  constructor(
    readonly path: string,
    readonly zarrFormat: 2 | 3,
    readonly ngffVersion: string | undefined,
    readonly levels: readonly ZarrLevel[],
    readonly level: number,
    readonly labels: readonly string[],
    private readonly array: zarr.Array<zarr.DataType, ReadStore>,
    private readonly spatial: [number, number, number],
    private readonly arrayFile: string,
    unit: LengthUnit,
    readonly multiscaleType: string | undefined,
    affine: Affine | undefined,
  ) {
    const lv = levels[level]!;
    this.format = ngffVersion === undefined ? 'zarr' : 'ome-zarr';
    this.shape = lv.shape;
    this.chunkShape = lv.chunkShape;
    this.voxelSize = lv.voxelSize;
    this.origin = lv.origin;
    this.unit = unit;
    this.dtype = READ_AS[lv.dataType]!;
    if (affine && level === 0) this.affine = affine;
  }

  async readBox(box: Box): Promise<VoxelArray> {
    checkBoxInside(this.path, this.shape, box);
    const out = allocateVoxels(this.dtype, boxVoxels(box));
    if (out.length === 0) return out;
    const grid = new ChunkGrid(this.shape, this.chunkShape);
    const chunks = [...grid.chunksIn(box)];
    await mapLimit(chunks, 8, async (c) => {
      const coords = new Array<number>(this.array.shape.length).fill(0);
      this.spatial.forEach((axis, i) => (coords[axis] = c[i]!));
      const key = coords.join('/');
      let chunk: zarr.Chunk<zarr.DataType>;
      try {
        chunk = await this.array.getChunk(coords);
      } catch (err) {
        if (err instanceof VolumeIoError) throw err;
        if (zarr.isZarritaError(err, 'CodecPipelineError')) {
          const cause = (err as Error).cause as Error | undefined;
          throw new CorruptDataError(
            this.arrayFile,
            `chunk ${key} does not decode (${err.message}${cause?.message ? `: ${cause.message}` : ''})`,
            { cause: err },
          );
        }
        if (zarr.isZarritaError(err, 'UnknownCodecError')) throw new UnsupportedError(this.arrayFile, err.message, { cause: err });
        throw err;
      }
      const full = makeBox([c[0] * this.chunkShape[0], c[1] * this.chunkShape[1], c[2] * this.chunkShape[2]], this.chunkShape);
      const data = chunk.data as unknown as NumArray;
      if (data.length !== boxVoxels(full) * nonSpatialSize(chunk.shape, this.spatial)) {
        throw new CorruptDataError(this.arrayFile, `chunk ${key} decodes to ${data.length} values, expected ${boxVoxels(full)}`);
      }
      copyBox(toZyx(chunk, this.spatial), full, out, box);
    });
    return out;
  }

  async close(): Promise<void> {}
}

function nonSpatialSize(shape: number[], spatial: [number, number, number]): number {
  return shape.reduce((a, n, i) => (spatial.includes(i) ? a : a * n), 1);
}

/** A chunk's data as a C-ordered z, y, x array (other axes at index 0), converted to a read type. */
function toZyx(chunk: zarr.Chunk<zarr.DataType>, spatial: [number, number, number]): NumArray {
  const data = chunk.data as unknown as NumArray;
  const [az, ay, ax] = spatial;
  const [nz, ny, nx] = [chunk.shape[az]!, chunk.shape[ay]!, chunk.shape[ax]!];
  const [sz, sy, sx] = [chunk.stride[az]!, chunk.stride[ay]!, chunk.stride[ax]!];
  if (chunk.shape.length === 3 && sx === 1 && sy === nx && sz === nx * ny) return data;
  const out = new Float64Array(nz * ny * nx);
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) out[i++] = data[z * sz + y * sy + x * sx]!;
    }
  }
  return out;
}

function levelOf(
  file: string,
  meta: ArrayMeta,
  path: string,
  spatial: [number, number, number],
  scale: number[],
  translation: number[],
): ZarrLevel {
  if (!READ_AS[meta.dataType])
    throw new UnsupportedError(file, `data type ${meta.dataType} is not read; read are ${Object.keys(READ_AS).join(', ')}`);
  meta.shape.forEach((n, i) => {
    if (!spatial.includes(i) && n !== 1) {
      throw new UnsupportedError(file, `axis ${i} has ${n} entries; only single-channel, single-timepoint volumes are read`);
    }
  });
  const pick = (v: number[]): Vec3 => [v[spatial[0]]!, v[spatial[1]]!, v[spatial[2]]!];
  return {
    path,
    shape: pick(meta.shape),
    chunkShape: pick(meta.chunks),
    voxelSize: pick(scale),
    origin: pick(translation),
    dataType: meta.dataType,
    compression: meta.compression,
  };
}

async function openArray(store: ReadStore, path: string, fmt: 2 | 3): Promise<zarr.Array<zarr.DataType, ReadStore>> {
  const loc = zarr.root(store).resolve(path || '.');
  return fmt === 2 ? zarr.open.v2(loc, { kind: 'array', attrs: false }) : zarr.open.v3(loc, { kind: 'array' });
}

/** Opens an OME-Zarr image (v0.4/Zarr v2 or v0.5/Zarr v3), one of its labels, or a plain 3D Zarr array; reads metadata only. */
export async function openZarr(path: string, opts: ZarrOpenOptions = {}): Promise<ZarrSource> {
  registerZarrCodecs();
  if (!isUrl(path)) {
    const st = await stat(path).catch(() => undefined);
    if (!st) throw new NotFoundError(path, 'no such file or folder');
    if (!st.isDirectory()) throw new NotFoundError(path, 'a Zarr store is a folder, this is a file');
  }
  const raw = openStore(path);
  const store = opts.missingChunks === 'error' ? new StrictChunkStore(raw, path) : raw;
  const root = await readNode(raw, path, '');
  if (!root) throw new NotFoundError(path, 'holds no Zarr metadata (zarr.json for Zarr v3, .zgroup or .zarray for v2)');
  let labels: string[] = [];
  if (root.kind === 'group') {
    const lg = await readNode(raw, path, 'labels');
    if (lg?.kind === 'group') labels = labelNames(lg.attrs);
  }
  let node: NodeMeta = root;
  let prefix = '';
  if (opts.label !== undefined) {
    prefix = `labels/${opts.label}`;
    const n = await readNode(raw, path, prefix);
    if (!n) throw new NotFoundError(joinKey(path, prefix), `has no label image "${opts.label}" (labels: ${labels.join(', ') || 'none'})`);
    node = n;
  }
  const level = opts.level ?? 0;
  if (node.kind === 'array') {
    if (level !== 0) throw new NotFoundError(path, `is a single Zarr array; it has no pyramid level ${level}`);
    const spatial = spatialOfPlain(node.file, node.array.shape.length);
    const lv = levelOf(
      node.file,
      node.array,
      prefix,
      spatial,
      new Array(node.array.shape.length).fill(1),
      new Array(node.array.shape.length).fill(0),
    );
    const arr = await openArray(store, prefix, node.zarrFormat);
    return new ZarrSource(path, node.zarrFormat, undefined, [lv], 0, labels, arr, spatial, node.file, '', undefined, undefined);
  }
  const ms: ParsedMultiscale | undefined = parseMultiscales(node.file, node.attrs);
  if (!ms) throw new InvalidMetadataError(node.file, 'is a Zarr group without OME-NGFF multiscales metadata');
  const levels: ZarrLevel[] = [];
  for (const d of ms.levels) {
    const key = prefix ? `${prefix}/${d.path}` : d.path;
    const an = await readNode(raw, path, key);
    if (!an || an.kind !== 'array')
      throw new NotFoundError(joinKey(path, key), 'pyramid level listed in multiscales has no array metadata');
    if (an.array.shape.length !== ms.axes.length) {
      throw new InvalidMetadataError(an.file, `array has ${an.array.shape.length} dimensions but multiscales lists ${ms.axes.length} axes`);
    }
    levels.push(levelOf(an.file, an.array, key, ms.spatial, d.scale, d.translation));
  }
  if (!Number.isInteger(level) || level < 0 || level >= levels.length) {
    throw new NotFoundError(path, `has pyramid levels 0..${levels.length - 1}; level ${level} does not exist`);
  }
  const arr = await openArray(store, levels[level]!.path, node.zarrFormat);
  const rz = node.attrs.rhizoct as { affine?: unknown } | undefined;
  const affine = Array.isArray(rz?.affine) ? (rz.affine as Affine) : undefined;
  const arrayFile = joinKey(path, levels[level]!.path);
  return new ZarrSource(
    path,
    node.zarrFormat,
    ms.version || (node.zarrFormat === 3 ? '0.5' : '0.4'),
    levels,
    level,
    labels,
    arr,
    ms.spatial,
    arrayFile,
    ms.unit,
    ms.type,
    affine,
  );
}

/** A plain array's last three axes are taken as z, y, x. */
function spatialOfPlain(file: string, ndim: number): [number, number, number] {
  if (ndim < 3) throw new UnsupportedError(file, `array has ${ndim} dimensions; a volume needs 3`);
  return [ndim - 3, ndim - 2, ndim - 1];
}
