import * as zarr from 'zarrita';
import type { Vec3 } from '../volume/box.js';
import { ChunkGrid } from '../volume/chunk-grid.js';
import { InvalidMetadataError, OutOfBoundsError } from './errors.js';
import type { LabelColor } from './ome-ngff.js';
import { registerZarrCodecs } from './zarr-codecs.js';
import { readNode } from './zarr-meta.js';
import { openZarr, type ZarrSource } from './zarr-source.js';
import { OmeZarrWriter } from './zarr-write.js';
import { AtomicFileStore } from './zarr-store.js';

/**
 * Corrective annotations of a scan, kept in the scan's own OME-Zarr store as the label image
 * `labels/annotations`: uint8, 0 unlabelled, 1 root, 2 not root, one level with the shape,
 * chunking, voxel size and origin of the scan's level 0. Created on the first write; an absent
 * chunk reads as 0, so only chunks someone painted in exist. A chunk is changed by reading it,
 * editing it and writing it back with an atomic rename, one edit of a chunk at a time in this
 * process (a chunk lock), so two edits of the same chunk both land. Readers open it like any
 * label: `openZarr(store, { label: 'annotations' })`.
 */

export const ANNOTATION_LABEL = 'annotations';
export const UNLABELLED = 0;
export const ROOT = 1;
export const NOT_ROOT = 2;
export const ANNOTATION_VALUES: readonly number[] = [UNLABELLED, ROOT, NOT_ROOT];

/** Colours recorded in `image-label`: root orange-red, not root blue (0 is transparent). */
export const ANNOTATION_COLORS: LabelColor[] = [
  { 'label-value': ROOT, rgba: [255, 40, 40, 255] },
  { 'label-value': NOT_ROOT, rgba: [40, 140, 255, 255] },
];

/** Voxels set to one value: `voxels` holds z, y, x triples, flat. */
export interface AnnotationEdit {
  value: number;
  voxels: ArrayLike<number>;
}

export interface EditResult {
  /** For each voxel of each edit, in order, the value it held before (for undo). */
  previous: Uint8Array;
  /** Chunks written. */
  chunks: number;
}

type LabelArray = zarr.Array<'uint8', AtomicFileStore>;

export class AnnotationStore {
  readonly grid: ChunkGrid;
  private array: LabelArray | undefined;
  private creating: Promise<LabelArray> | undefined;
  private readonly locks = new Map<string, Promise<unknown>>();

  private constructor(
    readonly path: string,
    readonly scan: ZarrSource,
  ) {
    this.grid = new ChunkGrid(scan.levels[0]!.shape, scan.levels[0]!.chunkShape);
  }

  get shape(): Vec3 {
    return this.grid.shape;
  }

  /** Opens the annotations of the OME-Zarr image at `path` (a local folder); creates nothing yet. */
  static async open(path: string): Promise<AnnotationStore> {
    registerZarrCodecs();
    const scan = await openZarr(path);
    if (scan.format !== 'ome-zarr')
      throw new InvalidMetadataError(path, 'annotations are kept in an OME-Zarr image; this is a plain Zarr array');
    return new AnnotationStore(path, scan);
  }

  /** Whether labels/annotations exists yet. */
  async exists(): Promise<boolean> {
    const n = await readNode(new AtomicFileStore(this.path), this.path, `labels/${ANNOTATION_LABEL}`);
    return n !== undefined;
  }

  private async labelArray(): Promise<LabelArray> {
    if (this.array) return this.array;
    this.creating ??= this.openOrCreate();
    try {
      this.array = await this.creating;
      return this.array;
    } finally {
      this.creating = undefined;
    }
  }

  private async openOrCreate(): Promise<LabelArray> {
    const store = new AtomicFileStore(this.path);
    if (!(await this.exists())) await this.create();
    const loc = zarr.root(store).resolve(`labels/${ANNOTATION_LABEL}/0`);
    const node = await readNode(store, this.path, `labels/${ANNOTATION_LABEL}/0`);
    if (node?.kind !== 'array')
      throw new InvalidMetadataError(`${this.path}/labels/${ANNOTATION_LABEL}/0`, 'annotation level 0 has no array metadata');
    if (node.array.dataType !== 'uint8' || node.array.shape.join() !== this.shape.join()) {
      throw new InvalidMetadataError(
        node.file,
        `annotations must be uint8 of shape [${this.shape.join(', ')}], found ${node.array.dataType} [${node.array.shape.join(', ')}]`,
      );
    }
    if (node.array.chunks.join() !== this.grid.chunkShape.join()) {
      throw new InvalidMetadataError(
        node.file,
        `annotation chunks [${node.array.chunks.join(', ')}] differ from the scan's [${this.grid.chunkShape.join(', ')}]`,
      );
    }
    const arr =
      node.zarrFormat === 2 ? await zarr.open.v2(loc, { kind: 'array', attrs: false }) : await zarr.open.v3(loc, { kind: 'array' });
    return arr as LabelArray;
  }

