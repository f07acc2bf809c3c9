import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as zarr from 'zarrita';
import { ChunkGrid } from '../volume/chunk-grid.js';
import type { Box, Vec3 } from '../volume/box.js';
import { formatRegion, regionRanges, type RegionRanges } from '../volume/region.js';
import type { LengthUnit } from '../volume/voxel-size.js';
import { InconsistentError, OutputExistsError } from './errors.js';
import { buildMultiscale, imageAttributes, labelImageAttributes, labelsGroupAttributes } from './ome-ngff.js';
import type { VolumeMeta } from './volume.js';
import { registerZarrCodecs, v2Compressor, type CompressionChoice } from './zarr-codecs.js';
import { AtomicFileStore } from './zarr-store.js';

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

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
  /** Inference tile side, where not the model's own. */
  tile?: number;
  /** Mask pieces under this many voxels removed (absent: none). */
  minComponent?: number;
  /** Compact mask pieces under this many voxels removed (absent: none). */
  compactBelow?: number;
}

/**
 * What an output segmented with `--region` holds while some chunks are still not segmented (a
 * "region store"): recorded in its job file and, as `rhizoct.coverage`, in the image's and the
 * label's attributes. Every chunk that meets a listed region is segmented whole (and carries a
 * marker in `.done/`); every other chunk is absent, reads as 0 (the fill value) and was NOT
 * segmented: it is no evidence of "no root". A complete output has no `coverage`.
 */
export interface RegionCoverage {
  complete: false;
  /** Regions run to their end, in the order run: [[z0, z1], [y0, y1], [x0, x1]] of level-0 voxels, end excluded. */
  regions: RegionRanges[];
  /** Chunks segmented (whole chunks meeting a region) and all chunks of the output. */
  chunks: { segmented: number; total: number };
  note: string;
}

const COVERAGE_NOTE =
  'only the chunks meeting these regions are segmented; all other chunks are absent, read as 0 and were not segmented (not "no root"). ' +
  'Run rhizoct segment without --region on the same output to complete it.';

/** What is at OUT, for a job about to write there. */
export type OutputState =
  | { kind: 'absent' }
  | { kind: 'complete' }
  /** A region store of this same job: regions can be added and it can be completed in place. */
  | { kind: 'regions'; coverage: RegionCoverage | undefined }
  /** Not made by rhizoct segment, or by another job: `why` says how. */
  | { kind: 'other'; why: string };

/**
 * The output of `segment`: an OME-Zarr 0.4 image whose voxels are root probabilities (uint8,
 * 0–255) with the binary mask as the label image labels/roots, same shape, voxel size and origin
 * as the input. Built under OUT.partial by one or many processes (shards) chunk by chunk: each
 * chunk file is written atomically and each finished block leaves a marker, so a rerun skips
 * what is done; the group metadata is written and the folder renamed to OUT by whichever process
 * finds every block done, once, under an exclusive lock.
 *
 * A run with a region (`openRegion`) works in OUT itself instead, a "region store": only the
 * chunks meeting the region are written (each atomically, as always), chunks outside are left as
 * they are (segmented earlier, or absent), the done markers stay in OUT/.done, and the metadata
 * says which regions are segmented (RegionCoverage). A later run of the same job without a
 * region completes it in place, skipping the chunks already done.
 */
export class SegmentationOutput {
  readonly grid: ChunkGrid;
  private readonly prob: zarr.Array<'uint8', AtomicFileStore>;
  private readonly mask: zarr.Array<'uint8', AtomicFileStore>;
  /** What the output holds after the last tryFinalize of a region store (undefined once complete). */
  coverage: RegionCoverage | undefined;

  private constructor(
    readonly path: string,
    readonly dir: string,
    readonly meta: VolumeMeta,
    readonly chunk: Vec3,
    prob: zarr.Array<'uint8', AtomicFileStore>,
    mask: zarr.Array<'uint8', AtomicFileStore>,
    /** A finished output of the same job: every chunk is done, nothing is written. */
    private readonly finished = false,
  ) {
    this.grid = new ChunkGrid(meta.shape, chunk);
    this.prob = prob;
    this.mask = mask;
  }

  /** Written in OUT itself (a region store), not under OUT.partial. */
  get inPlace(): boolean {
    return this.dir === this.path;
  }

