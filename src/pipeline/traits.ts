import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type Component, labelComponents, StreamingComponents } from '../analysis/components.js';
import { analyseBlock } from '../analysis/measure.js';
import { type SurfaceSink, SurfaceAssembler } from '../analysis/marching-cubes.js';
import { Base64Stream, plyFaces, plyHeader, stlHeader, stlTriangle, vtkHeaderType, vtkLengthHeader, vtpParts } from '../analysis/mesh-formats.js';
import { writeRsml } from '../analysis/rsml.js';
import { TraitAccumulator, type Traits } from '../analysis/traits.js';
import { withAtomicFile, writeFileAtomic } from '../io/atomic-write.js';
import { openMask } from '../io/mask.js';
import type { VoxelArray } from '../io/volume.js';
import { blockGridShape, iterateBlocks } from '../volume/blocks.js';
import { type Vec3, boxVoxels } from '../volume/box.js';
import { copyBox } from '../volume/copy.js';
import { convertLength, type LengthUnit } from '../volume/voxel-size.js';
import { type Progress, SilentProgress } from './progress.js';

export type MeshFormat = 'vtp' | 'stl' | 'ply';
export const MESH_FORMATS: readonly MeshFormat[] = ['vtp', 'stl', 'ply'];

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

/** Buffered writes to one file; callers push bytes synchronously, flush() writes them. */
class BufferedFile {
  private parts: Uint8Array[] = [];
  private pending = 0;
  bytes = 0;
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}
  static async create(path: string): Promise<BufferedFile> {
    return new BufferedFile(path, await open(path, 'w'));
  }
  push(b: Uint8Array): void {
    this.parts.push(b);
    this.pending += b.length;
    this.bytes += b.length;
  }
  async flush(): Promise<void> {
    if (!this.pending) return;
    const all = Buffer.concat(this.parts, this.pending);
    this.parts = [];
    this.pending = 0;
    await this.fh.write(all);
  }
  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }
}

/** Streams a surface to temporary files (vertices, triangles, STL body) and sums its volume and area. */
class MeshStreams implements SurfaceSink {
  volume = 0;
  area = 0;
  vertices = 0;
  triangles = 0;
  private vbuf: number[] = [];
  private tbuf: number[] = [];
  private sbuf: number[] = [];
  private constructor(
    readonly vfile: BufferedFile,
    readonly tfile: BufferedFile,
    readonly sfile: BufferedFile | undefined,
    private readonly spacing: Vec3,
    private readonly origin: Vec3,
  ) {}
  static async create(dir: string, spacing: Vec3, origin: Vec3, stl: boolean): Promise<MeshStreams> {
    return new MeshStreams(
      await BufferedFile.create(join(dir, '.vertices.tmp')),
      await BufferedFile.create(join(dir, '.triangles.tmp')),
      stl ? await BufferedFile.create(join(dir, '.stl-body.tmp')) : undefined,
      spacing,
      origin,
    );
  }
  private phys(p: ArrayLike<number>): [number, number, number] {
    return [this.origin[2] + p[2]! * this.spacing[2], this.origin[1] + p[1]! * this.spacing[1], this.origin[0] + p[0]! * this.spacing[0]];
  }
  vertex(z: number, y: number, x: number): void {
    this.vbuf.push(...this.phys([z, y, x]));
    this.vertices++;
  }
  triangle(a: number, b: number, c: number, pa: ArrayLike<number>, pb: ArrayLike<number>, pc: ArrayLike<number>): void {
    this.tbuf.push(a, b, c);
    const A = this.phys(pa);
    const B = this.phys(pb);
    const C = this.phys(pc);
    const cx = B[1] * C[2] - B[2] * C[1];
    const cy = B[2] * C[0] - B[0] * C[2];
    const cz = B[0] * C[1] - B[1] * C[0];
    this.volume += (A[0] * cx + A[1] * cy + A[2] * cz) / 6;
    const u = [B[0] - A[0], B[1] - A[1], B[2] - A[2]];
    const w = [C[0] - A[0], C[1] - A[1], C[2] - A[2]];
    this.area += Math.hypot(u[1]! * w[2]! - u[2]! * w[1]!, u[2]! * w[0]! - u[0]! * w[2]!, u[0]! * w[1]! - u[1]! * w[0]!) / 2;
    if (this.sfile) this.sbuf.push(...A, ...B, ...C);
    this.triangles++;
  }
  async flush(): Promise<void> {
    this.vfile.push(new Uint8Array(Float32Array.from(this.vbuf).buffer));
    this.tfile.push(new Uint8Array(Uint32Array.from(this.tbuf).buffer));
    if (this.sfile) {
      const n = this.sbuf.length / 9;
      const rec = new Uint8Array(50 * n);
      const view = new DataView(rec.buffer);
      for (let t = 0; t < n; t++) {
        const q = this.sbuf.slice(9 * t, 9 * t + 9);
        stlTriangle(view, 50 * t, q.slice(0, 3), q.slice(3, 6), q.slice(6, 9));
      }
      this.sfile.push(rec);
    }
    this.vbuf = [];
    this.tbuf = [];
    this.sbuf = [];
    await Promise.all([this.vfile.flush(), this.tfile.flush(), this.sfile?.flush()]);
  }
  async close(): Promise<void> {
    await this.flush();
    await Promise.all([this.vfile.close(), this.tfile.close(), this.sfile?.close()]);
  }
}

