import * as zarr from 'zarrita';
import { parseMultiscales } from '../../src/io/ome-ngff.js';
import type { StoreRef } from '../../src/pipeline/viewer-config.js';
import { reducedShape, type Vec3 } from './levels.js';

/**
 * OME-Zarr in the browser: the same multiscales parsing as `src/io` (parseMultiscales), zarrita's
 * FetchStore for the bytes. A level is read whole, chunk by chunk, into one typed array laid out
 * z, y, x with x fastest (what vtkImageData wants, x being its first axis).
 */

export type { StoreRef };

export type Voxels = Uint8Array | Int8Array | Uint16Array | Int16Array | Float32Array;

export interface Level {
  index: number;
  path: string;
  /** z, y, x. */
  shape: Vec3;
  chunks: Vec3;
  /** Voxel size z, y, x in the image's unit. */
  spacing: Vec3;
  /** Centre of voxel (0, 0, 0), z, y, x. */
  origin: Vec3;
  dtype: string;
  bytesPerVoxel: number;
}

export interface LoadedLevel {
  level: Level;
  data: Voxels;
}

type ZArray = zarr.Array<zarr.DataType, zarr.FetchStore>;

const BYTES: Record<string, number> = { uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, float64: 8, bool: 1 };

/** An absolute URL for a store given relative to the page. */
export function absoluteUrl(url: string, base: string = location.href): string {
  return new URL(url.replace(/\/+$/, ''), base).href.replace(/\/+$/, '');
}

export class OmeImage {
  private constructor(
    readonly url: string,
    readonly name: string,
    readonly unit: string,
    readonly levels: Level[],
    readonly labels: string[],
    /** RGBA 0–255 of label value 1 from `image-label.colors`, for label images. */
    readonly labelColor: [number, number, number, number] | undefined,
    readonly multiscaleName: string | undefined,
    readonly zarrFormat: 2 | 3,
    private readonly arrays: ZArray[],
    private readonly spatial: [number, number, number],
  ) {}

  /**
   * Opens the image at the store's root, or the label image `sub` (e.g. "labels/roots").
   * Reads metadata only.
   */
  static async open(ref: StoreRef, sub = '', fresh = false): Promise<OmeImage> {
    const url = absoluteUrl(ref.url);
    // `fresh`: never from the browser's cache (a label being painted changes under the page).
    const store = new zarr.FetchStore(url, fresh ? { overrides: { cache: 'no-store' } } : undefined);
    let fmt = ref.zarrFormat;
    if (fmt === undefined) fmt = (await store.get('/zarr.json' as zarr.AbsolutePath)) ? 3 : 2;
    const root = zarr.root(store);
    const loc = sub ? root.resolve(sub) : root;
    const where = sub ? `${url}/${sub}` : url;
    let group: zarr.Group<zarr.FetchStore>;
    try {
      group = fmt === 2 ? await zarr.open.v2(loc, { kind: 'group' }) : await zarr.open.v3(loc, { kind: 'group' });
    } catch (err) {
      throw new Error(`${where}: no OME-Zarr image here (${(err as Error).message})`, { cause: err });
    }
    const attrs = group.attrs as Record<string, unknown>;
    const ms = parseMultiscales(`${where}/${fmt === 2 ? '.zattrs' : 'zarr.json'}`, attrs);
    if (!ms) throw new Error(`${where}: a Zarr group without OME-NGFF multiscales metadata`);
    const arrays: ZArray[] = [];
    const levels: Level[] = [];
    const pick = (v: readonly number[]): Vec3 => [v[ms.spatial[0]]!, v[ms.spatial[1]]!, v[ms.spatial[2]]!];
    for (const [i, d] of ms.levels.entries()) {
      const aloc = loc.resolve(d.path);
      const arr = (
        fmt === 2 ? await zarr.open.v2(aloc, { kind: 'array', attrs: false }) : await zarr.open.v3(aloc, { kind: 'array' })
      ) as ZArray;
      if (arr.shape.length !== ms.axes.length)
        throw new Error(`${where}/${d.path}: array has ${arr.shape.length} dimensions but multiscales lists ${ms.axes.length} axes`);
      const bytes = BYTES[arr.dtype];
      if (bytes === undefined) throw new Error(`${where}/${d.path}: data type ${arr.dtype} cannot be shown`);
      arrays.push(arr);
      levels.push({
        index: i,
        path: d.path,
        shape: pick(arr.shape),
        chunks: pick(arr.chunks),
        spacing: pick(d.scale),
        origin: pick(d.translation),
        dtype: arr.dtype,
        bytesPerVoxel: bytes,
      });
    }
    const il = attrs['image-label'] as { colors?: { 'label-value'?: number; rgba?: number[] }[] } | undefined;
    const c = il?.colors?.find((x) => x['label-value'] === 1)?.rgba;
    const labelColor = Array.isArray(c) && c.length === 4 ? (c as [number, number, number, number]) : undefined;
    let labels = ref.labels;
    if (labels === undefined && !sub) labels = await listLabels(root, fmt);
    return new OmeImage(
      url,
      ref.name ?? url.slice(url.lastIndexOf('/') + 1),
      ms.unit,
      levels,
      labels ?? [],
      labelColor,
      ms.name,
      fmt,
      arrays,
      ms.spatial,
    );
  }