  /** True when OUT holds a finished segmentation of the whole scan (not a region store). */
  static async isComplete(path: string): Promise<boolean> {
    let attrs: { rhizoct?: { coverage?: { complete?: boolean } } };
    try {
      attrs = JSON.parse(await readFile(join(path, '.zattrs'), 'utf8')) as typeof attrs;
    } catch {
      return false;
    }
    return attrs.rhizoct?.coverage?.complete !== false;
  }

  /** The coverage record of a region store at `path` (segmented with --region, not yet complete); undefined otherwise. */
  static async partialCoverage(path: string): Promise<RegionCoverage | undefined> {
    let attrs: { rhizoct?: { coverage?: RegionCoverage } };
    try {
      attrs = JSON.parse(await readFile(join(path, '.zattrs'), 'utf8')) as typeof attrs;
    } catch {
      return undefined;
    }
    const c = attrs.rhizoct?.coverage;
    return c && c.complete === false ? c : undefined;
  }

  /** What is at `path` for `job`: nothing, its complete output, its region store, or something else. */
  static async state(path: string, meta: VolumeMeta, job: JobIdentity): Promise<OutputState> {
    if (!(await exists(path))) return { kind: 'absent' };
    const have = await readJobFile(join(path, JOB_FILE));
    if (!have) return { kind: 'other', why: 'records no rhizoct segment job' };
    const diff = jobDifferences(have, { job, shape: [...meta.shape] });
    if (diff.length) return { kind: 'other', why: `is the segmentation of another job: ${diff.join('; ')}` };
    if (have.coverage) return { kind: 'regions', coverage: have.coverage };
    if (await SegmentationOutput.isComplete(path)) return { kind: 'complete' };
    return { kind: 'other', why: 'is not a finished segmentation (no OME-Zarr metadata) nor a region store' };
  }

  /**
   * For a shard (or any run that must be idempotent): true when OUT is a finished segmentation of
   * this same job, so there is nothing to do; false when OUT does not exist. Throws, naming each
   * difference, when OUT is the finished result of another job, and OutputExistsError when OUT
   * was not made by `rhizoct segment`.
   */
  static async finishedBySameJob(path: string, meta: VolumeMeta, job: JobIdentity): Promise<boolean> {
    if (!(await exists(path))) return false;
    const have = await readJobFile(join(path, JOB_FILE));
    if (!have)
      throw new OutputExistsError(
        path,
        'already exists and records no rhizoct segment job (remove it, or pass --overwrite without --shard)',
      );
    const diff = jobDifferences(have, { job, shape: [...meta.shape] });
    if (diff.length)
      throw new InconsistentError(
        path,
        `is the finished segmentation of another job: ${diff.join('; ')}. Remove it to segment again with these settings`,
      );
    if (have.coverage)
      throw new InconsistentError(
        path,
        `holds only some regions of the scan (segmented with --region: ${describeCoverage(have.coverage)}); shards do not complete it in place: run once without --shard to complete it, or remove it`,
      );
    return true;
  }

