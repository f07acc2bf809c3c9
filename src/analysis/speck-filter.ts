import { type Vec3, boxEnd } from '../volume/box.js';
import { ChunkGrid } from '../volume/chunk-grid.js';
import { copyBox } from '../volume/copy.js';
import { type Connectivity, labelComponents, StreamingComponents } from './components.js';

/** A chunked binary mask that can be read and rewritten chunk by chunk (each write atomic). */
export interface MaskChunks {
  readonly grid: ChunkGrid;
  /** The chunk's voxels inside the volume (its `grid.chunkBox` shape), nonzero = foreground. */
  read(chunk: Vec3): Promise<Uint8Array>;
  write(chunk: Vec3, data: Uint8Array): Promise<void>;
}

/** A mask held whole in memory (`data`, rewritten in place), as chunks of `chunk` voxels: for benchmarks, tests and small masks. */
export function maskInMemory(data: Uint8Array, shape: Vec3, chunk: Vec3): MaskChunks {
  const whole = { offset: [0, 0, 0] as Vec3, shape };
  const grid = new ChunkGrid(shape, chunk);
  return {
    grid,
    read: async (c) => {
      const box = grid.chunkBox(c);
      const out = new Uint8Array(box.shape[0] * box.shape[1] * box.shape[2]);
      copyBox(data, whole, out, box);
      return out;
    },
    write: async (c, d) => {
      copyBox(d, grid.chunkBox(c), data, whole);
    },
  };
}

/** Which pieces of a mask are specks. */
export interface SpeckRule {
  /** Pieces with fewer voxels are removed (0: none by size alone). */
  minVoxels: number;
  /**
   * Pieces with fewer voxels that are also compact (not elongated: see `elongation`) are removed too
   * (0: none), the grain-sized blobs a root's piece of the same size is not.
   */
  compactBelow: number;
}

/**
 * A piece is compact when its longest principal axis is under this many times its shortest
 * (√(λ1/λ3) of its voxels' covariance, each voxel counted as a unit cube); a sphere has 1, a
 * cylinder of length L and radius r about L / (√3 r).
 */
export const COMPACT_ELONGATION = 2.5;

export interface SpeckReport {
  /** Connected components of the mask (in the chunks looked at). */
  components: number;
  /** Components removed: specks by the rule, wholly inside the chunks looked at. */
  removed: number;
  removedVoxels: number;
  /** Of those, removed for being compact (not under `minVoxels`). */
  compact: number;
  /** Components the rule would remove but kept because they reach a chunk not looked at (their shape is not known). */
  open: number;
  /** Chunks rewritten. */
  chunksWritten: number;
}

/** Voxel count and first and second moments of a piece's voxel coordinates (global z, y, x). */
const MOMENTS = 10; // n, Σz, Σy, Σx, Σzz, Σyy, Σxx, Σzy, Σzx, Σyx

/**
 * Removes from a chunked mask every connected component (26-connected by default) the rule calls a
 * speck, in two streaming passes: the first labels each chunk, joins labels across chunk faces
 * (StreamingComponents: memory is one chunk plus the foreground on chunk faces) and sums each
 * piece's voxel moments, the second rewrites only the chunks that hold a removed piece. `chunks`
 * are the chunks to look at (all of them, or those a region run has segmented); a piece that
 * touches a chunk of the volume not in that list may continue there, so it is kept whatever its
 * size and shape. Removing whole pieces only, the filter is idempotent: a run killed between
 * chunk writes is finished by running it again.
 */
