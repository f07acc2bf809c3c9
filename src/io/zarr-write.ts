import { access, rename, rm } from 'node:fs/promises';
import * as zarr from 'zarrita';
import { type Box, type Vec3, boxVoxels, fmtBox } from '../volume/box.js';
import { ChunkGrid } from '../volume/chunk-grid.js';
import { copyBox } from '../volume/copy.js';
import { levelShape } from '../volume/pyramid.js';
import type { LengthUnit } from '../volume/voxel-size.js';
import { InconsistentError, NotFoundError, OutOfBoundsError, OutputExistsError } from './errors.js';
import { mapLimit } from './limit.js';
import {
  buildMultiscale,
  imageAttributes,
  type LabelColor,
  labelImageAttributes,
  labelNames,
  labelsGroupAttributes,
  type NgffVersion,
  parseMultiscales,
} from './ome-ngff.js';
import { allocateVoxels, type Affine, type DType, dtypeOf, type VolumeMeta, type VolumeSink, type VoxelArray } from './volume.js';
import { type CompressionChoice, registerZarrCodecs, v2Compressor, v3Codecs } from './zarr-codecs.js';
import { readNode } from './zarr-meta.js';
import { AtomicFileStore } from './zarr-store.js';

export interface OmeZarrWriteOptions {
  /** 2 writes OME-NGFF 0.4 (read by zarr-python 2, napari, Fiji); 3 writes OME-NGFF 0.5. */
  readonly zarrFormat: 2 | 3;
  readonly chunkShape: Vec3;
  readonly compression: CompressionChoice;
  /** Number of pyramid levels, level 0 included; level l has shape ceil(shape / 2^l). */
  readonly levelCount: number;
  /** How levels 1.. are reduced, recorded as the multiscale's `type`. */
  readonly method: 'mean' | 'max' | 'mode';
  readonly name?: string;
  readonly overwrite?: boolean;
  /** Write labels/NAME into the existing OME-Zarr image at the path, instead of a new image. */
  readonly label?: string;
  readonly colors?: LabelColor[];
  /** Extra group attributes under the `rhizoct` key (e.g. where the data came from). */
  readonly provenance?: Record<string, unknown>;
}

const V2_DTYPE: Record<DType, string> = { uint8: '|u1', uint16: '<u2', int16: '<i2', float32: '<f4' };

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** JSON with every non-ASCII character escaped: zarr-python 2 decodes metadata as ASCII. */
function jsonBytes(o: unknown): Uint8Array {
  const text = JSON.stringify(o, null, 2).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return new TextEncoder().encode(`${text}\n`);
}

/**
 * Writes an OME-Zarr pyramid chunk by chunk. A new image is written under `PATH.partial`
 * and renamed to PATH by finalize(); a label image is written into labels/NAME of an
 * existing image. Either way the group metadata that makes it an OME-Zarr image is
 * written last, so an interrupted run never leaves output that looks complete. Every chunk
 * is written by an atomic rename.
 */
export class OmeZarrWriter {
  readonly levelShapes: Vec3[];
  readonly grids: ChunkGrid[];
  private finished = false;

  private constructor(
    readonly path: string,
    private readonly dir: string,
    private readonly prefix: string,
    private readonly store: AtomicFileStore,
    private readonly arrays: zarr.Array<zarr.DataType, AtomicFileStore>[],
    readonly meta: VolumeMeta,
    readonly opts: OmeZarrWriteOptions,
  ) {
    this.levelShapes = Array.from({ length: opts.levelCount }, (_, l) => levelShape(meta.shape, l));
    this.grids = this.levelShapes.map((s) => new ChunkGrid(s, clampChunks(opts.chunkShape, s)));
  }

  get ngffVersion(): NgffVersion {
    return this.opts.zarrFormat === 2 ? '0.4' : '0.5';
  }