  /** The label image, metadata only: its chunks appear as they are painted. */
  private async create(): Promise<void> {
    const l0 = this.scan.levels[0]!;
    const w = await OmeZarrWriter.create(
      this.path,
      { shape: l0.shape, dtype: 'uint8', voxelSize: l0.voxelSize, unit: this.scan.unit, origin: l0.origin },
      {
        zarrFormat: this.scan.zarrFormat,
        chunkShape: l0.chunkShape,
        compression: { compression: 'gzip' },
        levelCount: 1,
        method: 'mode',
        label: ANNOTATION_LABEL,
        colors: ANNOTATION_COLORS,
        // Without its group metadata a labels/annotations folder is a creation cut short before
        // any chunk was painted (chunks come after the metadata): replacing it loses nothing.
        overwrite: true,
        provenance: { annotations: '0 unlabelled, 1 root, 2 not root; painted in rhizoct view' },
      },
    );
    await w.finalize();
  }

  /** Checks edits before anything is written; throws naming the first bad voxel. */
  validate(edits: readonly AnnotationEdit[]): number {
    let n = 0;
    const [nz, ny, nx] = this.shape;
    for (const [i, e] of edits.entries()) {
      if (!ANNOTATION_VALUES.includes(e.value))
        throw new OutOfBoundsError(this.path, `edit ${i}: value ${e.value} is not 0 (unlabelled), 1 (root) or 2 (not root)`);
      if (e.voxels.length % 3 !== 0)
        throw new OutOfBoundsError(this.path, `edit ${i}: voxels holds ${e.voxels.length} numbers, not z, y, x triples`);
      for (let j = 0; j < e.voxels.length; j += 3) {
        const z = e.voxels[j]!;
        const y = e.voxels[j + 1]!;
        const x = e.voxels[j + 2]!;
        if (!(
          Number.isInteger(z) &&
          Number.isInteger(y) &&
          Number.isInteger(x) &&
          z >= 0 &&
          y >= 0 &&
          x >= 0 &&
          z < nz &&
          y < ny &&
          x < nx
        )) {
          throw new OutOfBoundsError(this.path, `edit ${i}: voxel (z ${z}, y ${y}, x ${x}) is outside the scan's ${nz}×${ny}×${nx}`);
        }
      }
      n += e.voxels.length / 3;
    }
    return n;
  }

  /** Sets voxels, chunk by chunk; returns what each voxel held before. */
  async apply(edits: readonly AnnotationEdit[]): Promise<EditResult> {
    const count = this.validate(edits);
    const previous = new Uint8Array(count);
    if (count === 0) return { previous, chunks: 0 };
    const arr = await this.labelArray();
    // Voxel i of the request (over all edits in order) → its chunk; values applied in request order.
    const byChunk = new Map<string, { chunk: Vec3; items: number[] }>();
    const [cz, cy, cx] = this.grid.chunkShape;
    let i = 0;
    for (const e of edits) {
      for (let j = 0; j < e.voxels.length; j += 3, i++) {
        const c: Vec3 = [Math.floor(e.voxels[j]! / cz), Math.floor(e.voxels[j + 1]! / cy), Math.floor(e.voxels[j + 2]! / cx)];
        const key = c.join('/');
        let g = byChunk.get(key);
        if (!g) byChunk.set(key, (g = { chunk: c, items: [] }));
        g.items.push(i);
      }
    }
    const flat = flatten(edits);
    await Promise.all(
      [...byChunk.entries()].map(([key, g]) =>
        this.withChunkLock(key, async () => {
          const box = this.grid.chunkBox(g.chunk);
          const [oz, oy, ox] = box.offset;
          const [, ny, nx] = box.shape;
          const data = await this.readChunkBox(arr, g.chunk);
          for (const k of g.items) {
            const idx = ((flat.zyx[3 * k]! - oz) * ny + (flat.zyx[3 * k + 1]! - oy)) * nx + (flat.zyx[3 * k + 2]! - ox);
            previous[k] = data[idx]!;
            data[idx] = flat.values[k]!;
          }
          const sel = [0, 1, 2].map((a) => zarr.slice(box.offset[a]!, box.offset[a]! + box.shape[a]!));
          await zarr.set(arr, sel, { data, shape: [...box.shape], stride: [box.shape[1] * box.shape[2], box.shape[2], 1] });
        }),
      ),
    );
    return { previous, chunks: byChunk.size };
  }

  /** The chunk's voxels (cut to the volume at its edges), z, y, x; zeros when never painted. */
  private async readChunkBox(arr: LabelArray, c: Vec3): Promise<Uint8Array> {
    const box = this.grid.chunkBox(c);
    const sel = [0, 1, 2].map((a) => zarr.slice(box.offset[a]!, box.offset[a]! + box.shape[a]!));
    const got = await zarr.get(arr, sel);
    return new Uint8Array(got.data as Uint8Array);
  }

  private async withChunkLock<T>(key: string, f: () => Promise<T>): Promise<T> {
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(f, f);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}

function flatten(edits: readonly AnnotationEdit[]): { zyx: Int32Array; values: Uint8Array } {
  const n = edits.reduce((a, e) => a + e.voxels.length / 3, 0);
  const zyx = new Int32Array(3 * n);
  const values = new Uint8Array(n);
  let i = 0;
  for (const e of edits) {
    for (let j = 0; j < e.voxels.length; j += 3, i++) {
      zyx[3 * i] = e.voxels[j]!;
      zyx[3 * i + 1] = e.voxels[j + 1]!;
      zyx[3 * i + 2] = e.voxels[j + 2]!;
      values[i] = e.value;
    }
  }
  return { zyx, values };
}
