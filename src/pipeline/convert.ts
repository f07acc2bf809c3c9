import { MetaImageSink } from '../io/metaimage-write.js';
import { NiftiSink } from '../io/nifti-write.js';
import { NrrdSink } from '../io/nrrd-write.js';
import { openVolume, type OpenOptions } from '../io/open.js';
import type { VolumeMeta, VolumeSink, VolumeSource } from '../io/volume.js';
import type { Compression } from '../io/zarr-codecs.js';
import { openZarr } from '../io/zarr-source.js';
import { OmeZarrWriter } from '../io/zarr-write.js';
import { makeBox, type Vec3 } from '../volume/box.js';
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
}

export interface ConvertResult {
  readonly output: string;
  readonly format: string;
  readonly levels: Vec3[];
  readonly chunksWritten: number;
  readonly voxels: number;
  readonly seconds: number;
}

/**
 * Streams any volume we read into an OME-Zarr pyramid: level-0 slabs of whole chunk rows
 * are read, written, and halved on the GPU level after level, so memory is bounded by a
 * slab whatever the volume's size. The output looks complete only once finished.
 */
export async function convertToOmeZarr(input: string, output: string, opts: ConvertOptions = {}): Promise<ConvertResult> {
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
        throw new Error(`${(err as Error).message} (pyramid levels are computed on the GPU; pass --levels 1 to write level 0 only)`, { cause: err });
      });
    }
    writer = await OmeZarrWriter.create(output, meta, {
      zarrFormat: opts.zarrFormat ?? 2,
      chunkShape: chunk,
      compression: { compression: opts.compression ?? 'blosc', ...(opts.compressionLevel !== undefined ? { level: opts.compressionLevel } : {}) },
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
export async function createFileSink(output: string, meta: VolumeMeta, opts: { overwrite?: boolean; compression?: Compression; description?: string } = {}): Promise<VolumeSink> {
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
async function toFile(src: VolumeSource, output: string, meta: VolumeMeta, opts: ConvertOptions, progress: Progress, t0: number): Promise<ConvertResult> {
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
    return { output, format: src.format, levels: [src.shape], chunksWritten: 0, voxels: nz * ny * nx, seconds: (performance.now() - t0) / 1000 };
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