const CHUNK = 3 << 20; // a multiple of 3, 4 and 12 bytes

async function* readChunks(path: string, size = CHUNK): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const buf = Buffer.alloc(size);
      const { bytesRead } = await fh.read(buf, 0, size, null);
      if (bytesRead === 0) break;
      yield buf.subarray(0, bytesRead);
      if (bytesRead < size) break;
    }
  } finally {
    await fh.close();
  }
}

/** Writes a file atomically (io/atomic-write) from pieces (strings or async byte streams). */
async function writePieces(path: string, pieces: (string | Uint8Array | AsyncIterable<Uint8Array>)[]): Promise<void> {
  await withAtomicFile(path, async (tmp) => {
    const fh = await open(tmp, 'w');
    try {
      for (const p of pieces) {
        if (typeof p === 'string') await fh.write(p);
        else if (p instanceof Uint8Array) await fh.write(p);
        else for await (const b of p) await fh.write(b);
      }
    } finally {
      await fh.close();
    }
  });
}

async function* base64Of(parts: (Uint8Array | AsyncIterable<Uint8Array>)[]): AsyncGenerator<Uint8Array> {
  const enc = new Base64Stream();
  for (const p of parts) {
    if (p instanceof Uint8Array) yield Buffer.from(enc.push(p));
    else for await (const b of p) yield Buffer.from(enc.push(b));
  }
  yield Buffer.from(enc.end());
}

