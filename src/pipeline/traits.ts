import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type Component, labelComponents, StreamingComponents } from '../analysis/components.js';
import { analyseBlock } from '../analysis/measure.js';
import { SurfaceAssembler } from '../analysis/marching-cubes.js';
import { writeRsml } from '../analysis/rsml.js';
import { TraitAccumulator, type TraitResult, type Traits } from '../analysis/traits.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { fmtCsvNumber, toCsv } from '../io/csv.js';
import { openMask } from '../io/mask.js';
import { MESH_FORMATS, type MeshFormat, MeshStreams } from '../io/mesh-files.js';
import type { VolumeSource, VoxelArray } from '../io/volume.js';
import { type BlockSpec, blockGridShape, iterateBlocks } from '../volume/blocks.js';
import { type Vec3, boxVoxels } from '../volume/box.js';
import { copyBox } from '../volume/copy.js';
import { convertLength, type LengthUnit } from '../volume/voxel-size.js';
import { type Progress, SilentProgress } from './progress.js';

export interface TraitsOptions {
  /** Output folder (created); traits.json, traits.csv, roots.rsml and roots.{vtp,stl,ply} go in it. */
  readonly out: string;
  /** Name of the scan in the CSV (default: the input's file name without extension). */
  readonly name?: string;
  /** Label image to read (default 'roots'); the image itself is read when the input has none. */
  readonly label?: string;
  readonly level?: number;
  /** Voxels ≥ threshold are root; without it the mask must hold 0 and one other value. */
  readonly threshold?: number;
  /** Components with fewer voxels are specks, left out and reported (default 64). */
  readonly minVoxels?: number;
  /** Block edge in voxels (rounded up to whole chunks; default 128). */
  readonly block?: number;
  /** Context around each block for thinning and distances (default 16 voxels). */
  readonly halo?: number;
  /** Mesh formats to write (default all three; empty for none). */
  readonly meshFormats?: readonly MeshFormat[];
  /** Taubin smoothing passes on the mesh (default 0). */
  readonly smooth?: number;
  /** Decimate the mesh by clustering vertices in cubes of this many voxels (default 0: off). */
  readonly decimate?: number;
  /**
   * Move mesh vertices (at most 0.35 voxel) so the surface encloses the mask's volume cell by
   * cell; false keeps marching cubes' mid-edge vertices, which cut thin roots short (default true).
   */
  readonly preserveVolume?: boolean;
  /** Depth band thickness for root length density, in the traits' unit (default 5 mm, or a tenth of the depth). */
  readonly depthBand?: number;
  readonly diameterEdges?: readonly number[];
  readonly overwrite?: boolean;
  readonly progress?: Progress;
}

export interface ComponentSummary {
  readonly total: number;
  readonly kept: number;
  readonly dropped: number;
  readonly droppedVoxels: number;
  readonly minVoxels: number;
  /** The largest components (up to 20): id, voxels, bounding box, kept. */
  readonly largest: { id: number; voxels: number; offset: Vec3; shape: Vec3; kept: boolean }[];
}

export interface MeshSummary {
  readonly files: string[];
  readonly vertices: number;
  readonly triangles: number;
  /** Enclosed volume and area of the mesh, in the traits' unit. */
  readonly volume: number;
  readonly area: number;
  readonly smoothPasses: number;
  readonly decimateVoxels: number;
  readonly volumePreserving: boolean;
}

export interface TraitsReport {
  readonly scan: string;
  readonly input: string;
  /** What was read: 'labels/roots' or 'image'. */
  readonly source: string;
  readonly shape: Vec3;
  readonly voxelSize: Vec3;
  /** Unit of the input's voxel size ('' when it has none). */
  readonly inputUnit: string;
  readonly warnings: string[];
  readonly components: ComponentSummary;
  readonly traits: Traits;
  readonly rsml: string | null;
  readonly mesh: MeshSummary | null;
  readonly streaming: { block: Vec3; halo: number; blocks: number; faceVoxels: number; seamVertices: number; largestRadiusVoxels: number };
  readonly software: string;
  readonly created: string;
}

/** A mask that is not a mask: more than one nonzero value and no threshold. */
export class NonBinaryMaskError extends Error {
  override readonly name = 'NonBinaryMaskError';
}

const SOFTWARE = 'rhizoct 0.1.0 traits';