  /**
   * Reads a whole level; `onChunk(done, total)` after each chunk. With `factor` f > 1 only every
   * f-th voxel along each axis is kept ('stride', for images) or each f³ block is reduced to its
   * maximum ('max', for masks, so thin roots survive), chunk by chunk: memory stays that of the
   * reduced level.
   */
  async read(
    index: number,
    onChunk: (done: number, total: number) => void = () => {},
    signal?: AbortSignal,
    factor = 1,
    reduce: 'stride' | 'max' = 'stride',
  ): Promise<LoadedLevel> {
    const full = this.levels[index];
    const arr = this.arrays[index];
    if (!full || !arr) throw new Error(`${this.url}: no level ${index}`);
    const f = Math.max(1, Math.round(factor));
    const level: Level =
      f === 1
        ? full
        : {
            ...full,
            shape: reducedShape(full.shape, f),
            spacing: full.spacing.map((v) => v * f) as Vec3,
            origin: reduce === 'max' ? (full.origin.map((o, a) => o + ((f - 1) / 2) * full.spacing[a]!) as Vec3) : full.origin,
          };
    const [nz, ny, nx] = full.shape;
    const [cz, cy, cx] = full.chunks;
    const out = allocate(level.dtype, level.shape[0] * level.shape[1] * level.shape[2]);
    const grid: Vec3 = [Math.ceil(nz / cz), Math.ceil(ny / cy), Math.ceil(nx / cx)];
    const total = grid[0] * grid[1] * grid[2];
    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const k = next++;
        if (k >= total) return;
        if (signal?.aborted) throw new Error('loading cancelled');
        const iz = Math.floor(k / (grid[1] * grid[2]));
        const iy = Math.floor(k / grid[2]) % grid[1];
        const ix = k % grid[2];
        const coords = new Array<number>(arr.shape.length).fill(0);
        coords[this.spatial[0]] = iz;
        coords[this.spatial[1]] = iy;
        coords[this.spatial[2]] = ix;
        let chunk: zarr.Chunk<zarr.DataType>;
        try {
          chunk = await arr.getChunk(coords);
        } catch (err) {
          const cause = (err as Error).cause as Error | undefined;
          throw new Error(
            `${this.url}/${level.path}: chunk ${coords.join('/')} could not be read (${(err as Error).message}${cause?.message ? `: ${cause.message}` : ''})`,
            { cause: err },
          );
        }
        if (f === 1) copyChunk(chunk, this.spatial, [iz * cz, iy * cy, ix * cx], level.shape, out);
        else reduceChunk(chunk, this.spatial, [iz * cz, iy * cy, ix * cx], full.shape, f, reduce, level.shape, out);
        onChunk(++done, total);
      }
    };
    await Promise.all(Array.from({ length: Math.min(6, total) }, worker));
    return { level, data: out };
  }

  /**
   * Slice `k` along spatial `axis` (0 z, 1 y, 2 x) of a level, only the chunks it crosses: rows
   * are the lower remaining axis, columns the higher (a z slice is y rows of x).
   */
  async readSlice(index: number, axis: 0 | 1 | 2, k: number): Promise<SliceData> {
    const lv = this.levels[index];
    const arr = this.arrays[index];
    if (!lv || !arr) throw new Error(`${this.url}: no level ${index}`);
    const sel: (number | null)[] = new Array<number | null>(arr.shape.length).fill(0);
    for (let a = 0; a < 3; a++) sel[this.spatial[a]!] = a === axis ? k : null;
    const [ra, ca] = axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
    const rows = lv.shape[ra]!;
    const cols = lv.shape[ca]!;
    const got = (await zarr.get(arr, sel)) as zarr.Chunk<zarr.DataType>;
    // After the integer index, the result keeps the other axes in the array's order.
    const rowAxis = this.spatial[ra]! < this.spatial[ca]! ? 0 : 1;
    const keptStrides = got.stride;
    const sr = keptStrides[rowAxis]!;
    const sc = keptStrides[1 - rowAxis]!;
    const src = got.data as unknown as ArrayLike<number>;
    const out = allocate(lv.dtype, rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = Number(src[r * sr + c * sc]);
    return { data: out, rows, cols };
  }
}