async function* plyFaceChunks(trianglesPath: string): AsyncGenerator<Uint8Array> {
  for await (const b of readChunks(trianglesPath, 12 * 262144)) yield plyFaces(new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
}

async function* offsetChunks(n: number): AsyncGenerator<Uint8Array> {
  for (let t0 = 0; t0 < n; t0 += 262144) {
    const k = Math.min(262144, n - t0);
    const a = new Int32Array(k);
    for (let i = 0; i < k; i++) a[i] = 3 * (t0 + i + 1);
    yield new Uint8Array(a.buffer);
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
  const halo = opts.halo ?? 16;
  const formats = [...new Set(opts.meshFormats ?? MESH_FORMATS)];
  const { src, source, warnings } = await openMask(input, { label, ...(opts.level !== undefined ? { level: opts.level } : {}) });
  const outDir = resolve(opts.out);
  await mkdir(outDir, { recursive: true });
  try {
    const shape = src.shape;
    const tu = traitUnit(src.unit, src.voxelSize);
    const scaled = !tu.known && tu.spacing.some((v) => v !== 1);
    if (scaled) {
      warnings.push(`${input} records a voxel size of ${tu.spacing.join(' × ')} but no unit; traits are in voxels of that scale (lengths in its edges, volumes in its cubes), e.g. the full scan's voxels for a segmentation of a pyramid level`);
    } else if (!tu.known) {
      warnings.push(`${input} records no voxel size${src.unit ? '' : ' unit'}; traits are in voxels (lengths in voxel edges, volumes in voxels)`);
    }
    const origin: Vec3 = tu.known ? [src.origin[0] * tu.factor, src.origin[1] * tu.factor, src.origin[2] * tu.factor] : scaled ? src.origin : [0, 0, 0];
    const chunk = src.chunkShape ?? [1, 1, 1];
    const want = opts.block ?? 128;
    const blockShape = [0, 1, 2].map((a) => Math.min(shape[a]!, Math.max(chunk[a]!, Math.ceil(want / chunk[a]!) * chunk[a]!))) as unknown as Vec3;
    const spec = { shape, blockShape, halo: [halo, halo, halo] as Vec3, edge: 'shrink' as const };
    const g = blockGridShape(spec);
    const nBlocks = g[0] * g[1] * g[2];
    const bin = new Binariser(input, opts.threshold);
    progress.start(2 * nBlocks, 'blocks', 'traits');
    // Pass 1: components.
    const comps = new StreamingComponents(shape, 26);
    for (const b of iterateBlocks(spec)) {
      comps.addBlock(b.write, bin.apply(await src.readBox(b.write)));
      progress.advance(1);
    }
    if (opts.threshold === undefined && bin.value !== undefined && bin.value !== 1) {
      warnings.push(`${input}: the mask's root value is ${bin.value}, not 1; every nonzero voxel was taken as root`);
    }
    const all = comps.finish(minVoxels);
    // Pass 2: per block with halo.
    const acc = new TraitAccumulator(shape, tu.spacing, origin, tu.unit);
    const meshDir = outDir;
    const streams = formats.length ? await MeshStreams.create(meshDir, tu.spacing, origin, formats.includes('stl')) : undefined;
    const preserveVolume = opts.preserveVolume ?? true;
    const asm = streams ? new SurfaceAssembler(shape, blockShape, streams, { smooth: opts.smooth ?? 0, cluster: opts.decimate ?? 0, preserveVolume }) : undefined;
    let largestRadius = 0;
    const minSpacing = Math.min(...tu.spacing);
    for (const b of iterateBlocks(spec)) {
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
      for (let i = 0; i < r.skeleton.length; i++) if (r.skeleton[i] && r.distance[i]! > largestRadius && r.distance[i] !== Infinity) largestRadius = r.distance[i]!;
      if (asm && streams) {
        asm.march(b.write, r.keptRead, b.read, 0.5);
        await streams.flush();
      }
      progress.advance(1);
    }
    progress.done();
    const radiusVoxels = largestRadius / minSpacing;
    if (radiusVoxels > halo - 2 && nBlocks > 1) {
      warnings.push(`the thickest root has a radius of ${radiusVoxels.toFixed(1)} voxels, close to the ${halo}-voxel halo; rerun with --halo ${Math.ceil(radiusVoxels * 1.5) + 4} for exact distances and skeletons across block edges`);
    }
    const defaultBand = tu.known ? 5 : Math.max(1, Math.round((shape[0] * tu.spacing[0]) / 10));
    const result = acc.finish({
      depthBand: opts.depthBand ?? defaultBand,
      ...(opts.diameterEdges ? { diameterEdges: opts.diameterEdges } : tu.known ? {} : { diameterEdges: [0, 1, 2, 3, 4, 6, 8, 12, 16, 24] }),
    });
    const kept = all.filter((c) => c.kept);
    if (kept.length === 0) warnings.push(all.length ? `no component reaches ${minVoxels} voxels: all ${all.length} were dropped as specks` : `${input}: the mask is empty (no root voxel)`);
    // Files.
    const name = opts.name ?? scanName(input);
    let rsmlFile: string | null = null;
    // Every root of the architecture holds at least one segment, so at least two points.
    if (result.roots.length > 0) {
      rsmlFile = 'roots.rsml';
      const text = writeRsml(result.roots, { unit: tu.rsmlUnit, fileKey: name, software: SOFTWARE });
      await writeFileAtomic(join(outDir, rsmlFile), text);
    }
    let mesh: MeshSummary | null = null;
    if (streams && asm) {
      await streams.close();
      const files: string[] = [];
      const comment = `rhizoct surface of ${name}; x y z in ${tu.unit}`;
      const vtmp = streams.vfile.path;
      const ttmp = streams.tfile.path;
      if (streams.triangles > 0) {
        if (formats.includes('stl')) {
          await writePieces(join(outDir, 'roots.stl'), [stlHeader(streams.triangles, comment), readChunks(streams.sfile!.path)]);
          files.push('roots.stl');
        }
        if (formats.includes('ply')) {
          await writePieces(join(outDir, 'roots.ply'), [plyHeader(streams.vertices, streams.triangles, [comment]), readChunks(vtmp), plyFaceChunks(ttmp)]);
          files.push('roots.ply');
        }
        if (formats.includes('vtp')) {
          const ht = vtkHeaderType(Math.max(streams.vfile.bytes, streams.tfile.bytes));
          const parts = vtpParts(streams.vertices, streams.triangles, ht, comment);
          await writePieces(join(outDir, 'roots.vtp'), [
            parts[0]!,
            base64Of([vtkLengthHeader(streams.vfile.bytes, ht), readChunks(vtmp)]),
            parts[1]!,
            base64Of([vtkLengthHeader(streams.tfile.bytes, ht), readChunks(ttmp)]),
            parts[2]!,
            base64Of([vtkLengthHeader(4 * streams.triangles, ht), offsetChunks(streams.triangles)]),
            parts[3]!,
          ]);
          files.push('roots.vtp');
        }
      }
      await Promise.all([vtmp, ttmp, streams.sfile?.path].filter((p): p is string => !!p).map((p) => rm(p, { force: true })));
      mesh = { files, vertices: streams.vertices, triangles: streams.triangles, volume: streams.volume, area: streams.area, smoothPasses: opts.smooth ?? 0, decimateVoxels: opts.decimate ?? 0, volumePreserving: preserveVolume };
    }
    const report: TraitsReport = {
      scan: name,
      input,
      source,
      shape,
      voxelSize: src.voxelSize,
      inputUnit: src.unit,
      warnings,
      components: summarise(all, minVoxels),
      traits: result.traits,
      rsml: rsmlFile,
      mesh,
      streaming: { block: blockShape, halo, blocks: nBlocks, faceVoxels: comps.faceVoxels, seamVertices: asm?.seamVertices ?? 0, largestRadiusVoxels: radiusVoxels },
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

function fmtNum(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(7)));
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
  for (const b of t.diameterHistogram) row[`length_${u}_diameter_${fmtNum(b.from)}-${b.to === null ? 'inf' : fmtNum(b.to)}${u}`] = b.length;
  // Root length density: cm per cm³ when lengths are mm (the field's unit), else per cubed unit.
  const rldScale = u === 'mm' ? 100 : 1;
  const rldUnit = u === 'mm' ? 'cm_per_cm3' : `${u}_per_${u}3`;
  for (const b of t.depthBands) row[`rld_${rldUnit}_depth_${fmtNum(b.top)}-${fmtNum(b.bottom)}${u}`] = b.rootLengthDensity * rldScale;
  return row;
}

function csvCell(v: string | number): string {
  if (typeof v === 'number') return Number.isFinite(v) ? fmtNum(v) : '';
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** CSV of rows with the union of their columns (in order of first appearance); absent cells are empty. */
export function toCsv(rows: readonly Record<string, string | number>[]): string {
  const cols: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) if (!seen.has(k)) (seen.add(k), cols.push(k));
  const lines = [cols.map(csvCell).join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvCell(r[c] ?? '')).join(','));
  return `${lines.join('\n')}\n`;
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