  static async create(path: string, meta: VolumeMeta, opts: OmeZarrWriteOptions): Promise<OmeZarrWriter> {
    registerZarrCodecs();
    if (!(opts.levelCount >= 1)) throw new RangeError(`levelCount must be at least 1, got ${opts.levelCount}`);
    let dir: string;
    let prefix = '';
    let zarrFormat = opts.zarrFormat;
    if (opts.label !== undefined) {
      if (!/^[A-Za-z0-9_.-]+$/.test(opts.label))
        throw new RangeError(`label name ${JSON.stringify(opts.label)} must be letters, digits, '_', '-' or '.'`);
      dir = path;
      const store = new AtomicFileStore(path);
      const root = await readNode(store, path, '');
      if (!root || root.kind !== 'group') throw new NotFoundError(path, 'labels can only be added to an existing OME-Zarr image');
      const ms = parseMultiscales(root.file, root.attrs);
      if (!ms) throw new NotFoundError(root.file, 'is not an OME-Zarr image (no multiscales)');
      const l0 = await readNode(store, path, ms.levels[0]!.path);
      if (l0?.kind === 'array') {
        const s = ms.spatial.map((i) => l0.array.shape[i]!);
        if (s.join() !== meta.shape.join()) {
          throw new InconsistentError(
            path,
            `image level 0 has shape [${s.join(', ')}] but the label volume has [${meta.shape.join(', ')}]`,
          );
        }
      }
      zarrFormat = root.zarrFormat;
      prefix = `labels/${opts.label}`;
      const target = `${path}/${prefix}`;
      if (await exists(target)) {
        if (!opts.overwrite) throw new OutputExistsError(target, 'label image already exists (pass overwrite to replace it)');
        await rm(target, { recursive: true, force: true });
      }
    } else {
      if (!opts.overwrite && (await exists(path))) throw new OutputExistsError(path, 'already exists (pass overwrite to replace it)');
      dir = `${path}.partial`;
      // A leftover from an interrupted run is never a valid output; start afresh.
      await rm(dir, { recursive: true, force: true });
    }
    const o = { ...opts, zarrFormat };
    const store = new AtomicFileStore(dir);
    const arrays: zarr.Array<zarr.DataType, AtomicFileStore>[] = [];
    for (let l = 0; l < opts.levelCount; l++) {
      const key = prefix ? `${prefix}/${l}` : String(l);
      arrays.push(await createArray(store, key, levelShape(meta.shape, l), meta.dtype, o));
    }
    return new OmeZarrWriter(path, dir, prefix, store, arrays, meta, o);
  }

  /** Writes a box of level `level`; the box must be made of whole chunks (edge chunks may be cut short). */
  async writeLevelBox(level: number, box: Box, data: VoxelArray): Promise<number> {
    const grid = this.grids[level];
    if (!grid) throw new OutOfBoundsError(this.path, `no pyramid level ${level} (levels 0..${this.grids.length - 1})`);
    if (!grid.isAligned(box)) {
      throw new OutOfBoundsError(
        this.path,
        `level ${level}: ${fmtBox(box)} is not made of whole chunks ${grid.chunkShape.join('×')} of shape ${grid.shape.join('×')}`,
      );
    }
    if (dtypeOf(data) !== this.meta.dtype || data.length !== boxVoxels(box)) {
      throw new OutOfBoundsError(this.path, `writeBox got ${data.length} ${dtypeOf(data)} voxels for ${fmtBox(box)} of ${this.meta.dtype}`);
    }
    const arr = this.arrays[level]!;
    const chunks = [...grid.chunksIn(box)];
    await mapLimit(chunks, 4, async (c) => {
      const region = grid.chunkBox(c);
      const part = allocateVoxels(this.meta.dtype, boxVoxels(region));
      copyBox(data, box, part, region);
      const [nz, ny, nx] = region.shape;
      const sel = [0, 1, 2].map((a) => zarr.slice(region.offset[a]!, region.offset[a]! + region.shape[a]!));
      await zarr.set(arr, sel, { data: part, shape: [nz, ny, nx], stride: [ny * nx, nx, 1] } as zarr.Chunk<zarr.DataType>);
    });
    return chunks.length;
  }

  /** A VolumeSink view of one level. */
  levelSink(level: number): VolumeSink {
    const shape = this.levelShapes[level]!;
    const f = 2 ** level;
    return {
      path: this.path,
      shape,
      dtype: this.meta.dtype,
      voxelSize: [this.meta.voxelSize[0] * f, this.meta.voxelSize[1] * f, this.meta.voxelSize[2] * f],
      unit: this.meta.unit,
      origin: this.meta.origin,
      chunkShape: this.opts.chunkShape,
      writeBox: async (box, data) => {
        await this.writeLevelBox(level, box, data);
      },
      finalize: () => this.finalize(),
      abort: () => this.abort(),
    };
  }