  /**
   * Opens (or starts) OUT.partial for `job`. With `shard` set, a finished OUT of the same job is
   * not an error: the result is null (nothing to do), also when another shard finishes it while
   * this one opens.
   */
  static async open(
    path: string,
    meta: VolumeMeta,
    job: JobIdentity,
    compression: CompressionChoice,
    overwrite: boolean,
    shard?: false,
  ): Promise<SegmentationOutput>;
  static async open(
    path: string,
    meta: VolumeMeta,
    job: JobIdentity,
    compression: CompressionChoice,
    overwrite: boolean,
    shard: boolean,
  ): Promise<SegmentationOutput | null>;
  static async open(
    path: string,
    meta: VolumeMeta,
    job: JobIdentity,
    compression: CompressionChoice,
    overwrite: boolean,
    shard = false,
  ): Promise<SegmentationOutput | null> {
    registerZarrCodecs();
    const dir = `${path}.partial`;
    if (!overwrite && !shard && (await exists(path))) {
      // A region store of this same job: complete it in place, keeping the chunks it holds.
      const st = await SegmentationOutput.state(path, meta, job);
      if (st.kind === 'regions') return SegmentationOutput.inPlace(path, meta, job, compression);
    }
    if (await exists(path)) {
      if (shard && !overwrite) {
        if (await SegmentationOutput.finishedBySameJob(path, meta, job)) return null;
      } else if (!overwrite) throw new OutputExistsError(path, 'already exists (pass --overwrite to replace it)');
    }
    const jobFile = join(dir, JOB_FILE);
    const want: JobFile = { job, shape: [...meta.shape] };
    const have = await readJobFile(jobFile);
    if (have) {
      if (have.shape.join() !== meta.shape.join()) {
        throw new InconsistentError(
          dir,
          `partial output has shape [${have.shape.join(', ')}] but the input has [${meta.shape.join(', ')}]; remove it or pass --overwrite`,
        );
      }
      const diff = jobDifferences(have, want);
      if (diff.length) {
        if (!overwrite)
          throw new InconsistentError(dir, `partial output was started by another job (${diff.join('; ')}); remove it or pass --overwrite`);
        await rm(dir, { recursive: true, force: true });
      }
    }
    const arrayMeta = arrayMetadata(meta, job, compression);
    let prob: zarr.Array<'uint8', AtomicFileStore>;
    let mask: zarr.Array<'uint8', AtomicFileStore>;
    try {
      await mkdir(join(dir, '.done'), { recursive: true });
      const store = new AtomicFileStore(dir);
      if (!(await exists(jobFile))) await store.set(`/${JOB_FILE}` as zarr.AbsolutePath, jsonBytes(want));
      for (const key of ['0', 'labels/roots/0']) {
        if (!(await exists(join(dir, key, '.zarray')))) await store.set(`/${key}/.zarray` as zarr.AbsolutePath, jsonBytes(arrayMeta));
      }
      const root = zarr.root(store);
      prob = (await zarr.open.v2(root.resolve('0'), { kind: 'array', attrs: false })) as zarr.Array<'uint8', AtomicFileStore>;
      mask = (await zarr.open.v2(root.resolve('labels/roots/0'), { kind: 'array', attrs: false })) as zarr.Array<'uint8', AtomicFileStore>;
    } catch (err) {
      // Another shard may have finished (and renamed OUT.partial) while this one set it up.
      if (shard && !overwrite && (await SegmentationOutput.finishedBySameJob(path, meta, job).catch(() => false))) return null;
      throw err;
    }
    if (shard && !overwrite && (await exists(path))) {
      // OUT was finished between the check above and now: what this process just made is a stray.
      if (await SegmentationOutput.finishedBySameJob(path, meta, job)) {
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
        return null;
      }
    }
    return new SegmentationOutput(path, dir, meta, arrayMeta.chunks as unknown as Vec3, prob, mask);
  }

  /**
   * Opens OUT itself for a run over a region: a new region store when OUT does not exist, this
   * job's region store to add to, or this job's complete output (nothing to write: every chunk is
   * done). Any other OUT is refused, naming why, unless `overwrite`, which removes it first.
   */
  static async openRegion(
    path: string,
    meta: VolumeMeta,
    job: JobIdentity,
    compression: CompressionChoice,
    overwrite: boolean,
    region: Box,
  ): Promise<SegmentationOutput> {
    registerZarrCodecs();
    const st = await SegmentationOutput.state(path, meta, job);
    const what = `--region ${formatRegion(region)}`;
    if (st.kind === 'other' || (st.kind === 'complete' && overwrite)) {
      if (!overwrite) {
        const ours = st.kind === 'other' && st.why !== 'records no rhizoct segment job';
        const text = `${st.kind === 'other' ? st.why : ''}; a run with ${what} adds to a region store or complete output of the same job only (pass --overwrite to replace it with a store holding this region)`;
        throw ours ? new InconsistentError(path, text) : new OutputExistsError(path, `already exists and ${text}`);
      }
      await rm(path, { recursive: true, force: true });
    }
    if (st.kind === 'complete' && !overwrite) {
      const { prob, mask } = await openArrays(path);
      return new SegmentationOutput(path, path, meta, arrayMetadata(meta, job, compression).chunks as unknown as Vec3, prob, mask, true);
    }
    return SegmentationOutput.inPlace(path, meta, job, compression);
  }

