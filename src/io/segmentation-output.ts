import { access, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as zarr from 'zarrita';
import { ChunkGrid } from '../volume/chunk-grid.js';
import type { Box, Vec3 } from '../volume/box.js';
import type { LengthUnit } from '../volume/voxel-size.js';
import { InconsistentError, OutputExistsError } from './errors.js';
import { buildMultiscale, imageAttributes, labelImageAttributes, labelsGroupAttributes } from './ome-ngff.js';
import type { VolumeMeta } from './volume.js';
import { registerZarrCodecs, v2Compressor, type CompressionChoice } from './zarr-codecs.js';
import { AtomicFileStore } from './zarr-store.js';

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

function jsonBytes(o: unknown): Uint8Array {
  const text = JSON.stringify(o, null, 2).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return new TextEncoder().encode(`${text}\n`);
}

/** Identifies a segmentation job; a partial output from another job is never resumed. */
export interface JobIdentity {
  input: string;
  model: string;
  threshold: number;
  tta: boolean;
  chunk: Vec3;
  /** Pyramid levels the network ran at, fused (absent: full resolution only). */
  scales?: number[];
}

/**
 * The output of `segment`: an OME-Zarr 0.4 image whose voxels are root probabilities (uint8,
 * 0–255) with the binary mask as the label image labels/roots, same shape, voxel size and origin
 * as the input. Built under OUT.partial by one or many processes (shards) chunk by chunk: each
 * chunk file is written atomically and each finished block leaves a marker, so a rerun skips
 * what is done; the group metadata is written and the folder renamed to OUT by whichever process
 * finds every block done, once, under an exclusive lock.
 */
export class SegmentationOutput {
  readonly grid: ChunkGrid;
  private readonly prob: zarr.Array<'uint8', AtomicFileStore>;
  private readonly mask: zarr.Array<'uint8', AtomicFileStore>;

  private constructor(
    readonly path: string,
    readonly dir: string,
    readonly meta: VolumeMeta,
    readonly chunk: Vec3,
    prob: zarr.Array<'uint8', AtomicFileStore>,
    mask: zarr.Array<'uint8', AtomicFileStore>,
  ) {
    this.grid = new ChunkGrid(meta.shape, chunk);
    this.prob = prob;
    this.mask = mask;
  }

  /** True when OUT already holds a finished segmentation. */
  static async isComplete(path: string): Promise<boolean> {
    return exists(join(path, '.zattrs'));
  }

  static async open(path: string, meta: VolumeMeta, job: JobIdentity, compression: CompressionChoice, overwrite: boolean): Promise<SegmentationOutput> {
    registerZarrCodecs();
    const dir = `${path}.partial`;
    if (await exists(path)) {
      if (!overwrite) throw new OutputExistsError(path, 'already exists (pass --overwrite to replace it)');
    }
    const jobFile = join(dir, 'rhizoct-job.json');
    const want = { job, shape: meta.shape };
    if (await exists(jobFile)) {
      const have = JSON.parse(await readFile(jobFile, 'utf8')) as typeof want;
      if (have.shape.join() !== meta.shape.join()) {
        throw new InconsistentError(dir, `partial output has shape [${have.shape.join(', ')}] but the input has [${meta.shape.join(', ')}]; remove it or pass --overwrite`);
      }
      if (JSON.stringify(have.job) !== JSON.stringify(job)) {
        if (!overwrite) throw new InconsistentError(dir, `partial output was started by another job (${JSON.stringify(have.job)}); remove it or pass --overwrite`);
        await rm(dir, { recursive: true, force: true });
      }
    }
    await mkdir(join(dir, '.done'), { recursive: true });
    const store = new AtomicFileStore(dir);
    if (!(await exists(jobFile))) await store.set('/rhizoct-job.json' as zarr.AbsolutePath, jsonBytes(want));
    const arrayMeta = {
      zarr_format: 2,
      shape: [...meta.shape],
      chunks: meta.shape.map((s, i) => Math.max(1, Math.min(s, job.chunk[i]!))),
      dtype: '|u1',
      compressor: v2Compressor(compression),
      fill_value: 0,
      order: 'C',
      filters: null,
      dimension_separator: '/',
    };
    for (const key of ['0', 'labels/roots/0']) {
      if (!(await exists(join(dir, key, '.zarray')))) await store.set(`/${key}/.zarray` as zarr.AbsolutePath, jsonBytes(arrayMeta));
    }
    const root = zarr.root(store);
    const prob = (await zarr.open.v2(root.resolve('0'), { kind: 'array', attrs: false })) as zarr.Array<'uint8', AtomicFileStore>;
    const mask = (await zarr.open.v2(root.resolve('labels/roots/0'), { kind: 'array', attrs: false })) as zarr.Array<'uint8', AtomicFileStore>;
    return new SegmentationOutput(path, dir, meta, arrayMeta.chunks as unknown as Vec3, prob, mask);
  }

  private marker(index: Vec3): string {
    return join(this.dir, '.done', index.join('.'));
  }

  async isDone(index: Vec3): Promise<boolean> {
    return exists(this.marker(index));
  }

  /** Writes one chunk of probabilities and mask, then its done-marker. */
  async writeChunk(index: Vec3, prob: Uint8Array, mask: Uint8Array): Promise<void> {
    const box: Box = this.grid.chunkBox(index);
    const sel = [0, 1, 2].map((a) => zarr.slice(box.offset[a]!, box.offset[a]! + box.shape[a]!));
    const [nz, ny, nx] = box.shape;
    const chunk = (data: Uint8Array): zarr.Chunk<'uint8'> => ({ data, shape: [nz, ny, nx], stride: [ny * nx, nx, 1] });
    await zarr.set(this.prob, sel, chunk(prob));
    await zarr.set(this.mask, sel, chunk(mask));
    const fh = await open(this.marker(index), 'w');
    await fh.close();
  }

  /**
   * If every chunk is done, writes the metadata that makes OUT an OME-Zarr image and moves it into
   * place. Returns false when work remains (other shards still running).
   */
  async tryFinalize(provenance: Record<string, unknown>): Promise<boolean> {
    for (const c of this.grid.chunksIn({ offset: [0, 0, 0], shape: this.meta.shape })) if (!(await this.isDone(c))) return false;
    let lock;
    try {
      lock = await open(join(this.dir, '.finalize.lock'), 'wx');
    } catch {
      return false; // another process is finalising
    }
    await lock.close();
    const store = new AtomicFileStore(this.dir);
    const ms = (name: string, method: string): Record<string, unknown> =>
      buildMultiscale('0.4', { name, unit: this.meta.unit as LengthUnit, voxelSize: this.meta.voxelSize, origin: this.meta.origin, levelCount: 1, method });
    const set = (key: string, o: unknown): Promise<void> => store.set(`/${key}` as zarr.AbsolutePath, jsonBytes(o));
    await set('labels/roots/.zgroup', { zarr_format: 2 });
    await set('labels/roots/.zattrs', labelImageAttributes('0.4', ms('roots', 'mode'), [{ 'label-value': 1, rgba: [255, 128, 0, 255] }], { rhizoct: provenance }));
    await set('labels/.zgroup', { zarr_format: 2 });
    await set('labels/.zattrs', labelsGroupAttributes('0.4', ['roots']));
    await set('.zgroup', { zarr_format: 2 });
    await set('.zattrs', imageAttributes('0.4', ms('root probability (0-255)', 'mean'), { rhizoct: provenance }));
    if (await exists(this.path)) await rm(this.path, { recursive: true, force: true });
    await rename(this.dir, this.path);
    await rm(join(this.path, '.done'), { recursive: true, force: true });
    await rm(join(this.path, '.finalize.lock'), { force: true });
    return true;
  }
}
