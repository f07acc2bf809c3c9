import { type Box, type Vec3, boxEnd, clipBox, fmtVec, growBox, makeBox } from './box.js';

/**
 * What happens where a block's read box (write box + halo) meets the volume's edge.
 *
 * ```
 *  volume            |<----------------- shape ----------------->|
 *  write boxes       |  block 0  |  block 1  |  block 2  | blk 3 |      (last one cut short)
 *
 *  'shrink'    read  |  0 + h  ->|                           <- 3 + h|  read box clipped to
 *                    the volume; blocks at the edge see less context.
 *  'overhang'  read  <-h| 0 |h->  ...                 <-h| 3 |...h->    read box is always
 *                    blockShape + 2h, positioned at write − h; `padBefore`/`padAfter` say how much
 *                    lies outside and the reader pads it. Write boxes are still clipped.
 *  'valid'           only blocks whose whole read box (blockShape + 2h) fits inside are
 *                    yielded; the rim of the volume is left uncovered.
 * ```
 */
export type EdgePolicy = 'shrink' | 'overhang' | 'valid';

export interface BlockSpec {
  /** The volume's shape (z, y, x). */
  readonly shape: Vec3;
  /** The write box of a full block. */
  readonly blockShape: Vec3;
  /** Context on each side of the write box. */
  readonly halo: Vec3;
  readonly edge: EdgePolicy;
  /** When given, blockShape must be a multiple of it, so write boxes never split a chunk. */
  readonly chunkShape?: Vec3;
}

export interface Block {
  /** Position of the block in the block grid. */
  readonly index: Vec3;
  /** Voxels this block is responsible for writing; blocks' write boxes never overlap. */
  readonly write: Box;
  /** Voxels to read (write box plus context, per the edge policy). */
  readonly read: Box;
  /** Voxels of the read box before the volume's start on each axis ('overhang' only). */
  readonly padBefore: Vec3;
  /** Voxels of the read box past the volume's end on each axis ('overhang' only). */
  readonly padAfter: Vec3;
}

function validate(spec: BlockSpec): void {
  for (let a = 0; a < 3; a++) {
    if (!Number.isInteger(spec.blockShape[a]) || spec.blockShape[a]! < 1) {
      throw new RangeError(`invalid block shape ${fmtVec(spec.blockShape)}`);
    }
    if (!Number.isInteger(spec.halo[a]) || spec.halo[a]! < 0) throw new RangeError(`invalid halo ${fmtVec(spec.halo)}`);
    if (spec.chunkShape && spec.blockShape[a]! % spec.chunkShape[a]! !== 0) {
      throw new RangeError(`block shape ${fmtVec(spec.blockShape)} is not a multiple of chunk shape ${fmtVec(spec.chunkShape)}`);
    }
  }
}

/** Number of blocks along each axis before the edge policy drops any. */
export function blockGridShape(spec: BlockSpec): Vec3 {
  validate(spec);
  return [
    Math.ceil(spec.shape[0] / spec.blockShape[0]),
    Math.ceil(spec.shape[1] / spec.blockShape[1]),
    Math.ceil(spec.shape[2] / spec.blockShape[2]),
  ];
}

/** The block at grid position `index`, or undefined where the edge policy drops it. */
export function blockAt(spec: BlockSpec, index: Vec3): Block | undefined {
  const full = makeBox([index[0] * spec.blockShape[0], index[1] * spec.blockShape[1], index[2] * spec.blockShape[2]], spec.blockShape);
  const write = clipBox(full, spec.shape);
  if (!write) return undefined;
  const zero: Vec3 = [0, 0, 0];
  switch (spec.edge) {
    case 'shrink': {
      const read = clipBox(growBox(write, spec.halo), spec.shape)!;
      return { index, write, read, padBefore: zero, padAfter: zero };
    }
    case 'overhang': {
      const read = growBox(full, spec.halo);
      const re = boxEnd(read);
      const padBefore: Vec3 = [Math.max(0, -read.offset[0]), Math.max(0, -read.offset[1]), Math.max(0, -read.offset[2])];
      const padAfter: Vec3 = [Math.max(0, re[0] - spec.shape[0]), Math.max(0, re[1] - spec.shape[1]), Math.max(0, re[2] - spec.shape[2])];
      return { index, write, read, padBefore, padAfter };
    }
    case 'valid': {
      const read = growBox(full, spec.halo);
      const re = boxEnd(read);
      for (let a = 0; a < 3; a++) {
        if (read.offset[a]! < 0 || re[a]! > spec.shape[a]!) return undefined;
      }
      return { index, write: full, read, padBefore: zero, padAfter: zero };
    }
  }
}

/** Every block of the spec, z-major, so a reader streaming through the volume moves forward. */
/** A block's write box in the coordinates of its read box (where its own voxels lie in what was read). */
export function writeInRead(b: Pick<Block, 'write' | 'read'>): Box {
  const o = b.write.offset;
  const r = b.read.offset;
  return makeBox([o[0] - r[0], o[1] - r[1], o[2] - r[2]], b.write.shape);
}

export function* iterateBlocks(spec: BlockSpec): Generator<Block> {
  const g = blockGridShape(spec);
  for (let z = 0; z < g[0]; z++) {
    for (let y = 0; y < g[1]; y++) {
      for (let x = 0; x < g[2]; x++) {
        const b = blockAt(spec, [z, y, x]);
        if (b) yield b;
      }
    }
  }
}

export function countBlocks(spec: BlockSpec): number {
  if (spec.edge !== 'valid') {
    const g = blockGridShape(spec);
    return g[0] * g[1] * g[2];
  }
  let n = 0;
  for (const _ of iterateBlocks(spec)) n++;
  return n;
}
