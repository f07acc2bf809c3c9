import type { Box, Vec3 } from '../volume/box.js';
import { type ArchRoot, extractArchitecture } from './architecture.js';
import { buildGraph, type GraphOptions, type RootGraph, type XYZ } from './graph.js';
import { diameter2d, hull2d, hull3d, type P2, type P3 } from './hull.js';
import { UnionFind } from './union-find.js';

/** Options of the measurements; lengths are in the unit the traits are reported in. */
export interface TraitOptions extends GraphOptions {
  /** Thickness of the depth bands for root length density (default: a tenth of the scan's depth). */
  readonly depthBand?: number;
  /** Edges of the diameter histogram bins; the last bin is open (default 0, 0.1, 0.2, … 1, 1.5, 2). */
  readonly diameterEdges?: readonly number[];
}

export interface DepthBand {
  /** Depth of the band's top and bottom below the scan's top face. */
  readonly top: number;
  readonly bottom: number;
  readonly length: number;
  readonly volume: number;
  /** Root length per soil volume of the band (length unit per cubed length unit). */
  readonly rootLengthDensity: number;
}

export interface DiameterBin {
  readonly from: number;
  /** null for the open last bin. */
  readonly to: number | null;
  /** Root length whose diameter falls in the bin. */
  readonly length: number;
}

export interface Traits {
  /** The unit every length is in ('voxel' when the scan has no voxel size). */
  readonly unit: string;
  /** Root length: centrelines, less each lateral's base inside its parent. */
  readonly totalLength: number;
  /** Length of the centrelines as drawn (laterals from their parent's axis), as the RSML holds them. */
  readonly centrelineLength: number;
  readonly volume: number;
  /** Σ π·d·dl along the centrelines (the cylinder model of WinRHIZO and RhizoVision). */
  readonly surfaceArea: number;
  readonly meanDiameter: number;
  readonly medianDiameter: number;
  readonly maxDiameter: number;
  readonly diameterHistogram: DiameterBin[];
  readonly depthBands: DepthBand[];
  /** Free root ends inside the scan (ends cut by the scan's faces are counted apart). */
  readonly tips: number;
  readonly cutEnds: number;
  readonly branchPoints: number;
  /**
   * Independent cycles of the root graph. A root system is a tree, so each is a place where roots
   * already joined elsewhere touch or cross again: a measure of crowding, and of tips that lie
   * against another root (the mask shows those as junctions, so `tips` cannot count them).
   */
  readonly loops: number;
  readonly segments: number;
  readonly roots: number;
  readonly lateralRoots: number;
  /** Depth of the deepest root voxel's bottom below the scan's top face, and the root system's own depth span. */
  readonly maxDepth: number;
  readonly depthSpan: number;
  /** Largest horizontal distance across the root system, and its extents along x and y. */
  readonly maxWidth: number;
  readonly widthX: number;
  readonly widthY: number;
  readonly convexHullVolume: number;
  /** volume / convexHullVolume (null when the hull has no volume). */
  readonly solidity: number | null;
  readonly branchingAngleMean: number | null;
  readonly branchingAngleMedian: number | null;
  readonly branchingAngles: number;
  /** Voxels of the kept root system. */
  readonly voxels: number;
  readonly skeletonVoxels: number;
}

export interface TraitResult {
  readonly traits: Traits;
  readonly graph: RootGraph;
  readonly roots: ArchRoot[];
}

/** Voxels taken off the distance transform to get a radius (calibrated on digitised tubes in the tests). */
export const RADIUS_OFFSET = 0;

const DEFAULT_EDGES = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2];

/**
 * Gathers what each block contributes (kept voxels, skeleton voxels with their distance to the
 * background) and turns it into traits at the end. Memory: a few numbers per slice, the skeleton
 * voxels (set by root length, not volume) and the corners of each slice's 2D hull.
 */
export class TraitAccumulator {
  private readonly sliceVoxels: Float64Array;
  private readonly sliceHull: P2[][];
  private readonly lo: [number, number, number] = [Infinity, Infinity, Infinity];
  private readonly hi: [number, number, number] = [-1, -1, -1];
  private voxels = 0;
  private readonly sz: number[] = [];
  private readonly sy: number[] = [];
  private readonly sx: number[] = [];
  private readonly sr: number[] = [];

  /**
   * `spacing` and `origin` (z, y, x) are in the unit the traits are reported in. `unit` names
   * it ('voxel' when the scan has no voxel size).
   */
  constructor(
    readonly shape: Vec3,
    readonly spacing: Vec3,
    readonly origin: Vec3,
    readonly unit: string,
  ) {
    this.sliceVoxels = new Float64Array(shape[0]);
    this.sliceHull = Array.from({ length: shape[0] }, () => []);
  }

