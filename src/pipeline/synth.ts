import { writeFile } from 'node:fs/promises';
import { acquireGpu } from '../gpu/acquire.js';
import type { Gpu } from '../gpu/gpu.js';
import type { VolumeMeta } from '../io/volume.js';
import type { Compression } from '../io/zarr-codecs.js';
import { makeBox, type Vec3 } from '../volume/box.js';
import { pyramidShapes } from '../volume/pyramid.js';
import { totalLength } from '../synth/architecture.js';
import { buildScene, type SynthScene } from '../synth/generate.js';
import { ImageWithLabel } from '../synth/ome-output.js';
import { OrthoPlanes, planesThroughRoot } from '../synth/ortho.js';
import { applyOverrides, type Family, presetParams, type SynthParams } from '../synth/params.js';
import { randomParams, type RandomDraw } from '../synth/random-family.js';
import { writeRsml } from '../synth/rsml.js';
import { SlabRenderer } from '../synth/tiles.js';
import { fovBox, tubesFromSystem, tubeStats } from '../synth/truth.js';
import { GpuDownsampler } from './downsample.js';
import { type Progress, SilentProgress } from './progress.js';
import { PyramidStream } from './pyramid-writer.js';

/** Version of the generator: bumped whenever the same seed and options would give other bytes. */
export const SYNTH_VERSION = 1;

/** File name of the ground-truth RSML inside the output folder. */
export const RSML_NAME = 'roots.rsml';

export interface SynthOptions {
  readonly seed: number;
  /** z, y, x voxels. */
  readonly shape: Vec3;
  /** z, y, x, millimetres. */
  readonly voxelSize: Vec3;
  readonly difficulty: Family;
  /** `path=value` parameter overrides applied after the preset (see synth/params.ts). */
  readonly overrides?: readonly string[];
  /** Zarr chunk shape (default 64³). */
  readonly chunkShape?: Vec3;
  readonly compression?: Compression;
  /** 2 → OME-NGFF 0.4 (default), 3 → OME-NGFF 0.5. */
  readonly zarrFormat?: 2 | 3;
  /** Most pyramid levels, level 0 included (default: halve until the smallest side is ≤ 64). */
  readonly maxLevels?: number;
  readonly overwrite?: boolean;
  /** Also write the RSML here (it is always written inside the output as roots.rsml). */
  readonly rsmlPath?: string;
  /** Write a PNG of the three central orthogonal slices (and the mask) here. */
  readonly previewPath?: string;
  /** y, x size of the boxes rendered at once (default 256). */
  readonly tile?: number;
  readonly progress?: Progress;
  /** A device to use (kept open); otherwise one is acquired and released. */
  readonly gpu?: Gpu;
}

export interface SynthStats {
  readonly roots: number;
  readonly segments: number;
  readonly objects: number;
  /** Total length of the polylines (mm), and of their parts inside the field of view (lateral bases inside the parent left out). */
  readonly lengthMm: number;
  readonly lengthInViewMm: number;
  /** Volume inside the field of view from the RSML polylines and radii (frustums, lateral bases inside their parent left out; mm³). */
  readonly rsmlVolumeMm3: number;
  /** Root volume as rendered: the supersampled partial-volume coverage summed (mm³). */
  readonly coverageVolumeMm3: number;
  /** Voxels of labels/roots set, and their volume (mm³). */
  readonly maskVoxels: number;
  readonly maskVolumeMm3: number;
  /** True when the segment cap stopped the growth of laterals. */
  readonly truncated: boolean;
}

export interface SynthResult {
  readonly output: string;
  readonly rsml: string;
  readonly shape: Vec3;
  readonly voxelSize: Vec3;
  readonly levels: Vec3[];
  readonly params: SynthParams;
  readonly stats: SynthStats;
  readonly seconds: number;
  /** Voxels rendered per second (whole run, writing included). */
  readonly voxelsPerSecond: number;
}