  /** OUT itself as a region store of `job`: made when absent (job file first, so a killed start is still recognised as one). */
  private static async inPlace(
    path: string,
    meta: VolumeMeta,
    job: JobIdentity,
    compression: CompressionChoice,
  ): Promise<SegmentationOutput> {
    const arrayMeta = arrayMetadata(meta, job, compression);
    await mkdir(join(path, '.done'), { recursive: true });
    const store = new AtomicFileStore(path);
    const jobFile = join(path, JOB_FILE);
    if (!(await readJobFile(jobFile))) {
      const total = new ChunkGrid(meta.shape, arrayMeta.chunks as unknown as Vec3).chunkCount;
      const want: JobFile = {
        job,
        shape: [...meta.shape],
        coverage: { complete: false, regions: [], chunks: { segmented: 0, total }, note: COVERAGE_NOTE },
      };
      await store.set(`/${JOB_FILE}` as zarr.AbsolutePath, jsonBytes(want));
    }
    for (const key of ['0', 'labels/roots/0']) {
      if (!(await exists(join(path, key, '.zarray')))) await store.set(`/${key}/.zarray` as zarr.AbsolutePath, jsonBytes(arrayMeta));
    }
    const { prob, mask } = await openArrays(path);
    return new SegmentationOutput(path, path, meta, arrayMeta.chunks as unknown as Vec3, prob, mask);
  }

  private marker(index: Vec3): string {
    return join(this.dir, '.done', index.join('.'));
  }

  async isDone(index: Vec3): Promise<boolean> {
    return this.finished || exists(this.marker(index));
  }

  /** Writes one chunk of probabilities and mask, then its done-marker. */
  async writeChunk(index: Vec3, prob: Uint8Array, mask: Uint8Array): Promise<void> {
    if (this.finished) throw new Error(`${this.path}: complete; chunk ${index.join('.')} is not written again`);
    const { sel, chunk } = this.chunkAccess(index);
    await zarr.set(this.prob, sel, chunk(prob));
    await zarr.set(this.mask, sel, chunk(mask));
    const fh = await open(this.marker(index), 'w');
    await fh.close();
  }

  /** The mask's voxels in chunk `index` (those inside the volume). */
  async readMask(index: Vec3): Promise<Uint8Array> {
    return (await zarr.get(this.mask, this.chunkAccess(index).sel)).data as Uint8Array;
  }

  /** Rewrites the mask of a done chunk (atomically; its probabilities and done-marker stay). */
  async writeMask(index: Vec3, mask: Uint8Array): Promise<void> {
    if (this.finished) throw new Error(`${this.path}: complete; chunk ${index.join('.')} is not written again`);
    const { sel, chunk } = this.chunkAccess(index);
    await zarr.set(this.mask, sel, chunk(mask));
  }

  /** The selection of chunk `index`'s voxels inside the volume, and its data as a zarr chunk of that shape. */
  private chunkAccess(index: Vec3): { sel: zarr.Slice[]; chunk: (data: Uint8Array) => zarr.Chunk<'uint8'> } {
    const box: Box = this.grid.chunkBox(index);
    const sel = [0, 1, 2].map((a) => zarr.slice(box.offset[a]!, box.offset[a]! + box.shape[a]!));
    const [nz, ny, nx] = box.shape;
    return { sel, chunk: (data) => ({ data, shape: [nz, ny, nx], stride: [ny * nx, nx, 1] }) };
  }

  /**
   * If every chunk is done, writes the metadata that makes OUT an OME-Zarr image and moves it into
   * place, under a lock so that shards finishing together finalise once. Returns false when work
   * remains (other shards still running); when another process holds the lock, waits up to
   * `waitMs` for it to finish and returns whether OUT is then complete. `finish`, when given,
   * runs under the lock on the done chunks before the metadata is written (every chunk, or in a
   * region store those segmented so far) and what it returns joins the provenance; a run killed
   * in it leaves the output unfinished, and finishing again runs it again, so it must be idempotent.
   */
  async tryFinalize(provenance: Record<string, unknown>, waitMs = 60_000, region?: Box, finish?: FinishStep): Promise<boolean> {
    if (this.finished) return true;
    if (this.inPlace) return this.finishInPlace(provenance, waitMs, region, finish);
    const all = [...this.grid.allChunks()];
    for (const c of all) if (!(await this.isDone(c))) return false;
    const lock = await FinalizeLock.acquire(this.dir);
    if (!lock) return waitForPath(this.path, waitMs);
    try {
      const extra = finish ? await finish(this, all) : {};
      await this.writeMetadata({ ...provenance, ...extra });
      if (!(await lock.stillHeld())) return waitForPath(this.path, waitMs); // taken over after we stalled
      if (await exists(this.path)) await rm(this.path, { recursive: true, force: true });
      await rename(this.dir, this.path);
    } finally {
      await lock.release();
    }
    await rm(join(this.path, '.done'), { recursive: true, force: true });
    await FinalizeLock.removeAll(this.path);
    return true;
  }