  /**
   * Adds a block: `kept` and `skeleton` are 0/1 over its write box, `distance` the distance
   * transform there (physical, same unit).
   */
  addBlock(write: Box, kept: Uint8Array, skeleton: Uint8Array, distance: Float32Array): void {
    const [wz, wy, wx] = write.shape;
    const [oz, oy, ox] = write.offset;
    for (let z = 0; z < wz; z++) {
      const gz = z + oz;
      const pts: P2[] = [];
      let count = 0;
      for (let y = 0; y < wy; y++) {
        const row = (z * wy + y) * wx;
        let first = -1;
        let last = -1;
        for (let x = 0; x < wx; x++) {
          if (!kept[row + x]) continue;
          count++;
          if (first < 0) first = x;
          last = x;
          if (skeleton[row + x]) {
            this.sz.push(gz);
            this.sy.push(y + oy);
            this.sx.push(x + ox);
            this.sr.push(distance[row + x]!);
          }
        }
        if (first < 0) continue;
        const gy = y + oy;
        // Corners of the row's end voxels, so the hull wraps the voxels, not their centres.
        pts.push([first + ox - 0.5, gy - 0.5], [first + ox - 0.5, gy + 0.5], [last + ox + 0.5, gy - 0.5], [last + ox + 0.5, gy + 0.5]);
        this.lo[1] = Math.min(this.lo[1], gy);
        this.hi[1] = Math.max(this.hi[1], gy);
        this.lo[2] = Math.min(this.lo[2], first + ox);
        this.hi[2] = Math.max(this.hi[2], last + ox);
      }
      if (count === 0) continue;
      this.voxels += count;
      this.sliceVoxels[gz]! += count;
      this.lo[0] = Math.min(this.lo[0], gz);
      this.hi[0] = Math.max(this.hi[0], gz);
      const h = this.sliceHull[gz]!;
      h.push(...pts);
      if (h.length > 64) this.sliceHull[gz] = hull2d(h);
    }
  }