export async function removeSpecks(
  mask: MaskChunks,
  chunks: readonly Vec3[],
  rule: SpeckRule,
  connectivity: Connectivity = 26,
): Promise<SpeckReport> {
  const { grid } = mask;
  const comps = new StreamingComponents(grid.shape, connectivity);
  const looked = new Set(chunks.map((c) => c.join(',')));
  const openLocal = new Map<string, number[]>();
  const labelCount = new Map<string, number>();
  const localMoments = new Map<string, Float64Array>();
  for (const c of chunks) {
    const box = grid.chunkBox(c);
    const lab = comps.addBlock(box, await mask.read(c));
    labelCount.set(c.join(','), lab.count);
    if (rule.compactBelow > 0) localMoments.set(c.join(','), moments(lab.labels, lab.count, box.offset, box.shape));
    if (looked.size < grid.chunkCount) {
      const open = openLabels(lab.labels, box.offset, box.shape, grid, looked, comps.offsets);
      if (open.length) openLocal.set(c.join(','), open);
    }
  }
  const all = comps.finish(0);
  const open = new Set<number>();
  const sums = new Float64Array((all.length + 1) * MOMENTS);
  const globalIds = new Map<string, Int32Array>();
  for (const c of chunks) {
    const ids = comps.globalise(
      grid.chunkBox(c),
      Int32Array.from({ length: labelCount.get(c.join(','))! }, (_, i) => i + 1),
    );
    globalIds.set(c.join(','), ids);
    const m = localMoments.get(c.join(','));
    if (m)
      ids.forEach((id, l) => {
        for (let k = 0; k < MOMENTS; k++) sums[id * MOMENTS + k]! += m[l * MOMENTS + k]!;
      });
    const locals = openLocal.get(c.join(','));
    if (locals) for (const l of locals) open.add(ids[l - 1]!);
  }
  const drop = new Uint8Array(all.length + 1);
  const report: SpeckReport = { components: all.length, removed: 0, removedVoxels: 0, compact: 0, open: 0, chunksWritten: 0 };
  for (const k of all) {
    const small = k.voxels < rule.minVoxels;
    const compact =
      !small && k.voxels < rule.compactBelow && elongation(sums.subarray(k.id * MOMENTS, (k.id + 1) * MOMENTS)) < COMPACT_ELONGATION;
    if (!small && !compact) continue;
    if (open.has(k.id)) report.open++;
    else {
      drop[k.id] = 1;
      report.removed++;
      report.removedVoxels += k.voxels;
      if (compact) report.compact++;
    }
  }
  if (report.removed === 0) return report;
  for (const c of chunks) {
    if (!globalIds.get(c.join(','))!.some((id) => drop[id])) continue;
    const box = grid.chunkBox(c);
    // The chunk is labelled again exactly as in the first pass (same voxels, same order).
    const data = await mask.read(c);
    const ids = comps.globalise(box, labelComponents(data, box.shape, connectivity).labels);
    for (let i = 0; i < data.length; i++) if (ids[i]! > 0 && drop[ids[i]!]) data[i] = 0;
    await mask.write(c, data);
    report.chunksWritten++;
  }
  return report;
}

/** Each local label's voxel count and coordinate moments (global coordinates), MOMENTS per label. */
function moments(labels: Int32Array, count: number, offset: Vec3, shape: Vec3): Float64Array {
  const m = new Float64Array(count * MOMENTS);
  const [bz, by, bx] = shape;
  for (let z = 0, i = 0; z < bz; z++) {
    const gz = z + offset[0];
    for (let y = 0; y < by; y++) {
      const gy = y + offset[1];
      for (let x = 0; x < bx; x++, i++) {
        const l = labels[i]!;
        if (l === 0) continue;
        const gx = x + offset[2];
        const o = (l - 1) * MOMENTS;
        m[o]!++;
        m[o + 1]! += gz;
        m[o + 2]! += gy;
        m[o + 3]! += gx;
        m[o + 4]! += gz * gz;
        m[o + 5]! += gy * gy;
        m[o + 6]! += gx * gx;
        m[o + 7]! += gz * gy;
        m[o + 8]! += gz * gx;
        m[o + 9]! += gy * gx;
      }
    }
  }
  return m;
}

