import { type Vec3, boxEnd } from '../volume/box.js';
import type { ChunkGrid } from '../volume/chunk-grid.js';
import { type Connectivity, labelComponents, StreamingComponents } from './components.js';

/** A chunked binary mask that can be read and rewritten chunk by chunk (each write atomic). */
export interface MaskChunks {
  readonly grid: ChunkGrid;
  /** The chunk's voxels inside the volume (its `grid.chunkBox` shape), nonzero = foreground. */
  read(chunk: Vec3): Promise<Uint8Array>;
  write(chunk: Vec3, data: Uint8Array): Promise<void>;
}

export interface SpeckReport {
  /** Connected components of the mask (in the chunks looked at). */
  components: number;
  /** Components removed: under the size, and wholly inside the chunks looked at. */
  removed: number;
  removedVoxels: number;
  /** Components under the size kept because they reach a chunk not looked at (their size is not known). */
  open: number;
  /** Chunks rewritten. */
  chunksWritten: number;
}

/**
 * Removes from a chunked mask every connected component (26-connected by default) of fewer than
 * `minVoxels` voxels, in two streaming passes: the first labels each chunk and joins labels across
 * chunk faces (StreamingComponents: memory is one chunk plus the foreground on chunk faces), the
 * second rewrites only the chunks that hold a removed component. `chunks` are the chunks to look
 * at (all of them, or those a region run has segmented); a component that touches a chunk of the
 * volume not in that list may continue there, so it is kept whatever its size. Removing whole
 * components only, the filter is idempotent: a run killed between chunk writes is finished by
 * running it again.
 */
export async function removeSpecks(
  mask: MaskChunks,
  chunks: readonly Vec3[],
  minVoxels: number,
  connectivity: Connectivity = 26,
): Promise<SpeckReport> {
  const { grid } = mask;
  const comps = new StreamingComponents(grid.shape, connectivity);
  const looked = new Set(chunks.map((c) => c.join(',')));
  const openLocal = new Map<string, number[]>();
  const labelCount = new Map<string, number>();
  for (const c of chunks) {
    const box = grid.chunkBox(c);
    const lab = comps.addBlock(box, await mask.read(c));
    labelCount.set(c.join(','), lab.count);
    if (looked.size < grid.chunkCount) {
      const open = openLabels(lab.labels, box.offset, box.shape, grid, looked, comps.offsets);
      if (open.length) openLocal.set(c.join(','), open);
    }
  }
  const all = comps.finish(minVoxels);
  const open = new Set<number>();
  for (const c of chunks) {
    const locals = openLocal.get(c.join(','));
    if (locals) for (const id of comps.globalise(grid.chunkBox(c), Int32Array.from(locals))) open.add(id);
  }
  const drop = new Uint8Array(all.length + 1);
  const report: SpeckReport = { components: all.length, removed: 0, removedVoxels: 0, open: 0, chunksWritten: 0 };
  for (const k of all) {
    if (k.kept) continue;
    if (open.has(k.id)) report.open++;
    else {
      drop[k.id] = 1;
      report.removed++;
      report.removedVoxels += k.voxels;
    }
  }
  if (report.removed === 0) return report;
  for (const c of chunks) {
    const box = grid.chunkBox(c);
    const count = labelCount.get(c.join(','))!;
    const ids = comps.globalise(
      box,
      Int32Array.from({ length: count }, (_, i) => i + 1),
    );
    if (!ids.some((id) => drop[id])) continue;
    // The chunk is labelled again exactly as in the first pass (same voxels, same order).
    const data = await mask.read(c);
    const local = comps.globalise(box, labelComponents(data, box.shape, connectivity).labels);
    for (let i = 0; i < data.length; i++) if (local[i]! > 0 && drop[local[i]!]) data[i] = 0;
    await mask.write(c, data);
    report.chunksWritten++;
  }
  return report;
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
