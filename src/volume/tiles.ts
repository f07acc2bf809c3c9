import type { Box, Vec3 } from './box.js';
import { copyBox } from './copy.js';

/**
 * Network tiles on a global lattice. A tile predicts the `out`³ cube starting at a lattice point
 * (multiples of `out` from the volume's origin) from an input patch centred on that cube. Because
 * the lattice is global, which tile predicts a voxel never depends on how the volume is cut into
 * blocks: segmenting with any block size gives the same result ("valid-region cropping": each
 * voxel comes from exactly one tile's centre, no blending).
 */
export interface TileLattice {
  /** Side of the cube a tile predicts (voxels). */
  out: number;
  shape: Vec3;
}

export interface Tile {
  /** Start of the predicted cube (may run past the volume's end; clip when writing). */
  start: Vec3;
  /** Centre of the cube: start + out/2, the point the input patches are centred on. */
  centre: Vec3;
}

/** The tiles whose predicted cubes meet `box`, in z, y, x order. */
export function tilesFor(l: TileLattice, box: Box): Tile[] {
  const lo = box.offset.map((o) => Math.floor(o / l.out) * l.out);
  const hi = box.offset.map((o, i) => Math.min(l.shape[i]!, o + box.shape[i]!));
  const tiles: Tile[] = [];
  for (let z = lo[0]!; z < hi[0]!; z += l.out)
    for (let y = lo[1]!; y < hi[1]!; y += l.out)
      for (let x = lo[2]!; x < hi[2]!; x += l.out) {
        const h = Math.floor(l.out / 2);
        tiles.push({ start: [z, y, x], centre: [z + h, y + h, x + h] });
      }
  return tiles;
}

/** Copies the part of a tile's out³ prediction that lies in `box` into the box's buffer. */
export function placeTile(pred: Float32Array, tile: Tile, out: number, box: Box, dst: Float32Array): void {
  copyBox(pred, { offset: tile.start, shape: [out, out, out] }, dst, box);
}