  finish(opts: TraitOptions = {}): TraitResult {
    const [vz, vy, vx] = this.spacing;
    const minVoxel = Math.min(vz, vy, vx);
    // The distance to the nearest background voxel centre overshoots the surface (which lies
    // between the last root and the first soil voxel centre) by a fraction of a voxel.
    const radius = this.sr.map((d) => Math.max(0.5 * minVoxel, d - RADIUS_OFFSET * minVoxel));
    const graph = buildGraph(
      { shape: this.shape, spacing: this.spacing, origin: this.origin, z: this.sz, y: this.sy, x: this.sx, radius },
      opts,
    );
    const roots = extractArchitecture(graph);
    const voxelVolume = vz * vy * vx;
    const volume = this.voxels * voxelVolume;
    // Length-weighted diameters and depth bands, piece by piece along the centrelines.
    const depth = this.shape[0] * vz;
    const band = opts.depthBand ?? (depth > 0 ? depth / 10 : 1);
    const nBands = Math.max(1, Math.ceil(depth / band - 1e-9));
    const bandLength = new Float64Array(nBands);
    const edges = opts.diameterEdges ?? DEFAULT_EDGES;
    const binLength = new Float64Array(edges.length);
    const pieces: { d: number; l: number }[] = [];
    let total = 0;
    let area = 0;
    let maxD = 0;
    const top = this.origin[0] - vz / 2; // the scan's top face (z)
    for (const s of graph.segments) {
      for (let i = 1; i < s.points.length; i++) {
        const a = s.points[i - 1]!;
        const b = s.points[i]!;
        const l = Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
        const d = s.radii[Math.min(i - 1, s.radii.length - 1)]! + s.radii[Math.min(i, s.radii.length - 1)]!;
        total += l;
        area += Math.PI * d * l;
        maxD = Math.max(maxD, d);
        if (l === 0) continue;
        pieces.push({ d, l });
        let k = 0;
        while (k + 1 < edges.length && d >= edges[k + 1]!) k++;
        binLength[k]! += l;
        splitByDepth(a, b, top, band, bandLength);
      }
    }
    pieces.sort((p, q) => p.d - q.d);
    let acc = 0;
    let median = 0;
    for (const p of pieces) {
      acc += p.l;
      if (acc >= total / 2) {
        median = p.d;
        break;
      }
    }
    const meanD = total > 0 ? pieces.reduce((s, p) => s + p.d * p.l, 0) / total : 0;
    // Depth bands: root length per soil volume (the scan's full cross-section).
    const crossSection = this.shape[1] * vy * this.shape[2] * vx;
    const bandVoxels = new Float64Array(nBands);
    for (let z = 0; z < this.shape[0]; z++) bandVoxels[Math.min(nBands - 1, Math.floor((z * vz) / band))]! += this.sliceVoxels[z]!;
    const depthBands: DepthBand[] = [];
    for (let k = 0; k < nBands; k++) {
      const t = k * band;
      const bt = Math.min(depth, (k + 1) * band);
      depthBands.push({
        top: t,
        bottom: bt,
        length: bandLength[k]!,
        volume: bandVoxels[k]! * voxelVolume,
        rootLengthDensity: bt > t && crossSection > 0 ? bandLength[k]! / ((bt - t) * crossSection) : 0,
      });
    }
    // Hull over the voxel corners of every slice's 2D hull.
    const pts3: P3[] = [];
    const flat: P2[] = [];
    for (let z = 0; z < this.shape[0]; z++) {
      const h = this.sliceHull[z]!.length > 4 ? hull2d(this.sliceHull[z]!) : this.sliceHull[z]!;
      for (const [x, y] of h) {
        const px = this.origin[2] + x * vx;
        const py = this.origin[1] + y * vy;
        pts3.push([px, py, this.origin[0] + (z - 0.5) * vz], [px, py, this.origin[0] + (z + 0.5) * vz]);
        flat.push([px, py]);
      }
    }
    const hull = hull3d(pts3);
    const hullVolume = hull?.volume ?? 0;
    const angles = roots
      .map((r) => r.branchAngle)
      .filter((a): a is number => a !== undefined)
      .sort((a, b) => a - b);
    const tipNodes = graph.nodes.filter((n) => n.kind === 'tip');
    const cutEnds = tipNodes.filter((n) => n.cut).length;
    const empty = this.voxels === 0;
    const traits: Traits = {
      unit: this.unit,
      totalLength: Math.max(0, total - roots.reduce((s, r) => s + r.baseInside, 0)),
      centrelineLength: total,
      volume,
      surfaceArea: area,
      meanDiameter: meanD,
      medianDiameter: median,
      maxDiameter: maxD,
      diameterHistogram: edges.map((e, k) => ({ from: e, to: k + 1 < edges.length ? edges[k + 1]! : null, length: binLength[k]! })),
      depthBands,
      tips: tipNodes.length - cutEnds,
      cutEnds,
      branchPoints: graph.nodes.filter((n) => n.kind === 'branch').length,
      loops: cycleCount(graph),
      segments: graph.segments.length,
      roots: roots.length,
      lateralRoots: roots.filter((r) => r.order > 1).length,
      maxDepth: empty ? 0 : (this.hi[0] + 1) * vz,
      depthSpan: empty ? 0 : (this.hi[0] - this.lo[0] + 1) * vz,
      maxWidth: flat.length ? diameter2d(flat) : 0,
      widthX: empty ? 0 : (this.hi[2] - this.lo[2] + 1) * vx,
      widthY: empty ? 0 : (this.hi[1] - this.lo[1] + 1) * vy,
      convexHullVolume: hullVolume,
      solidity: hullVolume > 0 ? volume / hullVolume : null,
      branchingAngleMean: angles.length ? angles.reduce((s, a) => s + a, 0) / angles.length : null,
      branchingAngleMedian: angles.length ? angles[Math.floor((angles.length - 1) / 2)]! : null,
      branchingAngles: angles.length,
      voxels: this.voxels,
      skeletonVoxels: this.sz.length,
    };
    return { traits, graph, roots };
  }
}

/** Adds the length of a–b to the depth bands it crosses (z measured from `top`). */
function splitByDepth(a: XYZ, b: XYZ, top: number, band: number, out: Float64Array): void {
  const l = Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
  const za = a[2] - top;
  const zb = b[2] - top;
  const clampBand = (z: number): number => Math.max(0, Math.min(out.length - 1, Math.floor(z / band)));
  if (za === zb) {
    out[clampBand(za)]! += l;
    return;
  }
  const lo = Math.min(za, zb);
  const hi = Math.max(za, zb);
  let z = lo;
  while (z < hi) {
    const k = clampBand(z);
    const end = k === out.length - 1 ? hi : Math.min(hi, (Math.floor(z / band) + 1) * band);
    const next = end > z ? end : hi;
    out[k]! += (l * (next - z)) / (hi - lo);
    z = next;
  }
}

/** Independent cycles (edges − vertices + components) of a root graph; a ring with no node is one. */
export function cycleCount(g: RootGraph): number {
  const uf = new UnionFind(g.nodes.length);
  const id = new Map<number, number>();
  const vertex = (n: number): number => {
    let v = id.get(n);
    if (v === undefined) {
      v = uf.add();
      id.set(n, v);
    }
    return v;
  };
  let edges = 0;
  let rings = 0;
  for (const s of g.segments) {
    if (s.a < 0) {
      rings++;
      continue;
    }
    edges++;
    uf.union(vertex(s.a), vertex(s.b));
  }
  const components = new Set([...id.values()].map((v) => uf.find(v))).size;
  return edges - id.size + components + rings;
}