  /**
   * The end of a run in OUT itself: when every chunk is done, OUT becomes a complete output (its
   * metadata without coverage, the markers removed); otherwise its metadata says which regions are
   * segmented, adding `region` when this run did all of it. Only after the chunks are written and
   * marked, so the metadata never claims a chunk that is not there. Under the lock, waiting up to
   * `waitMs` for another process's update to end.
   */
  private async finishInPlace(provenance: Record<string, unknown>, waitMs: number, region?: Box, finish?: FinishStep): Promise<boolean> {
    const t0 = Date.now();
    let lock = await FinalizeLock.acquire(this.dir);
    while (!lock) {
      if (Date.now() - t0 >= waitMs)
        throw new Error(
          `${this.path}: another process holds ${FinalizeLock.FILE} (its metadata is being updated); run again when it has finished`,
        );
      await new Promise((r) => setTimeout(r, 250));
      lock = await FinalizeLock.acquire(this.dir);
    }
    try {
      const done: Vec3[] = [];
      for (const c of this.grid.allChunks()) if (await this.isDone(c)) done.push(c);
      const segmented = done.length;
      const total = this.grid.chunkCount;
      if (finish) provenance = { ...provenance, ...(await finish(this, done)) };
      const have = await readJobFile(join(this.dir, JOB_FILE));
      const base: JobFile = { job: have!.job, shape: have!.shape };
      const store = new AtomicFileStore(this.dir);
      if (segmented === total) {
        this.coverage = undefined;
        await this.writeMetadata(provenance);
        await store.set(`/${JOB_FILE}` as zarr.AbsolutePath, jsonBytes(base));
        await rm(join(this.dir, '.done'), { recursive: true, force: true });
        return true;
      }
      const regions = [...(have?.coverage?.regions ?? [])];
      if (region) {
        const r = regionRanges(region);
        if (!regions.some((q) => JSON.stringify(q) === JSON.stringify(r))) regions.push(r);
      }
      const coverage: RegionCoverage = { complete: false, regions, chunks: { segmented, total }, note: COVERAGE_NOTE };
      this.coverage = coverage;
      await store.set(`/${JOB_FILE}` as zarr.AbsolutePath, jsonBytes({ ...base, coverage }));
      await this.writeMetadata({ ...provenance, coverage });
      return false;
    } finally {
      await lock.release();
    }
  }

  /** The OME-NGFF 0.4 group metadata of the image and its label, with `provenance` under `rhizoct`. */
  private async writeMetadata(provenance: Record<string, unknown>): Promise<void> {
    const store = new AtomicFileStore(this.dir);
    const ms = (name: string, method: string): Record<string, unknown> =>
      buildMultiscale('0.4', {
        name,
        unit: this.meta.unit as LengthUnit,
        voxelSize: this.meta.voxelSize,
        origin: this.meta.origin,
        levelCount: 1,
        method,
      });
    const set = (key: string, o: unknown): Promise<void> => store.set(`/${key}` as zarr.AbsolutePath, jsonBytes(o));
    await set('labels/roots/.zgroup', { zarr_format: 2 });
    await set(
      'labels/roots/.zattrs',
      labelImageAttributes('0.4', ms('roots', 'mode'), [{ 'label-value': 1, rgba: [255, 128, 0, 255] }], { rhizoct: provenance }),
    );
    await set('labels/.zgroup', { zarr_format: 2 });
    await set('labels/.zattrs', labelsGroupAttributes('0.4', ['roots']));
    await set('.zgroup', { zarr_format: 2 });
    await set('.zattrs', imageAttributes('0.4', ms('root probability (0-255)', 'mean'), { rhizoct: provenance }));
  }
}

/** A step run on an output's done chunks as it is finalised (e.g. removing specks from the mask); returns provenance to record. */
export type FinishStep = (output: SegmentationOutput, done: Vec3[]) => Promise<Record<string, unknown>>;

/** "2 regions (0:64,0:64,0:64; …), 8 of 27 chunks segmented". */
export function describeCoverage(c: RegionCoverage): string {
  const rs = c.regions.map((r) => r.map(([lo, hi]) => `${lo}:${hi}`).join(','));
  return `${rs.length} region${rs.length === 1 ? '' : 's'}${rs.length ? ` (${rs.join('; ')})` : ''}, ${c.chunks.segmented} of ${c.chunks.total} chunks segmented`;
}

