import { openVolume } from '../io/open.js';
import type { Affine, DType, VolumeSource, VoxelArray } from '../io/volume.js';
import { ZarrSource } from '../io/zarr-source.js';
import { bytesPerVoxel } from '../io/volume.js';
import { makeBox, type Vec3 } from '../volume/box.js';
import { type Progress, SilentProgress } from './progress.js';

export interface LevelInfo {
  readonly level: number;
  readonly path: string;
  readonly shape: Vec3;
  readonly chunkShape: Vec3;
  readonly voxelSize: Vec3;
  readonly compression: string;
}

export interface ValueStats {
  /** Voxels summarised (all of them, at the level read). */
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly std: number;
  /** 1st, 50th and 99th percentiles (exact for integer types, to a 1/4096 of the range for float32). */
  readonly p1: number;
  readonly p50: number;
  readonly p99: number;
  /** Equal-width bins over [min, max]: `edges` has one more entry than `counts`. */
  readonly histogram: { readonly edges: number[]; readonly counts: number[] };
}

export interface VolumeInfo {
  readonly path: string;
  readonly format: string;
  readonly shape: Vec3;
  readonly dtype: DType;
  readonly voxelSize: Vec3;
  readonly unit: string;
  readonly origin: Vec3;
  readonly chunkShape?: Vec3;
  readonly affine?: Affine;
  /** The format's own header fields (NRRD, MetaImage, scanner headers and logs), as written there. */
  readonly header?: Readonly<Record<string, string>>;
  /** How the reader took what the header leaves open (an assumed unit, a converted frame). */
  readonly notes?: readonly string[];
  readonly zarrFormat?: 2 | 3;
  readonly ngffVersion?: string;
  readonly levels?: LevelInfo[];
  readonly labels?: string[];
  /** The level the statistics were computed on. */
  readonly statsLevel: number;
  readonly stats?: ValueStats;
}

export interface InfoOptions {
  /** Compute statistics on this pyramid level instead of level 0 (faster on big images). */
  readonly level?: number;
  /** Skip the statistics pass (metadata only). */
  readonly noStats?: boolean;
  readonly bins?: number;
  readonly progress?: Progress;
  /** Bytes read per step (default 64 MiB). */
  readonly slabBytes?: number;
}

/** Describes a volume and, streaming it slab by slab, its values. */
export async function volumeInfo(path: string, opts: InfoOptions = {}): Promise<VolumeInfo> {
  const level = opts.level ?? 0;
  const src = await openVolume(path, level ? { level } : {});
  try {
    const base = describe(src);
    if (opts.noStats) return { ...base, statsLevel: level };
    const stats = await valueStats(src, opts.bins ?? 16, opts.progress ?? new SilentProgress(), opts.slabBytes ?? 64 << 20);
    return { ...base, statsLevel: level, stats };
  } finally {
    await src.close();
  }
}

function describe(src: VolumeSource): Omit<VolumeInfo, 'statsLevel'> {
  const out = {
    path: src.path,
    format: src.format,
    shape: src.shape,
    dtype: src.dtype,
    voxelSize: src.voxelSize,
    unit: src.unit,
    origin: src.origin,
    ...(src.chunkShape ? { chunkShape: src.chunkShape } : {}),
    ...(src.affine ? { affine: src.affine } : {}),
    ...(src.header ? { header: src.header } : {}),
    ...(src.notes?.length ? { notes: src.notes } : {}),
  };
  if (!(src instanceof ZarrSource)) return out;
  const zl = src.levels[0]!;
  return {
    ...out,
    // Metadata describes level 0 even when statistics come from another level.
    shape: zl.shape,
    voxelSize: zl.voxelSize,
    origin: zl.origin,
    chunkShape: zl.chunkShape,
    zarrFormat: src.zarrFormat,
    ...(src.ngffVersion ? { ngffVersion: src.ngffVersion } : {}),
    levels: src.levels.map((l, i) => ({
      level: i,
      path: l.path,
      shape: l.shape,
      chunkShape: l.chunkShape,
      voxelSize: l.voxelSize,
      compression: l.compression,
    })),
    labels: [...src.labels],
  };
}

