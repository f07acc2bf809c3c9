import { access, mkdir, mkdtemp, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zarr from 'zarrita';
import { atomicTempName } from '../io/atomic-write.js';
import { InconsistentError, OutOfBoundsError, OutputExistsError } from '../io/errors.js';
import { mapLimit } from '../io/limit.js';
import { MetaImageSink } from '../io/metaimage-write.js';
import { NiftiSink } from '../io/nifti-write.js';
import { NrrdSink } from '../io/nrrd-write.js';
import { openVolume, type OpenOptions } from '../io/open.js';
import { FinalizeLock, waitForPath } from '../io/segmentation-output.js';
import { allocateVoxels, type VolumeMeta, type VolumeSink, type VolumeSource, type VoxelArray } from '../io/volume.js';
import { type Compression, registerZarrCodecs } from '../io/zarr-codecs.js';
import { openZarr } from '../io/zarr-source.js';
import { OmeZarrWriter, type OmeZarrWriteOptions } from '../io/zarr-write.js';
import { AtomicFileStore } from '../io/zarr-store.js';
import { type Box, boxVoxels, fmtBox, makeBox, type Vec3 } from '../volume/box.js';
import { ChunkGrid } from '../volume/chunk-grid.js';
import { copyBox } from '../volume/copy.js';
import { pyramidShapes } from '../volume/pyramid.js';
import type { LengthUnit } from '../volume/voxel-size.js';
import { type DownsampleMethod, GpuDownsampler } from './downsample.js';
import { type Progress, SilentProgress } from './progress.js';
import { PyramidStream } from './pyramid-writer.js';

export interface ConvertOptions {
  /** Chunk shape z, y, x (default 64³). */
  readonly chunkShape?: Vec3;
  readonly compression?: Compression;
  readonly compressionLevel?: number;
  /** Most pyramid levels to write, level 0 included (default: halve until the smallest side is ≤ 64). */
  readonly maxLevels?: number;
  /** 2 → OME-NGFF 0.4 (default), 3 → OME-NGFF 0.5. */
  readonly zarrFormat?: 2 | 3;
  /** Default 'mean' for images, 'mode' for labels. */
  readonly method?: DownsampleMethod;
  /** Write into labels/NAME of the existing OME-Zarr image at the output. */
  readonly label?: string;
  /** Replace the input's voxel size (z, y, x) and unit, e.g. where the scanner did not record them. */
  readonly voxelSize?: Vec3;
  readonly unit?: LengthUnit;
  readonly overwrite?: boolean;
  readonly progress?: Progress;
  /** Level-0 rows read per step (a multiple of the chunk depth; default one chunk row, two if odd). */
  readonly slabDepth?: number;
  /** Shared downsampler (tests, or a caller that holds a GPU); otherwise one is made and destroyed. */
  readonly downsampler?: GpuDownsampler;
  readonly open?: OpenOptions;
  /**
   * Convert only work units i, i+N, i+2N… into the shared OUT.partial (SLURM array tasks, a
   * Kubernetes indexed job); whichever process finds every unit done finishes the pyramid.
   */
  readonly shard?: { readonly index: number; readonly count: number };
}

export interface ConvertResult {
  readonly output: string;
  readonly format: string;
  readonly levels: Vec3[];
  readonly chunksWritten: number;
  readonly voxels: number;
  readonly seconds: number;
  /** With `shard`: what this process did. */
  readonly shard?: ConvertShardReport;
}

/**
 * Streams any volume we read into an OME-Zarr pyramid: level-0 slabs of whole chunk rows
 * are read, written, and halved on the GPU level after level, so memory is bounded by a
 * slab whatever the volume's size. The output looks complete only once finished.
 */
export async function convertToOmeZarr(input: string, output: string, opts: ConvertOptions = {}): Promise<ConvertResult> {
  if (opts.shard) return convertShard(input, output, opts);
  const t0 = performance.now();
  const progress = opts.progress ?? new SilentProgress();
  const src = await openVolume(input, opts.open);
  let writer: OmeZarrWriter | undefined;
  let ds = opts.downsampler;
  const ownDs = !ds;
  try {
    const meta: VolumeMeta = withPlacement(src, opts);
    if (fileOutputFormat(output) && opts.label === undefined) return await toFile(src, output, meta, opts, progress, t0);
    const chunk = opts.chunkShape ?? [64, 64, 64];
    // A label pyramid has, by default, as many levels as its image.
    const imageLevels = opts.label !== undefined && !opts.maxLevels ? (await openZarr(output)).levels.length : undefined;
    const maxLevels = opts.maxLevels ?? imageLevels;
    const levels = pyramidShapes(src.shape, { minSide: 64, ...(maxLevels ? { maxLevels } : {}) });
    const method = opts.method ?? (opts.label !== undefined ? 'mode' : 'mean');
    if (levels.length > 1 && !ds) {
      ds = await GpuDownsampler.create().catch((err: unknown) => {
        throw new Error(`${(err as Error).message} (pyramid levels are computed on the GPU; pass --levels 1 to write level 0 only)`, {
          cause: err,
        });
      });
    }
    writer = await OmeZarrWriter.create(output, meta, {
      zarrFormat: opts.zarrFormat ?? 2,
      chunkShape: chunk,
      compression: {
        compression: opts.compression ?? 'blosc',
        ...(opts.compressionLevel !== undefined ? { level: opts.compressionLevel } : {}),
      },
      levelCount: levels.length,
      method,
      name: opts.label ?? src.path.replace(/\/+$/, '').split('/').pop() ?? 'image',
      overwrite: opts.overwrite ?? false,
      ...(opts.label !== undefined ? { label: opts.label } : {}),
      provenance: { source: src.path, sourceFormat: src.format },
    });
    let chunks = 0;
    const stream = new PyramidStream(writer, ds, method, (n) => {
      chunks += n;
    });
    const cz = writer.grids[0]!.chunkShape[0];
    const slab = opts.slabDepth ?? (cz % 2 === 0 || levels.length === 1 ? cz : 2 * cz);
    if (slab % cz !== 0 || (levels.length > 1 && slab % 2 !== 0)) {
      throw new RangeError(`slab depth ${slab} must be a multiple of the chunk depth ${cz}${levels.length > 1 ? ' and even' : ''}`);
    }
    const [nz, ny, nx] = src.shape;
    progress.start(nz * ny * nx, 'voxels', 'convert');
    for (let z = 0; z < nz; z += slab) {
      const d = Math.min(slab, nz - z);
      const data = await src.readBox(makeBox([z, 0, 0], [d, ny, nx]));
      await stream.push(z, data);
      progress.advance(d * ny * nx);
    }
    stream.finish();
    await writer.finalize();
    progress.done();
    return { output, format: src.format, levels, chunksWritten: chunks, voxels: nz * ny * nx, seconds: (performance.now() - t0) / 1000 };
  } catch (err) {
    progress.done();
    await writer?.abort().catch(() => undefined);
    throw err;
  } finally {
    await src.close();
    if (ownDs) ds?.destroy();
  }
}

export function isNiftiPath(p: string): boolean {
  return /\.nii(\.gz)?$/i.test(p);
}

/** Single-file formats written by name: .nii/.nii.gz, .nrrd/.nhdr, .mha/.mhd; undefined for OME-Zarr. */
export function fileOutputFormat(p: string): 'nifti' | 'nrrd' | 'metaimage' | undefined {
  if (isNiftiPath(p)) return 'nifti';
  if (/\.(nrrd|nhdr)$/i.test(p)) return 'nrrd';
  if (/\.(mha|mhd)$/i.test(p)) return 'metaimage';
  return undefined;
}

/**
 * A writer for a single-file output, by its name: NIfTI (compressed when named .nii.gz),
 * NRRD or MetaImage (gzip/zlib-compressed unless `compression` is 'none').
 */
export async function createFileSink(
  output: string,
  meta: VolumeMeta,
  opts: { overwrite?: boolean; compression?: Compression; description?: string } = {},
): Promise<VolumeSink> {
  const common = { overwrite: opts.overwrite ?? false, ...(opts.description ? { description: opts.description } : {}) };
  const compression = opts.compression === 'none' ? 'none' : 'gzip';
  switch (fileOutputFormat(output)) {
    case 'nifti':
      return NiftiSink.create(output, meta, common);
    case 'nrrd':
      return NrrdSink.create(output, meta, { ...common, compression });
    case 'metaimage':
      return MetaImageSink.create(output, meta, { ...common, compression });
    default:
      throw new RangeError(`${output}: not a file format rhizoct writes (.nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd)`);
  }
}

/** Level 0 only, slab by slab, into a NIfTI, NRRD or MetaImage file (e.g. to hand a mask to 3D Slicer, ITK-SNAP or FSL). */
async function toFile(
  src: VolumeSource,
  output: string,
  meta: VolumeMeta,
  opts: ConvertOptions,
  progress: Progress,
  t0: number,
): Promise<ConvertResult> {
  const sink = await createFileSink(output, meta, {
    overwrite: opts.overwrite ?? false,
    description: `rhizoct convert from ${src.format}`,
    ...(opts.compression ? { compression: opts.compression } : {}),
  });
  try {
    const [nz, ny, nx] = src.shape;
    const slab = Math.max(1, Math.floor((64 << 20) / (ny * nx * 4)));
    progress.start(nz * ny * nx, 'voxels', 'convert');
    for (let z = 0; z < nz; z += slab) {
      const box = makeBox([z, 0, 0], [Math.min(slab, nz - z), ny, nx]);
      await sink.writeBox(box, await src.readBox(box));
      progress.advance(box.shape[0] * ny * nx);
    }
    await sink.finalize();
    progress.done();
    return {
      output,
      format: src.format,
      levels: [src.shape],
      chunksWritten: 0,
      voxels: nz * ny * nx,
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (err) {
    await sink.abort();
    throw err;
  }
}

function withPlacement(src: VolumeSource, opts: ConvertOptions): VolumeMeta {
  const base: VolumeMeta = {
    shape: src.shape,
    dtype: src.dtype,
    voxelSize: opts.voxelSize ?? src.voxelSize,
    unit: opts.unit ?? src.unit,
    origin: src.origin,
  };
  // A replaced voxel size makes the source's affine wrong; keep it only when nothing changed.
  return src.affine && !opts.voxelSize && !opts.unit ? { ...base, affine: src.affine } : base;
}

// ---------------------------------------------------------------------------------------------
// Sharded conversion: `convert --shard i/N` (e.g. one SLURM array task each) on a shared folder.

/** What a `convert --shard` process did. */
export interface ConvertShardReport {
  readonly index: number;
  readonly count: number;
  /** Work units (slabs of level-0 chunk rows) in the whole volume, and this shard's. */
  readonly units: number;
  readonly mine: number;
  readonly skipped: number;
  readonly written: number;
  /** OUT is a finished image (finalised by this process or another). */
  readonly complete: boolean;
  /** OUT was already finished, by the same job: nothing was done. */
  readonly alreadyComplete: boolean;
  /** This process wrote the pyramid's coarser levels and the group metadata, and moved OUT into place. */
  readonly finalised: boolean;
}

const CONVERT_JOB = 'rhizoct-convert-job.json';

interface ConvertJob {
  readonly kind: 'rhizoct convert --shard';
  /** Level-0 rows per work unit. */
  readonly unitDepth: number;
  /** The metadata files of the finished image, by path, exactly as a single-process run writes them. */
  readonly metadata: Record<string, string>;
}

const pathExists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/**
 * Converts the work units i, i+N, i+2N… of a volume into OUT.partial, shared by N processes: a
 * unit is 2 chunk rows of level 0 (one chunk row when the pyramid has one level), of which the
 * shard writes level 0 and its halving, level 1, so no two shards ever write the same chunk.
 * Whichever process finds every unit done builds the coarser levels from level 1 (an eighth of the
 * data), writes the group metadata and moves OUT into place, under a lock. Every chunk and
 * metadata file is byte-identical to a single-process run's. A shard whose units are done, or
 * that has none, or that finds OUT finished by the same job, does nothing and succeeds.
 */
async function convertShard(input: string, output: string, opts: ConvertOptions): Promise<ConvertResult> {
  const t0 = performance.now();
  const shard = opts.shard!;
  if (!(
    Number.isSafeInteger(shard.count) &&
    shard.count >= 1 &&
    Number.isSafeInteger(shard.index) &&
    shard.index >= 0 &&
    shard.index < shard.count
  )) {
    throw new RangeError(`convert: shard must be i/N with whole numbers 0 ≤ i < N, got ${shard.index}/${shard.count}`);
  }
  if (opts.label !== undefined) throw new Error('convert --shard writes a new image; add a --label in a run of its own');
  if (fileOutputFormat(output)) throw new Error(`convert --shard writes OME-Zarr, not a single file (${output})`);
  if (opts.overwrite)
    throw new Error(
      'convert: --overwrite cannot be used with --shard (a shard started late would delete the work of the others); remove OUT and OUT.partial before submitting the shards',
    );
  const progress = opts.progress ?? new SilentProgress();
  const src = await openVolume(input, opts.open);
  let ds = opts.downsampler;
  const ownDs = !ds;
  try {
    const meta: VolumeMeta = withPlacement(src, opts);
    const chunk = opts.chunkShape ?? [64, 64, 64];
    const levels = pyramidShapes(src.shape, { minSide: 64, ...(opts.maxLevels ? { maxLevels: opts.maxLevels } : {}) });
    const method = opts.method ?? 'mean';
    const wopts: OmeZarrWriteOptions = {
      zarrFormat: opts.zarrFormat ?? 2,
      chunkShape: chunk,
      compression: {
        compression: opts.compression ?? 'blosc',
        ...(opts.compressionLevel !== undefined ? { level: opts.compressionLevel } : {}),
      },
      levelCount: levels.length,
      method,
      name: src.path.replace(/\/+$/, '').split('/').pop() ?? 'image',
      overwrite: false,
      provenance: { source: src.path, sourceFormat: src.format },
    };
    const [nz, ny, nx] = src.shape;
    const cz = Math.max(1, Math.min(chunk[0], nz));
    const unitDepth = levels.length > 1 ? 2 * cz : cz;
    const job: ConvertJob = { kind: 'rhizoct convert --shard', unitDepth, metadata: await expectedMetadata(meta, wopts) };
    const units = Math.ceil(nz / unitDepth);
    const mine = Array.from({ length: units }, (_, k) => k).filter((k) => k % shard.count === shard.index);
    const report = (r: Partial<ConvertShardReport>, chunks = 0, voxels = 0): ConvertResult => ({
      output,
      format: src.format,
      levels,
      chunksWritten: chunks,
      voxels,
      seconds: (performance.now() - t0) / 1000,
      shard: {
        index: shard.index,
        count: shard.count,
        units,
        mine: mine.length,
        skipped: 0,
        written: 0,
        complete: false,
        alreadyComplete: false,
        finalised: false,
        ...r,
      },
    });

    if (await finishedBySameConversion(output, job)) return report({ skipped: mine.length, complete: true, alreadyComplete: true });
    const partial = `${output}.partial`;
    const opened = await openConvertPartial(partial, job).catch((err: unknown) => err);
    if (opened !== true) {
      // OUT was finished by another shard while this one looked: the partial vanished, or was a stray being discarded.
      if (await finishedBySameConversion(output, job)) return report({ skipped: mine.length, complete: true, alreadyComplete: true });
      throw opened === false ? new InconsistentError(partial, 'vanished while this shard opened it') : opened;
    }
    if (await pathExists(output)) {
      // Finished by another shard between the check above and now: the partial just made is a stray.
      await discardPartial(partial);
      if (await finishedBySameConversion(output, job)) return report({ skipped: mine.length, complete: true, alreadyComplete: true });
    }
    const convertUnits = async (): Promise<ConvertResult> => {
      const store = new AtomicFileStore(partial);
      const arrays = await ShardLevels.open(store, output, meta, wopts, levels);
      const done = (k: number): string => join(partial, '.done', String(k));
      const todo: number[] = [];
      for (const k of mine) if (!(await pathExists(done(k)))) todo.push(k);
      if (levels.length > 1 && todo.length > 0 && !ds) {
        ds = await GpuDownsampler.create().catch((err: unknown) => {
          throw new Error(`${(err as Error).message} (pyramid levels are computed on the GPU; pass --levels 1 to write level 0 only)`, {
            cause: err,
          });
        });
      }
      const depthOf = (k: number): number => Math.min(unitDepth, nz - k * unitDepth);
      progress.start(
        todo.reduce((a, k) => a + depthOf(k) * ny * nx, 0),
        'voxels',
        `convert shard ${shard.index}/${shard.count}`,
      );
      let chunks = 0;
      let voxels = 0;
      // Level 1 of a unit from sub-slabs of even depth (one chunk row of level 0 when that is even).
      const sub = levels.length === 1 || cz % 2 === 0 ? cz : unitDepth;
      for (const k of todo) {
        const z0 = k * unitDepth;
        const d = depthOf(k);
        const halves: VoxelArray[] = [];
        for (let z = z0; z < z0 + d; z += sub) {
          const h = Math.min(sub, z0 + d - z);
          const data = await src.readBox(makeBox([z, 0, 0], [h, ny, nx]));
          chunks += await arrays.writeLevelBox(0, makeBox([z, 0, 0], [h, ny, nx]), data);
          if (levels.length > 1) halves.push(await ds!.downsample(data, [h, ny, nx], method));
          progress.advance(h * ny * nx);
        }
        if (levels.length > 1) {
          const [, ly, lx] = levels[1]!;
          const rows = halves.reduce((a, v) => a + v.length, 0) / (ly * lx);
          const joined = allocateVoxels(meta.dtype, rows * ly * lx);
          let at = 0;
          for (const v of halves) {
            joined.set(v as never, at);
            at += v.length;
          }
          chunks += await arrays.writeLevelBox(1, makeBox([z0 / 2, 0, 0], [rows, ly, lx]), joined);
        }
        await mkdir(join(partial, '.done'), { recursive: true });
        await (await open(done(k), 'w')).close();
        voxels += d * ny * nx;
      }
      progress.done();

      for (let k = 0; k < units; k++)
        if (!(await pathExists(done(k)))) return report({ skipped: mine.length - todo.length, written: todo.length }, chunks, voxels);
      const lock = await FinalizeLock.acquire(partial);
      if (!lock) {
        const complete = await waitForPath(output, 30_000);
        return report({ skipped: mine.length - todo.length, written: todo.length, complete }, chunks, voxels);
      }
      let finalised = false;
      try {
        if (levels.length > 2) {
          if (!ds) ds = await GpuDownsampler.create();
          chunks += await finishPyramid(arrays, ds, method, lock);
        }
        for (const [file, text] of Object.entries(job.metadata)) {
          if (!file.includes('/')) await store.set(`/${file}` as zarr.AbsolutePath, new TextEncoder().encode(text));
        }
        if (await lock.stillHeld()) {
          await rename(partial, output);
          finalised = true;
        }
      } finally {
        await lock.release();
      }
      if (finalised) await removeShardFiles(output);
      const complete = finalised || (await waitForPath(output, 30_000));
      return report({ skipped: mine.length - todo.length, written: todo.length, complete, finalised }, chunks, voxels);
    };
    return await convertUnits().catch(async (err: unknown) => {
      // A stray partial removed under this shard by another that found OUT finished.
      if (await finishedBySameConversion(output, job).catch(() => false))
        return report({ skipped: mine.length, complete: true, alreadyComplete: true });
      throw err;
    });
  } catch (err) {
    progress.done();
    throw err;
  } finally {
    await src.close();
    if (ownDs) ds?.destroy();
  }
}

/** The metadata files (array and group) a single-process run would write, by path: made by OmeZarrWriter itself in a scratch folder. */
async function expectedMetadata(meta: VolumeMeta, wopts: OmeZarrWriteOptions): Promise<Record<string, string>> {
  const tmp = await mkdtemp(join(tmpdir(), 'rhizoct-convert-meta-'));
  try {
    const path = join(tmp, 'out.zarr');
    const w = await OmeZarrWriter.create(path, meta, wopts);
    await w.finalize();
    const files: Record<string, string> = {};
    const walk = async (rel: string): Promise<void> => {
      for (const e of await readdir(join(path, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(r);
        else files[r] = await readFile(join(path, r), 'utf8');
      }
    };
    await walk('');
    return Object.fromEntries(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Each difference between two sets of metadata files, as "0/.zarray chunks: [64,64,64] in the output, [32,32,32] now". */
function metadataDifferences(have: Record<string, string>, want: Record<string, string>): string[] {
  const out: string[] = [];
  const parse = (t: string | undefined): unknown => {
    if (t === undefined) return undefined;
    try {
      return JSON.parse(t);
    } catch {
      return t;
    }
  };
  const show = (v: unknown): string => (v === undefined ? '(none)' : JSON.stringify(v));
  const walk = (file: string, key: string, a: unknown, b: unknown): void => {
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      const ka = a as Record<string, unknown>;
      const kb = b as Record<string, unknown>;
      for (const k of new Set([...Object.keys(ka), ...Object.keys(kb)])) walk(file, key ? `${key}.${k}` : k, ka[k], kb[k]);
      return;
    }
    out.push(`${file}${key ? ` ${key}` : ''}: ${show(a)} in the output, ${show(b)} now`);
  };
  for (const f of new Set([...Object.keys(have), ...Object.keys(want)])) walk(f, '', parse(have[f]), parse(want[f]));
  // One entry per setting: the same difference in every level's metadata is named once, with its files.
  const grouped = new Map<string, string[]>();
  for (const d of out) {
    const m = /^(\S+)\s?(.*)$/.exec(d)!;
    grouped.set(m[2]!, [...(grouped.get(m[2]!) ?? []), m[1]!]);
  }
  return [...grouped].map(([what, files]) => `${what.replace(/^: /, '')} (${files.join(', ')})`);
}

/** True when OUT is a finished image whose metadata is what this job would write; throws, naming the differences, when it is another's. */
async function finishedBySameConversion(output: string, job: ConvertJob): Promise<boolean> {
  if (!(await pathExists(output))) return false;
  const have: Record<string, string> = {};
  for (const f of Object.keys(job.metadata)) {
    const t = await readFile(join(output, f), 'utf8').catch(() => undefined);
    if (t !== undefined) have[f] = t;
  }
  if (Object.keys(have).length === 0)
    throw new OutputExistsError(output, 'already exists and is not an OME-Zarr image (remove it to convert into it)');
  const diff = metadataDifferences(have, job.metadata);
  if (diff.length)
    throw new InconsistentError(
      output,
      `is the finished conversion of another job: ${diff.slice(0, 6).join('; ')}${diff.length > 6 ? `; and ${diff.length - 6} more` : ''}. Remove it to convert again with these settings`,
    );
  await removeShardFiles(output); // leftovers of a finaliser killed just after its rename
  return true;
}

/**
 * Makes OUT.partial for this job, or checks that the one there is for this job. Made in a
 * private folder and renamed into place, so shards starting together never see half of it.
 * Returns false when OUT.partial vanished meanwhile (another shard finished it).
 */
async function openConvertPartial(partial: string, job: ConvertJob): Promise<boolean> {
  const want = `${JSON.stringify(job, null, 2)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    // Looked for before its job file is read: a partial that another shard renames into place
    // between the two reads would otherwise look like one without a job file.
    const existed = await pathExists(partial);
    const have = await readFile(join(partial, CONVERT_JOB), 'utf8').catch(() => undefined);
    if (have !== undefined) {
      let h: ConvertJob;
      try {
        h = JSON.parse(have) as ConvertJob;
      } catch {
        throw new InconsistentError(join(partial, CONVERT_JOB), 'is not valid JSON; remove the folder to start again');
      }
      const diff = metadataDifferences(h.metadata ?? {}, job.metadata);
      if (h.unitDepth !== job.unitDepth) diff.unshift(`work unit ${h.unitDepth} rows in the output, ${job.unitDepth} now`);
      if (diff.length)
        throw new InconsistentError(
          partial,
          `was started by another conversion: ${diff.slice(0, 6).join('; ')}${diff.length > 6 ? `; and ${diff.length - 6} more` : ''}. Remove it to start again`,
        );
      return true;
    }
    if (existed) {
      throw new InconsistentError(
        partial,
        'exists but is not a sharded conversion (left by an interrupted convert without --shard?); remove it to start again',
      );
    }
    if (attempt > 0) return false;
    const tmp = atomicTempName(partial);
    const store = new AtomicFileStore(tmp);
    try {
      for (const [file, text] of Object.entries(job.metadata)) {
        if (file.includes('/')) await store.set(`/${file}` as zarr.AbsolutePath, new TextEncoder().encode(text));
      }
      await mkdir(join(tmp, '.done'), { recursive: true });
      await store.set(`/${CONVERT_JOB}` as zarr.AbsolutePath, new TextEncoder().encode(want));
      await rename(tmp, partial);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      // Another shard made it first: use theirs.
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return false;
}

/**
 * Removes a stray OUT.partial: renamed aside first, so another shard sees it whole or not at all,
 * never half deleted (which reads as a folder left by some other conversion).
 */
async function discardPartial(partial: string): Promise<void> {
  const aside = atomicTempName(partial);
  try {
    await rename(partial, aside);
  } catch {
    return; // already gone, or renamed aside by another shard
  }
  await rm(aside, { recursive: true, force: true }).catch(() => undefined);
}

/** Removes what only the shards needed from a finished image: the job file, the done markers, locks. */
async function removeShardFiles(dir: string): Promise<void> {
  await rm(join(dir, CONVERT_JOB), { force: true });
  await rm(join(dir, '.done'), { recursive: true, force: true });
  await FinalizeLock.removeAll(dir);
}

/**
 * The arrays of OUT.partial, written chunk by chunk as OmeZarrWriter writes them (same chunk
 * boxes, same codecs, each chunk an atomic file), opened by every shard from the metadata the
 * first one put there.
 */
class ShardLevels {
  private constructor(
    readonly path: string,
    readonly levelShapes: Vec3[],
    readonly grids: ChunkGrid[],
    private readonly arrays: zarr.Array<zarr.DataType, AtomicFileStore>[],
    private readonly dtype: VolumeMeta['dtype'],
  ) {}

  static async open(
    store: AtomicFileStore,
    path: string,
    meta: VolumeMeta,
    wopts: OmeZarrWriteOptions,
    levels: Vec3[],
  ): Promise<ShardLevels> {
    registerZarrCodecs();
    const root = zarr.root(store);
    const arrays: zarr.Array<zarr.DataType, AtomicFileStore>[] = [];
    for (let l = 0; l < levels.length; l++) {
      const loc = root.resolve(String(l));
      arrays.push(
        (wopts.zarrFormat === 2
          ? await zarr.open.v2(loc, { kind: 'array', attrs: false })
          : await zarr.open.v3(loc, { kind: 'array' })) as zarr.Array<zarr.DataType, AtomicFileStore>,
      );
    }
    const grids = levels.map((s, l) => new ChunkGrid(s, arrays[l]!.chunks as unknown as Vec3));
    return new ShardLevels(path, levels, grids, arrays, meta.dtype);
  }

  /** Writes a box of whole chunks (edge chunks may be cut short) of one level; returns the chunks written. */
  async writeLevelBox(level: number, box: Box, data: VoxelArray): Promise<number> {
    const grid = this.grids[level]!;
    if (!grid.isAligned(box) || data.length !== boxVoxels(box))
      throw new OutOfBoundsError(this.path, `level ${level}: ${fmtBox(box)} is not whole chunks ${grid.chunkShape.join('×')} of its data`);
    const chunks = [...grid.chunksIn(box)];
    await mapLimit(chunks, 4, async (c) => {
      const region = grid.chunkBox(c);
      const part = allocateVoxels(this.dtype, boxVoxels(region));
      copyBox(data, box, part, region);
      const [nz, ny, nx] = region.shape;
      const sel = [0, 1, 2].map((a) => zarr.slice(region.offset[a]!, region.offset[a]! + region.shape[a]!));
      await zarr.set(this.arrays[level]!, sel, { data: part, shape: [nz, ny, nx], stride: [ny * nx, nx, 1] } as zarr.Chunk<zarr.DataType>);
    });
    return chunks.length;
  }

  async readLevelRows(level: number, z0: number, depth: number): Promise<VoxelArray> {
    const [, ny, nx] = this.levelShapes[level]!;
    const got = await zarr.get(this.arrays[level]!, [zarr.slice(z0, z0 + depth), zarr.slice(0, ny), zarr.slice(0, nx)]);
    return got.data as unknown as VoxelArray;
  }
}

/**
 * Levels 2… from level 1 as written by the shards, through the same PyramidStream a single run
 * uses (so the same slabs are halved): level 1 is read back and pushed as the stream's base,
 * whose own writes are skipped since the shards made them. Returns the chunks written.
 */
async function finishPyramid(arrays: ShardLevels, ds: GpuDownsampler, method: DownsampleMethod, lock: FinalizeLock): Promise<number> {
  let chunks = 0;
  const fromOne = {
    levelShapes: arrays.levelShapes.slice(1),
    grids: arrays.grids.slice(1),
    writeLevelBox: async (l: number, box: Box, data: VoxelArray): Promise<number> => (l === 0 ? 0 : arrays.writeLevelBox(l + 1, box, data)),
  };
  // PyramidStream needs only these three members of a writer.
  const stream = new PyramidStream(fromOne as unknown as OmeZarrWriter, ds, method, (n, l) => {
    if (l > 0) chunks += n;
  });
  const [n1] = arrays.levelShapes[1]!;
  const c1 = arrays.grids[1]!.chunkShape[0];
  const slab = c1 % 2 === 0 ? c1 : 2 * c1;
  for (let z = 0; z < n1; z += slab) {
    if (!(await lock.stillHeld()))
      throw new Error(
        `${arrays.path}: the finishing lock was taken over by another process (this one stalled for over a minute); it finishes the output`,
      );
    await stream.push(z, await arrays.readLevelRows(1, z, Math.min(slab, n1 - z)));
  }
  stream.finish();
  return chunks;
}