function arrayMetadata(meta: VolumeMeta, job: JobIdentity, compression: CompressionChoice): { chunks: number[] } & Record<string, unknown> {
  return {
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
}

async function openArrays(
  dir: string,
): Promise<{ prob: zarr.Array<'uint8', AtomicFileStore>; mask: zarr.Array<'uint8', AtomicFileStore> }> {
  const root = zarr.root(new AtomicFileStore(dir));
  const prob = (await zarr.open.v2(root.resolve('0'), { kind: 'array', attrs: false })) as zarr.Array<'uint8', AtomicFileStore>;
  const mask = (await zarr.open.v2(root.resolve('labels/roots/0'), { kind: 'array', attrs: false })) as zarr.Array<
    'uint8',
    AtomicFileStore
  >;
  return { prob, mask };
}

const JOB_FILE = 'rhizoct-job.json';

interface JobFile {
  job: JobIdentity;
  shape: number[];
  /** Present while the output is a region store: which regions it holds. */
  coverage?: RegionCoverage;
}

async function readJobFile(file: string): Promise<JobFile | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as JobFile;
  } catch {
    throw new InconsistentError(file, 'is not valid JSON; remove the folder holding it to start again');
  }
}

/** Each setting in which two jobs differ, as "threshold 0.5 in the output, 0.6 now". */
export function jobDifferences(have: JobFile, want: JobFile): string[] {
  const out: string[] = [];
  const show = (v: unknown): string => (v === undefined ? '(not set)' : Array.isArray(v) ? `[${v.join(', ')}]` : JSON.stringify(v));
  if (JSON.stringify(have.shape) !== JSON.stringify(want.shape))
    out.push(`input shape ${show(have.shape)} in the output, ${show(want.shape)} now`);
  const keys = new Set([...Object.keys(have.job ?? {}), ...Object.keys(want.job)]);
  for (const k of keys) {
    const a = (have.job as unknown as Record<string, unknown>)?.[k];
    const b = (want.job as unknown as Record<string, unknown>)[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${k} ${show(a)} in the output, ${show(b)} now`);
  }
  return out;
}

/** Waits (polling) up to `ms` for `path` to exist. */
export async function waitForPath(path: string, ms: number): Promise<boolean> {
  const t0 = Date.now();
  for (;;) {
    if (await exists(path)) return true;
    if (Date.now() - t0 >= ms) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * An exclusive lock on finishing an output, held as a file in the output's folder that only one
 * process can create (O_EXCL works on local disks and NFS v3+). It names its holder and is
 * touched every few seconds while held; a lock not touched for `staleMs` (its holder killed, or
 * its node gone) is broken by the next process that wants it. A holder checks that the lock is
 * still its own just before the step that cannot be repeated (renaming the output into place).
 */
export class FinalizeLock {
  static readonly FILE = '.finalize.lock';
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly file: string,
    private readonly token: string,
  ) {}

  /** The lock, or null when another live process holds it. */
  static async acquire(dir: string, staleMs = 60_000): Promise<FinalizeLock | null> {
    const file = join(dir, FinalizeLock.FILE);
    const token = `${hostname()} pid ${process.pid} ${randomBytes(6).toString('hex')}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fh = await open(file, 'wx');
        await fh.writeFile(`${token}\n${new Date().toISOString()}\n`);
        await fh.close();
        const lock = new FinalizeLock(file, token);
        lock.timer = setInterval(() => void utimes(file, new Date(), new Date()).catch(() => undefined), Math.max(250, staleMs / 6));
        lock.timer.unref();
        return lock;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const st = await stat(file).catch(() => null);
      if (st && Date.now() - st.mtimeMs < staleMs) return null;
      // Stale (or just released): move it aside under a unique name, then try once more. Two
      // processes may both do this; O_EXCL still lets only one of them create the new lock.
      await rename(file, `${file}.stale-${randomBytes(6).toString('hex')}`).catch(() => undefined);
    }
    return null;
  }

  /** Removes the lock and any stale locks moved aside from a folder (once it is finished). */
  static async removeAll(dir: string): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => n.startsWith(FinalizeLock.FILE)).map((n) => rm(join(dir, n), { force: true })));
  }

  /** Whether the lock file still names this process (it was not broken as stale). */
  async stillHeld(): Promise<boolean> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    return text.startsWith(`${this.token}\n`);
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (await this.stillHeld()) await rm(this.file, { force: true });
  }
}