  private multiscale(): Record<string, unknown> {
    return buildMultiscale(this.ngffVersion, {
      name: this.opts.name ?? this.opts.label ?? 'image',
      unit: this.meta.unit as LengthUnit,
      voxelSize: this.meta.voxelSize,
      origin: this.meta.origin,
      levelCount: this.opts.levelCount,
      method: this.opts.method,
    });
  }

  private provenance(): Record<string, unknown> {
    const rz: Record<string, unknown> = { ...(this.opts.provenance ?? {}) };
    if (this.meta.affine) rz.affine = this.meta.affine satisfies Affine;
    return Object.keys(rz).length ? { rhizoct: rz } : {};
  }

  private async writeGroup(key: string, attrs: Record<string, unknown>): Promise<void> {
    const p = key ? `${key}/` : '';
    if (this.opts.zarrFormat === 2) {
      await this.store.set(`/${p}.zgroup` as zarr.AbsolutePath, jsonBytes({ zarr_format: 2 }));
      await this.store.set(`/${p}.zattrs` as zarr.AbsolutePath, jsonBytes(attrs));
    } else {
      await this.store.set(`/${p}zarr.json` as zarr.AbsolutePath, jsonBytes({ zarr_format: 3, node_type: 'group', attributes: attrs }));
    }
  }

  /** Writes the group metadata (last) and, for a new image, moves it into place. */
  async finalize(): Promise<void> {
    if (this.finished) return;
    const v = this.ngffVersion;
    if (this.opts.label !== undefined) {
      const colors = this.opts.colors ?? [{ 'label-value': 1, rgba: [255, 128, 0, 255] }];
      await this.writeGroup(this.prefix, labelImageAttributes(v, this.multiscale(), colors, this.provenance()));
      const lg = await readNode(this.store, this.path, 'labels');
      const names = lg?.kind === 'group' ? labelNames(lg.attrs) : [];
      if (!names.includes(this.opts.label)) names.push(this.opts.label);
      await this.writeGroup('labels', labelsGroupAttributes(v, names));
    } else {
      await this.writeGroup('', imageAttributes(v, this.multiscale(), this.provenance()));
      if (await exists(this.path)) {
        const old = `${this.path}.old-${process.pid}`;
        await rename(this.path, old);
        await rename(this.dir, this.path);
        await rm(old, { recursive: true, force: true });
      } else {
        await rename(this.dir, this.path);
      }
    }
    this.finished = true;
  }

  /** Removes what was written: the partial image, or the unfinished label image. */
  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.opts.label !== undefined) await rm(`${this.path}/${this.prefix}`, { recursive: true, force: true });
    else await rm(this.dir, { recursive: true, force: true });
  }
}

async function createArray(
  store: AtomicFileStore,
  key: string,
  shape: Vec3,
  dtype: DType,
  opts: OmeZarrWriteOptions,
): Promise<zarr.Array<zarr.DataType, AtomicFileStore>> {
  const chunks = [...clampChunks(opts.chunkShape, shape)];
  const loc = zarr.root(store).resolve(key);
  if (opts.zarrFormat === 2) {
    const meta = {
      zarr_format: 2,
      shape: [...shape],
      chunks,
      dtype: V2_DTYPE[dtype],
      compressor: v2Compressor(opts.compression),
      fill_value: 0,
      order: 'C',
      filters: null,
      dimension_separator: '/',
    };
    await store.set(`/${key}/.zarray` as zarr.AbsolutePath, jsonBytes(meta));
    return zarr.open.v2(loc, { kind: 'array', attrs: false });
  }
  return zarr.create(loc, {
    shape: [...shape],
    chunkShape: chunks,
    dtype,
    codecs: v3Codecs(opts.compression, dtype),
    fillValue: 0,
    dimensionNames: ['z', 'y', 'x'],
  }) as Promise<zarr.Array<zarr.DataType, AtomicFileStore>>;
}

/** Chunks no larger than the array (a 40-voxel axis gets 40-voxel chunks, not 64). */
function clampChunks(chunk: Vec3, shape: Vec3): Vec3 {
  return [0, 1, 2].map((a) => Math.max(1, Math.min(chunk[a]!, shape[a]!))) as unknown as Vec3;
}