function scanName(path: string): string {
  return basename(path.replace(/\/+$/, '')).replace(/\.(ome\.)?(zarr|nii\.gz|nii|tiff?|png)$/i, '');
}

/** Turns voxels into 0/1, checking that a mask is a mask (or applying the threshold). */
class Binariser {
  private nonzero: number | undefined;
  readonly seen = new Set<number>();

  constructor(
    private readonly file: string,
    private readonly threshold: number | undefined,
  ) {}

  apply(v: VoxelArray, out: Uint8Array = new Uint8Array(v.length)): Uint8Array {
    const t = this.threshold;
    if (t !== undefined) {
      for (let i = 0; i < v.length; i++) out[i] = v[i]! >= t ? 1 : 0;
      return out;
    }
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (x === 0) {
        out[i] = 0;
        continue;
      }
      if (x !== this.nonzero) {
        if (this.nonzero === undefined) this.nonzero = x;
        else {
          throw new NonBinaryMaskError(
            `${this.file}: the mask holds more than one nonzero value (${this.nonzero} and ${x}, …), so it is not a 0/1 mask; ` +
              'pass --threshold T to take voxels ≥ T as root (e.g. --threshold 128 on a 0–255 probability image)',
          );
        }
      }
      out[i] = 1;
    }
    return out;
  }

  /** The one nonzero value met (when not 1, worth a note). */
  get value(): number | undefined {
    return this.nonzero;
  }
}

/**
 * The unit traits are reported in, and the factor from the input's unit to it: mm when the scan
 * records a voxel size with a length unit. Without a unit a recorded scale still counts (a
 * segmentation of pyramid level 2 records 4 × 4 × 4 in the scan's own voxels): traits are then in
 * voxels of that scale, so they compare with the full scan's.
 */
function traitUnit(unit: string, voxelSize: Vec3): { unit: string; rsmlUnit: string; factor: number; spacing: Vec3; known: boolean } {
  const valid = voxelSize.every((v) => Number.isFinite(v) && v > 0);
  if (!unit) return { unit: 'voxel', rsmlUnit: 'pixel', factor: 1, spacing: valid ? voxelSize : [1, 1, 1], known: false };
  if (!valid) return { unit: 'voxel', rsmlUnit: 'pixel', factor: 1, spacing: [1, 1, 1], known: false };
  const f = convertLength(1, unit as LengthUnit, 'millimeter');
  return { unit: 'mm', rsmlUnit: 'mm', factor: f, spacing: [voxelSize[0] * f, voxelSize[1] * f, voxelSize[2] * f], known: true };
}

/** Where traits are measured: units, origin and the block grid, with the warnings they call for. */
interface TraitsPlan {
  readonly shape: Vec3;
  readonly unit: ReturnType<typeof traitUnit>;
  readonly origin: Vec3;
  readonly blockShape: Vec3;
  readonly halo: number;
  readonly spec: BlockSpec;
  readonly nBlocks: number;
}

/** What pass 2 leaves: the traits accumulated, the mesh streamed (if any) and the thickest root. */
interface BlockPass {
  readonly acc: TraitAccumulator;
  readonly streams: MeshStreams | undefined;
  readonly asm: SurfaceAssembler | undefined;
  readonly largestRadius: number;
}

/**
 * Measures the root system in one segmentation, streaming block by block:
 * pass 1 labels connected components per block and joins them across block faces;
 * pass 2 re-reads each block with a halo, keeps the voxels of kept components, thins them,
 * takes distances to the soil, adds them to the traits and marches the block's surface.
 * Then it builds the root graph and architecture and writes traits.json, traits.csv,
 * roots.rsml and the mesh files.
 */