/** A preset's parameters, or the random family's draw for this seed and voxel size, then the overrides. */
export function resolveParams(
  difficulty: Family,
  overrides: readonly string[] = [],
  seed = 0,
  voxelSize: Vec3 = [0.05, 0.05, 0.05],
): SynthParams {
  return applyOverrides(difficulty === 'random' ? randomParams(seed, Math.min(...voxelSize)).params : presetParams(difficulty), overrides);
}

function randomDraw(opts: SynthOptions): RandomDraw | undefined {
  return opts.difficulty === 'random' ? randomParams(opts.seed, Math.min(...opts.voxelSize)).draw : undefined;
}

/**
 * Generates a synthetic soil-root µCT scan with exact ground truth: an OME-Zarr image (uint16)
 * with labels/roots (the mask) and roots.rsml (the root system as 3D polylines with diameters).
 * The root architecture and soil objects are laid out on the CPU; every voxel is computed on
 * the GPU, slab by slab (one chunk row of the output at a time), and written as it is finished,
 * so memory is bounded by a slab whatever the volume's size.
 */
export async function synthesize(output: string, opts: SynthOptions): Promise<SynthResult> {
  const t0 = performance.now();
  const progress = opts.progress ?? new SilentProgress();
  const params = resolveParams(opts.difficulty, opts.overrides ?? [], opts.seed, opts.voxelSize);
  for (let a = 0; a < 3; a++) {
    if (!Number.isInteger(opts.shape[a]) || opts.shape[a]! < 1)
      throw new RangeError(`shape [${opts.shape.join(', ')}] must be positive whole numbers`);
    if (!(opts.voxelSize[a]! > 0)) throw new RangeError(`voxel size [${opts.voxelSize.join(', ')}] must be positive`);
  }
  const scene = buildScene(opts.seed, opts.shape, opts.voxelSize, params);
  const gpu = opts.gpu ?? (await acquireGpu({ timestamps: false }));
  let out: ImageWithLabel | undefined;
  let ds: GpuDownsampler | undefined;
  let slabs: SlabRenderer | undefined;
  try {
    const chunk = opts.chunkShape ?? [64, 64, 64];
    const levels = pyramidShapes(opts.shape, { minSide: 64, ...(opts.maxLevels ? { maxLevels: opts.maxLevels } : {}) });
    if (levels.length > 1) ds = await GpuDownsampler.create(gpu);
    const base = { shape: opts.shape, voxelSize: opts.voxelSize, unit: 'millimeter', origin: [0, 0, 0] } as const;
    const imageMeta: VolumeMeta = { ...base, dtype: 'uint16' };
    const maskMeta: VolumeMeta = { ...base, dtype: 'uint8' };
    const provenance: Record<string, unknown> = {
      synth: { ...describe(scene, opts), device: gpu.adapter.description || gpu.adapter.device },
    };
    const writeOpts = {
      zarrFormat: opts.zarrFormat ?? 2,
      chunkShape: chunk,
      compression: { compression: opts.compression ?? 'blosc' },
      levelCount: levels.length,
      method: 'mean' as const,
      name: `synthetic soil-root scan (seed ${opts.seed}, ${opts.difficulty})`,
      overwrite: opts.overwrite ?? false,
      provenance,
    };
    out = await ImageWithLabel.create(output, imageMeta, maskMeta, writeOpts, 'roots', {
      method: 'mode',
      colors: [{ 'label-value': 1, rgba: [255, 64, 0, 255] }],
      provenance: { synth: { seed: opts.seed, difficulty: opts.difficulty, maskRule: MASK_RULE } },
    });
    const imageStream = new PyramidStream(out.image, ds, 'mean');
    const maskStream = new PyramidStream(out.label, ds, 'mode');
    const [nz, ny, nx] = opts.shape;
    const slab = out.image.grids[0]!.chunkShape[0];
    const tile = Math.max(16, opts.tile ?? 256);
    slabs = new SlabRenderer(gpu, scene, [slab, tile, tile]);
    const ortho = opts.previewPath ? new OrthoPlanes(opts.shape, planesThroughRoot(scene.roots, scene.frame)) : undefined;
    let coverage = 0;
    let masked = 0;
    progress.start(nz * ny * nx, 'voxels', 'synth');
    for (let z = 0; z < nz; z += slab) {
      const d = Math.min(slab, nz - z);
      const r = await slabs.render(makeBox([z, 0, 0], [d, ny, nx]));
      coverage += r.coverageSamples;
      masked += r.maskVoxels;
      ortho?.add(z, r.image, r.mask);
      await imageStream.push(z, r.image);
      await maskStream.push(z, r.mask);
      progress.advance(d * ny * nx);
    }
    imageStream.finish();
    maskStream.finish();

    const fov = fovBox(scene.frame);
    const tubes = tubeStats(tubesFromSystem(scene.roots), fov.lo, fov.hi);
    const voxelVolume = opts.voxelSize[0] * opts.voxelSize[1] * opts.voxelSize[2];
    const S3 = params.scan.supersample ** 3;
    const stats: SynthStats = {
      roots: scene.roots.roots.length,
      segments: scene.segments.rootCount,
      objects: scene.objects.length,
      lengthMm: totalLength(scene.roots),
      lengthInViewMm: tubes.length,
      rsmlVolumeMm3: tubes.volume,
      coverageVolumeMm3: (coverage / S3) * voxelVolume,
      maskVoxels: masked,
      maskVolumeMm3: masked * voxelVolume,
      truncated: scene.roots.truncated,
    };
    (provenance.synth as Record<string, unknown>).stats = stats;
    const rsml = writeRsml(scene.roots, {
      fileKey: `rhizoct-synth-seed-${opts.seed}`,
      software: `rhizoct synth v${SYNTH_VERSION}`,
      origin: [0, 0, 0],
      properties: { seed: opts.seed, difficulty: opts.difficulty, shape: opts.shape.join('x'), 'voxel-size-mm': opts.voxelSize.join('x') },
    });
    await out.addFile(RSML_NAME, rsml);
    await out.finalize();
    if (opts.rsmlPath) await writeFile(opts.rsmlPath, rsml);
    if (ortho && opts.previewPath) {
      const lo = params.scan.offset;
      const hi = params.scan.offset + params.scan.gain;
      await writeFile(opts.previewPath, ortho.figure(lo, hi, `SYNTH ${opts.difficulty} SEED ${opts.seed}`).png());
    }
    progress.done();
    const seconds = (performance.now() - t0) / 1000;
    return {
      output,
      rsml: `${output}/${RSML_NAME}`,
      shape: opts.shape,
      voxelSize: opts.voxelSize,
      levels,
      params,
      stats,
      seconds,
      voxelsPerSecond: (nz * ny * nx) / seconds,
    };
  } catch (err) {
    progress.done();
    await out?.abort().catch(() => undefined);
    throw err;
  } finally {
    slabs?.dispose();
    ds?.destroy();
    if (!opts.gpu) gpu.destroy();
  }
}

/** How labels/roots is made from the rendered coverage. */
export const MASK_RULE =
  'root where at least half of the voxel (supersampled) lies inside a root, or where a root centreline passes through the voxel';

/** What goes into the output's attributes so the scan can be regenerated and understood. */
function describe(scene: SynthScene, opts: SynthOptions): Record<string, unknown> {
  return {
    generator: 'rhizoct synth',
    version: SYNTH_VERSION,
    seed: opts.seed,
    difficulty: opts.difficulty,
    overrides: [...(opts.overrides ?? [])],
    ...(opts.difficulty === 'random' ? { randomDraw: randomDraw(opts) } : {}),
    shape: [...opts.shape],
    voxelSizeMm: [...opts.voxelSize],
    rsml: RSML_NAME,
    maskRule: MASK_RULE,
    greyScale: `uint16 = clamp(round(value * ${scene.params.scan.gain} + ${scene.params.scan.offset}), 0, ${scene.params.scan.maxValue}); value: air 0, roots about ${scene.params.root.value}`,
    params: scene.params,
  };
}