/**
 * √(λ1/λ3) of a piece's voxel covariance (from its moments), each voxel a unit cube (1/12 added on
 * the diagonal, so a piece one voxel thick is not infinitely elongated).
 */
export function elongation(m: ArrayLike<number>): number {
  const n = m[0]!;
  const mz = m[1]! / n;
  const my = m[2]! / n;
  const mx = m[3]! / n;
  const c = 1 / 12;
  const a = m[4]! / n - mz * mz + c;
  const b = m[5]! / n - my * my + c;
  const d = m[6]! / n - mx * mx + c;
  const ab = m[7]! / n - mz * my;
  const ad = m[8]! / n - mz * mx;
  const bd = m[9]! / n - my * mx;
  const [hi, , lo] = symmetricEigenvalues(a, b, d, ab, ad, bd);
  return Math.sqrt(hi / Math.max(lo, c));
}

/**
 * Eigenvalues, largest first, of the symmetric 3×3 matrix [[a, ab, ad], [ab, b, bd], [ad, bd, d]]
 * (the trigonometric closed form).
 */
export function symmetricEigenvalues(a: number, b: number, d: number, ab: number, ad: number, bd: number): [number, number, number] {
  const off = ab * ab + ad * ad + bd * bd;
  if (off === 0) {
    const e = [a, b, d].sort((x, y) => y - x);
    return [e[0]!, e[1]!, e[2]!];
  }
  const q = (a + b + d) / 3;
  const p = Math.sqrt(((a - q) ** 2 + (b - q) ** 2 + (d - q) ** 2 + 2 * off) / 6);
  // B = (A − qI) / p; its determinant / 2 is cos(3φ).
  const [ba, bb, bc] = [(a - q) / p, (b - q) / p, (d - q) / p];
  const [bab, bad, bbd] = [ab / p, ad / p, bd / p];
  const det = ba * (bb * bc - bbd * bbd) - bab * (bab * bc - bbd * bad) + bad * (bab * bbd - bb * bad);
  const phi = Math.acos(Math.min(1, Math.max(-1, det / 2))) / 3;
  const e1 = q + 2 * p * Math.cos(phi);
  const e3 = q + 2 * p * Math.cos(phi + (2 * Math.PI) / 3);
  return [e1, 3 * q - e1 - e3, e3];
}

/**
 * The local labels of a chunk's voxels that have a neighbour (by `offsets`) in a chunk of the
 * volume not looked at.
 */
function openLabels(
  labels: Int32Array,
  offset: Vec3,
  shape: Vec3,
  grid: ChunkGrid,
  looked: Set<string>,
  offsets: readonly Vec3[],
): number[] {
  const [bz, by, bx] = shape;
  const end = boxEnd({ offset, shape });
  const [cz, cy, cx] = grid.chunkShape;
  const [NZ, NY, NX] = grid.shape;
  const open = new Set<number>();
  for (let z = 0; z < bz; z++) {
    const zFace = z === 0 || z === bz - 1;
    for (let y = 0; y < by; y++) {
      const yFace = zFace || y === 0 || y === by - 1;
      for (let x = 0; x < bx; x++) {
        if (!(yFace || x === 0 || x === bx - 1)) continue;
        const l = labels[(z * by + y) * bx + x]!;
        if (l === 0 || open.has(l)) continue;
        for (const [dz, dy, dx] of offsets) {
          const gz = offset[0] + z + dz;
          const gy = offset[1] + y + dy;
          const gx = offset[2] + x + dx;
          if (gz < 0 || gy < 0 || gx < 0 || gz >= NZ || gy >= NY || gx >= NX) continue;
          if (gz >= offset[0] && gz < end[0] && gy >= offset[1] && gy < end[1] && gx >= offset[2] && gx < end[2]) continue;
          if (!looked.has(`${Math.floor(gz / cz)},${Math.floor(gy / cy)},${Math.floor(gx / cx)}`)) {
            open.add(l);
            break;
          }
        }
      }
    }
  }
  return [...open];
}