/** One slice of a level read from the store: rows × cols values (see paint-geometry's planeAxes). */
export interface SliceData {
  data: Voxels;
  rows: number;
  cols: number;
}

async function listLabels(root: zarr.Location<zarr.FetchStore>, fmt: 2 | 3): Promise<string[]> {
  try {
    const g =
      fmt === 2
        ? await zarr.open.v2(root.resolve('labels'), { kind: 'group' })
        : await zarr.open.v3(root.resolve('labels'), { kind: 'group' });
    const a = g.attrs as Record<string, unknown>;
    const list = ((a.ome as Record<string, unknown> | undefined)?.labels ?? a.labels) as unknown;
    return Array.isArray(list) ? list.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return [];
  }
}

function allocate(dtype: string, n: number): Voxels {
  switch (dtype) {
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint16':
      return new Uint16Array(n);
    case 'int16':
      return new Int16Array(n);
    default:
      return new Float32Array(n);
  }
}

/** Copies the part of a chunk (at `at`, z, y, x) inside a volume of `shape` into `out`. */
export function copyChunk(chunk: zarr.Chunk<zarr.DataType>, spatial: [number, number, number], at: Vec3, shape: Vec3, out: Voxels): void {
  const data = chunk.data as unknown as ArrayLike<number> & { subarray?: (a: number, b: number) => ArrayLike<number> };
  const [sz, sy, sx] = [chunk.stride[spatial[0]]!, chunk.stride[spatial[1]]!, chunk.stride[spatial[2]]!];
  const [nz, ny, nx] = [chunk.shape[spatial[0]]!, chunk.shape[spatial[1]]!, chunk.shape[spatial[2]]!];
  const ez = Math.min(nz, shape[0] - at[0]);
  const ey = Math.min(ny, shape[1] - at[1]);
  const ex = Math.min(nx, shape[2] - at[2]);
  const sameType = typeof data.subarray === 'function' && (data as unknown as Voxels).constructor === out.constructor;
  for (let z = 0; z < ez; z++) {
    for (let y = 0; y < ey; y++) {
      const src = z * sz + y * sy;
      const dst = ((at[0] + z) * shape[1] + (at[1] + y)) * shape[2] + at[2];
      if (sx === 1 && sameType) {
        out.set(data.subarray!(src, src + ex) as never, dst);
      } else {
        for (let x = 0; x < ex; x++) out[dst + x] = Number(data[src + x * sx]);
      }
    }
  }
}

/** Like copyChunk, into a level reduced by `f`: every f-th voxel ('stride') or block maxima ('max'). */
export function reduceChunk(
  chunk: zarr.Chunk<zarr.DataType>,
  spatial: [number, number, number],
  at: Vec3,
  shape: Vec3,
  f: number,
  mode: 'stride' | 'max',
  outShape: Vec3,
  out: Voxels,
): void {
  const data = chunk.data as unknown as ArrayLike<number>;
  const [sz, sy, sx] = [chunk.stride[spatial[0]]!, chunk.stride[spatial[1]]!, chunk.stride[spatial[2]]!];
  const [nz, ny, nx] = [chunk.shape[spatial[0]]!, chunk.shape[spatial[1]]!, chunk.shape[spatial[2]]!];
  const ez = Math.min(nz, shape[0] - at[0]);
  const ey = Math.min(ny, shape[1] - at[1]);
  const ex = Math.min(nx, shape[2] - at[2]);
  for (let z = 0; z < ez; z++) {
    const gz = at[0] + z;
    if (mode === 'stride' && gz % f !== 0) continue;
    for (let y = 0; y < ey; y++) {
      const gy = at[1] + y;
      if (mode === 'stride' && gy % f !== 0) continue;
      const row = (Math.floor(gz / f) * outShape[1] + Math.floor(gy / f)) * outShape[2];
      for (let x = 0; x < ex; x++) {
        const gx = at[2] + x;
        if (mode === 'stride' && gx % f !== 0) continue;
        const v = Number(data[z * sz + y * sy + x * sx]);
        const o = row + Math.floor(gx / f);
        if (mode === 'stride' || v > out[o]!) out[o] = v;
      }
    }
  }
}