export async function measureTraits(input: string, opts: TraitsOptions): Promise<TraitsReport> {
  const progress = opts.progress ?? new SilentProgress();
  const label = opts.label ?? 'roots';
  const minVoxels = opts.minVoxels ?? 64;
  const formats = [...new Set(opts.meshFormats ?? MESH_FORMATS)];
  const { src, source, warnings } = await openMask(input, { label, ...(opts.level !== undefined ? { level: opts.level } : {}) });
  const outDir = resolve(opts.out);
  await mkdir(outDir, { recursive: true });
  try {
    const plan = planTraits(input, src, opts, warnings);
    const bin = new Binariser(input, opts.threshold);
    progress.start(2 * plan.nBlocks, 'blocks', 'traits');
    const comps = await joinComponents(src, plan, bin, progress);
    if (opts.threshold === undefined && bin.value !== undefined && bin.value !== 1) {
      warnings.push(`${input}: the mask's root value is ${bin.value}, not 1; every nonzero voxel was taken as root`);
    }
    const all = comps.finish(minVoxels);
    const pass = await measureBlocks(src, plan, bin, comps, outDir, formats, opts, progress);
    progress.done();
    const radiusVoxels = pass.largestRadius / Math.min(...plan.unit.spacing);
    if (radiusVoxels > plan.halo - 2 && plan.nBlocks > 1) {
      warnings.push(
        `the thickest root has a radius of ${radiusVoxels.toFixed(1)} voxels, close to the ${plan.halo}-voxel halo; rerun with --halo ${Math.ceil(radiusVoxels * 1.5) + 4} for exact distances and skeletons across block edges`,
      );
    }
    const result = finishTraits(pass.acc, plan, opts);
    const kept = all.filter((c) => c.kept);
    if (kept.length === 0)
      warnings.push(
        all.length
          ? `no component reaches ${minVoxels} voxels: all ${all.length} were dropped as specks`
          : `${input}: the mask is empty (no root voxel)`,
      );
    // Files.
    const name = opts.name ?? scanName(input);
    const rsmlFile = await writeRootsRsml(outDir, result.roots, plan.unit.rsmlUnit, name);
    const mesh = pass.streams ? await writeMeshes(pass.streams, outDir, formats, name, plan.unit.unit, opts) : null;
    const report: TraitsReport = {
      scan: name,
      input,
      source,
      shape: plan.shape,
      voxelSize: src.voxelSize,
      inputUnit: src.unit,
      warnings,
      components: summarise(all, minVoxels),
      traits: result.traits,
      rsml: rsmlFile,
      mesh,
      streaming: {
        block: plan.blockShape,
        halo: plan.halo,
        blocks: plan.nBlocks,
        faceVoxels: comps.faceVoxels,
        seamVertices: pass.asm?.seamVertices ?? 0,
        largestRadiusVoxels: radiusVoxels,
      },
      software: SOFTWARE,
      created: new Date().toISOString(),
    };
    await writeFileAtomic(join(outDir, 'traits.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFileAtomic(join(outDir, 'traits.csv'), toCsv([traitRow(report)]));
    return report;
  } finally {
    await src.close();
  }
}

/** Units, origin and blocks (whole chunks, about `opts.block` voxels a side, with the halo); warns when the scan has no usable unit. */
function planTraits(input: string, src: VolumeSource, opts: TraitsOptions, warnings: string[]): TraitsPlan {
  const shape = src.shape;
  const halo = opts.halo ?? 16;
  const tu = traitUnit(src.unit, src.voxelSize);
  const scaled = !tu.known && tu.spacing.some((v) => v !== 1);
  if (scaled) {
    warnings.push(
      `${input} records a voxel size of ${tu.spacing.join(' × ')} but no unit; traits are in voxels of that scale (lengths in its edges, volumes in its cubes), e.g. the full scan's voxels for a segmentation of a pyramid level`,
    );
  } else if (!tu.known) {
    warnings.push(
      `${input} records no voxel size${src.unit ? '' : ' unit'}; traits are in voxels (lengths in voxel edges, volumes in voxels)`,
    );
  }
  const origin: Vec3 = tu.known
    ? [src.origin[0] * tu.factor, src.origin[1] * tu.factor, src.origin[2] * tu.factor]
    : scaled
      ? src.origin
      : [0, 0, 0];
  const chunk = src.chunkShape ?? [1, 1, 1];
  const want = opts.block ?? 128;
  const blockShape = [0, 1, 2].map((a) =>
    Math.min(shape[a]!, Math.max(chunk[a]!, Math.ceil(want / chunk[a]!) * chunk[a]!)),
  ) as unknown as Vec3;
  const spec: BlockSpec = { shape, blockShape, halo: [halo, halo, halo], edge: 'shrink' };
  const g = blockGridShape(spec);
  return { shape, unit: tu, origin, blockShape, halo, spec, nBlocks: g[0] * g[1] * g[2] };
}

/** Pass 1: labels the components of each block (no halo) and joins them across block faces. */
async function joinComponents(src: VolumeSource, plan: TraitsPlan, bin: Binariser, progress: Progress): Promise<StreamingComponents> {
  const comps = new StreamingComponents(plan.shape, 26);
  for (const b of iterateBlocks(plan.spec)) {
    comps.addBlock(b.write, bin.apply(await src.readBox(b.write)));
    progress.advance(1);
  }
  return comps;
}

/**
 * Pass 2: each block with its halo: keeps the voxels of kept components, thins them, takes
 * distances to the soil and adds them to the traits, and marches the block's surface into the
 * mesh streams (when any mesh format is asked for).
 */
async function measureBlocks(
  src: VolumeSource,
  plan: TraitsPlan,
  bin: Binariser,
  comps: StreamingComponents,
  outDir: string,
  formats: readonly MeshFormat[],
  opts: TraitsOptions,
  progress: Progress,
): Promise<BlockPass> {
  const { shape, unit: tu } = plan;
  const acc = new TraitAccumulator(shape, tu.spacing, plan.origin, tu.unit);
  const streams = formats.length ? await MeshStreams.create(outDir, tu.spacing, plan.origin, formats.includes('stl')) : undefined;
  const preserveVolume = opts.preserveVolume ?? true;
  const asm = streams
    ? new SurfaceAssembler(shape, plan.blockShape, streams, { smooth: opts.smooth ?? 0, cluster: opts.decimate ?? 0, preserveVolume })
    : undefined;
  let largestRadius = 0;
  for (const b of iterateBlocks(plan.spec)) {
    const readData = bin.apply(await src.readBox(b.read));
    if (!readData.includes(1)) {
      progress.advance(1); // nothing here, nor within a halo of here
      continue;
    }
    const writeData = new Uint8Array(boxVoxels(b.write));
    copyBox(readData, b.read, writeData, b.write);
    const ids = comps.globalise(b.write, labelComponents(writeData, b.write.shape, 26).labels);
    const r = analyseBlock(comps, b.read, readData, b.write, ids, tu.spacing);
    acc.addBlock(b.write, r.kept, r.skeleton, r.distance);
    for (let i = 0; i < r.skeleton.length; i++)
      if (r.skeleton[i] && r.distance[i]! > largestRadius && r.distance[i] !== Infinity) largestRadius = r.distance[i]!;
    if (asm && streams) {
      asm.march(b.write, r.keptRead, b.read, 0.5);
      await streams.flush();
    }
    progress.advance(1);
  }
  return { acc, streams, asm, largestRadius };
}

/** The root graph, architecture and traits from what pass 2 accumulated, with depth bands and diameter classes for the unit. */
function finishTraits(acc: TraitAccumulator, plan: TraitsPlan, opts: TraitsOptions): TraitResult {
  const tu = plan.unit;
  const defaultBand = tu.known ? 5 : Math.max(1, Math.round((plan.shape[0] * tu.spacing[0]) / 10));
  return acc.finish({
    depthBand: opts.depthBand ?? defaultBand,
    ...(opts.diameterEdges ? { diameterEdges: opts.diameterEdges } : tu.known ? {} : { diameterEdges: [0, 1, 2, 3, 4, 6, 8, 12, 16, 24] }),
  });
}

/** roots.rsml of the measured architecture (none when it holds no root); returns its name. */
async function writeRootsRsml(outDir: string, roots: TraitResult['roots'], rsmlUnit: string, name: string): Promise<string | null> {
  // Every root of the architecture holds at least one segment, so at least two points.
  if (roots.length === 0) return null;
  const rsmlFile = 'roots.rsml';
  const text = writeRsml(roots, { unit: rsmlUnit, fileKey: name, software: SOFTWARE });
  await writeFileAtomic(join(outDir, rsmlFile), text);
  return rsmlFile;
}

/** The mesh files from the streamed surface, and their summary. */
async function writeMeshes(
  streams: MeshStreams,
  outDir: string,
  formats: readonly MeshFormat[],
  name: string,
  unit: string,
  opts: TraitsOptions,
): Promise<MeshSummary> {
  const files = await streams.write(outDir, formats, `rhizoct surface of ${name}; x y z in ${unit}`);
  return {
    files,
    vertices: streams.vertices,
    triangles: streams.triangles,
    volume: streams.volume,
    area: streams.area,
    smoothPasses: opts.smooth ?? 0,
    decimateVoxels: opts.decimate ?? 0,
    volumePreserving: opts.preserveVolume ?? true,
  };
}

function summarise(all: readonly Component[], minVoxels: number): ComponentSummary {
  const dropped = all.filter((c) => !c.kept);
  return {
    total: all.length,
    kept: all.length - dropped.length,
    dropped: dropped.length,
    droppedVoxels: dropped.reduce((s, c) => s + c.voxels, 0),
    minVoxels,
    largest: [...all]
      .sort((a, b) => b.voxels - a.voxels)
      .slice(0, 20)
      .map((c) => ({ id: c.id, voxels: c.voxels, offset: c.box.offset, shape: c.box.shape, kept: c.kept })),
  };
}

/** One CSV row per scan: scalar traits with their unit in the column name, then the histogram and depth bands. */
export function traitRow(r: TraitsReport): Record<string, string | number> {
  const t = r.traits;
  const u = t.unit;
  const row: Record<string, string | number> = {
    scan: r.scan,
    input: r.input,
    unit: u,
    [`total_length_${u}`]: t.totalLength,
    [`centreline_length_${u}`]: t.centrelineLength,
    [`volume_${u}3`]: t.volume,
    [`surface_area_${u}2`]: t.surfaceArea,
    [`mesh_surface_area_${u}2`]: r.mesh?.area ?? '',
    [`mesh_volume_${u}3`]: r.mesh?.volume ?? '',
    [`mean_diameter_${u}`]: t.meanDiameter,
    [`median_diameter_${u}`]: t.medianDiameter,
    [`max_diameter_${u}`]: t.maxDiameter,
    tips: t.tips,
    cut_ends: t.cutEnds,
    branch_points: t.branchPoints,
    loops: t.loops,
    segments: t.segments,
    roots: t.roots,
    lateral_roots: t.lateralRoots,
    [`max_depth_${u}`]: t.maxDepth,
    [`depth_span_${u}`]: t.depthSpan,
    [`max_width_${u}`]: t.maxWidth,
    [`width_x_${u}`]: t.widthX,
    [`width_y_${u}`]: t.widthY,
    [`convex_hull_volume_${u}3`]: t.convexHullVolume,
    solidity: t.solidity ?? '',
    branching_angle_mean_deg: t.branchingAngleMean ?? '',
    branching_angle_median_deg: t.branchingAngleMedian ?? '',
    components_kept: r.components.kept,
    components_dropped: r.components.dropped,
    dropped_voxels: r.components.droppedVoxels,
    root_voxels: t.voxels,
  };
  for (const b of t.diameterHistogram)
    row[`length_${u}_diameter_${fmtCsvNumber(b.from)}-${b.to === null ? 'inf' : fmtCsvNumber(b.to)}${u}`] = b.length;
  // Root length density: cm per cm³ when lengths are mm (the field's unit), else per cubed unit.
  const rldScale = u === 'mm' ? 100 : 1;
  const rldUnit = u === 'mm' ? 'cm_per_cm3' : `${u}_per_${u}3`;
  for (const b of t.depthBands)
    row[`rld_${rldUnit}_depth_${fmtCsvNumber(b.top)}-${fmtCsvNumber(b.bottom)}${u}`] = b.rootLengthDensity * rldScale;
  return row;
}

export interface BatchResult {
  readonly reports: TraitsReport[];
  readonly failures: { input: string; error: string }[];
  readonly csv: string;
}

/**
 * Several scans: each into OUT/<scan>/ (OUT itself for a single scan), and one CSV at
 * OUT/traits.csv with a row per scan. A scan that fails is reported and the rest go on.
 */
export async function measureTraitsBatch(inputs: readonly string[], opts: TraitsOptions): Promise<BatchResult> {
  if (inputs.length === 1) {
    const r = await measureTraits(inputs[0]!, opts);
    return { reports: [r], failures: [], csv: join(resolve(opts.out), 'traits.csv') };
  }
  const names = new Map<string, number>();
  const reports: TraitsReport[] = [];
  const failures: { input: string; error: string }[] = [];
  for (const input of inputs) {
    let name = scanName(input);
    const k = names.get(name) ?? 0;
    names.set(name, k + 1);
    if (k > 0) name = `${name}-${k + 1}`;
    try {
      reports.push(await measureTraits(input, { ...opts, name, out: join(opts.out, name) }));
    } catch (e) {
      failures.push({ input, error: (e as Error).message });
    }
  }
  await mkdir(resolve(opts.out), { recursive: true });
  const csv = join(resolve(opts.out), 'traits.csv');
  await writeFileAtomic(csv, toCsv(reports.map(traitRow)));
  return { reports, failures, csv };
}