async function forEachSlab(src: VolumeSource, slabBytes: number, progress: Progress, fn: (v: VoxelArray) => void): Promise<void> {
  const [nz, ny, nx] = src.shape;
  const cz = src.chunkShape?.[0] ?? 1;
  const rowsFit = Math.max(1, Math.floor(slabBytes / (ny * nx * bytesPerVoxel(src.dtype))));
  // Whole chunk rows where they fit, so each chunk is read once.
  const depth = rowsFit >= cz ? Math.floor(rowsFit / cz) * cz : rowsFit;
  for (let z = 0; z < nz; z += depth) {
    const d = Math.min(depth, nz - z);
    fn(await src.readBox(makeBox([z, 0, 0], [d, ny, nx])));
    progress.advance(d * ny * nx);
  }
}

async function valueStats(src: VolumeSource, bins: number, progress: Progress, slabBytes: number): Promise<ValueStats> {
  const [nz, ny, nx] = src.shape;
  const count = nz * ny * nx;
  const integer = src.dtype !== 'float32';
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSq = 0;
  // Integer types: one exact histogram over every possible value; float32: a second pass.
  const offset = src.dtype === 'int16' ? 32768 : 0;
  const fine = integer ? new Float64Array(src.dtype === 'uint8' ? 256 : 65536) : undefined;
  progress.start(integer ? count : 2 * count, 'voxels', 'info');
  try {
    await forEachSlab(src, slabBytes, progress, (v) => {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!;
        if (x < min) min = x;
        if (x > max) max = x;
        s += x;
        s2 += x * x;
        if (fine) fine[x + offset]!++;
      }
      sum += s;
      sumSq += s2;
    });
    let hist: Float64Array;
    let lo: number;
    let width: number;
    if (fine) {
      hist = fine;
      lo = -offset;
      width = 1;
    } else {
      const n = 4096;
      hist = new Float64Array(n);
      lo = min;
      width = max > min ? (max - min) / n : 1;
      await forEachSlab(src, slabBytes, progress, (v) => {
        for (let i = 0; i < v.length; i++) hist[Math.min(n - 1, Math.floor((v[i]! - lo) / width))]!++;
      });
    }
    const pct = (p: number): number => {
      const target = p * count;
      let acc = 0;
      for (let i = 0; i < hist.length; i++) {
        acc += hist[i]!;
        if (acc >= target && hist[i]! > 0) return integer ? i + lo : lo + (i + 0.5) * width;
      }
      return max;
    };
    const mean = count ? sum / count : 0;
    return {
      count,
      min,
      max,
      mean,
      std: Math.sqrt(Math.max(0, sumSq / Math.max(1, count) - mean * mean)),
      p1: pct(0.01),
      p50: pct(0.5),
      p99: pct(0.99),
      histogram: summarise(hist, lo, width, min, max, bins, integer),
    };
  } finally {
    progress.done();
  }
}

/** Regroups a fine histogram (bin i covers [lo + i·width, lo + (i+1)·width)) into `bins` equal bins over [min, max]. */
function summarise(
  fine: Float64Array,
  lo: number,
  width: number,
  min: number,
  max: number,
  bins: number,
  integer: boolean,
): { edges: number[]; counts: number[] } {
  const span = integer ? max - min + 1 : max - min;
  // Integer values get whole-number bins.
  const step = span > 0 ? (integer ? Math.ceil(span / bins) : span / bins) : 1;
  const b = integer ? Math.max(1, Math.ceil(span / step)) : bins;
  const counts = new Array<number>(b).fill(0);
  for (let i = 0; i < fine.length; i++) {
    const c = fine[i]!;
    if (c === 0) continue;
    const centre = integer ? lo + i : lo + (i + 0.5) * width;
    counts[Math.min(b - 1, Math.max(0, Math.floor((centre - min) / step)))]! += c;
  }
  const edges = Array.from({ length: b + 1 }, (_, k) => min + k * step);
  return { edges, counts };
}
