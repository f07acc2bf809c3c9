import { type Box, type Vec3, boxEnd, fmtBox, fmtVec, makeBox } from './box.js';

/**
 * A regular grid of chunks over a volume. Chunks at the far edges are cut short by the
 * volume's end (the Zarr convention: the stored chunk keeps the full shape, the part
 * past the end is padding).
 */
export class ChunkGrid {
  readonly shape: Vec3;
  readonly chunkShape: Vec3;
  /** Number of chunks along each axis. */
  readonly gridShape: Vec3;

  constructor(shape: Vec3, chunkShape: Vec3) {
    for (let a = 0; a < 3; a++) {
      if (!Number.isInteger(shape[a]) || shape[a]! < 0) throw new RangeError(`invalid volume shape ${fmtVec(shape)}`);
      if (!Number.isInteger(chunkShape[a]) || chunkShape[a]! < 1) {
        throw new RangeError(`invalid chunk shape ${fmtVec(chunkShape)}`);
      }
    }
    this.shape = [shape[0], shape[1], shape[2]];
    this.chunkShape = [chunkShape[0], chunkShape[1], chunkShape[2]];
    this.gridShape = [Math.ceil(shape[0] / chunkShape[0]), Math.ceil(shape[1] / chunkShape[1]), Math.ceil(shape[2] / chunkShape[2])];
  }

  get chunkCount(): number {
    return this.gridShape[0] * this.gridShape[1] * this.gridShape[2];
  }

  /** The voxels of chunk `index` that lie inside the volume. */
  chunkBox(index: Vec3): Box {
    const off = [0, 0, 0];
    const sh = [0, 0, 0];
    for (let a = 0; a < 3; a++) {
      const i = index[a]!;
      if (!Number.isInteger(i) || i < 0 || i >= this.gridShape[a]!) {
        throw new RangeError(`chunk index ${fmtVec(index)} outside grid ${fmtVec(this.gridShape)}`);
      }
      off[a] = i * this.chunkShape[a]!;
      sh[a] = Math.min(this.chunkShape[a]!, this.shape[a]! - off[a]!);
    }
    return makeBox(off as unknown as Vec3, sh as unknown as Vec3);
  }

  /** Inclusive-exclusive range of chunk indices that overlap `b` (clipped to the grid). */
  chunkRange(b: Box): { start: Vec3; end: Vec3 } {
    const e = boxEnd(b);
    const start = [0, 0, 0];
    const end = [0, 0, 0];
    for (let a = 0; a < 3; a++) {
      const lo = Math.max(0, b.offset[a]!);
      const hi = Math.min(this.shape[a]!, e[a]!);
      start[a] = Math.floor(lo / this.chunkShape[a]!);
      end[a] = hi <= lo ? start[a]! : Math.ceil(hi / this.chunkShape[a]!);
    }
    return { start: start as unknown as Vec3, end: end as unknown as Vec3 };
  }

  /** Chunk indices overlapping `b`, z-major. */
  *chunksIn(b: Box): Generator<Vec3> {
    const { start, end } = this.chunkRange(b);
    for (let z = start[0]; z < end[0]; z++) {
      for (let y = start[1]; y < end[1]; y++) {
        for (let x = start[2]; x < end[2]; x++) yield [z, y, x];
      }
    }
  }

  /** Every chunk index, z-major. */
  *allChunks(): Generator<Vec3> {
    for (let z = 0; z < this.gridShape[0]; z++) {
      for (let y = 0; y < this.gridShape[1]; y++) {
        for (let x = 0; x < this.gridShape[2]; x++) yield [z, y, x];
      }
    }
  }

  /**
   * True when `b` is a union of whole chunks: it starts on chunk boundaries and ends on a
   * chunk boundary or at the volume's end, so writing it never touches half a chunk.
   */
  isAligned(b: Box): boolean {
    const e = boxEnd(b);
    for (let a = 0; a < 3; a++) {
      const c = this.chunkShape[a]!;
      if (b.offset[a]! < 0 || e[a]! > this.shape[a]!) return false;
      if (b.offset[a]! % c !== 0) return false;
      if (e[a]! % c !== 0 && e[a]! !== this.shape[a]) return false;
    }
    return true;
  }

  assertAligned(b: Box): void {
    if (!this.isAligned(b)) {
      throw new RangeError(`${fmtBox(b)} is not aligned to chunks ${fmtVec(this.chunkShape)} of volume ${fmtVec(this.shape)}`);
    }
  }
}

/**
 * Compares chunk indices along the Z-order (Morton) curve, z the major axis: every aligned cube of
 * 2^k chunks along each axis comes as one run. Blocks taken in this order meet each network tile
 * that spans several chunks (and each coarse level's larger tiles) in consecutive blocks, so a
 * small cache predicts each tile once.
 */
export function mortonCompare(a: Vec3, b: Vec3): number {
  let axis = 0;
  let top = 0;
  for (let k = 0; k < 3; k++) {
    const diff = a[k]! ^ b[k]!;
    // The axis whose differing bit is highest decides (an earlier axis wins a tie).
    if (top < diff && top < (top ^ diff)) {
      top = diff;
      axis = k;
    }
  }
  return a[axis]! - b[axis]!;
}
