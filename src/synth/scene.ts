import type { Vec3 } from '../volume/box.js';
import type { SynthParams } from './params.js';

/**
 * Where the synthetic scan lives in space. Positions are millimetres [x, y, z] measured from
 * the centre of voxel (0, 0, 0); +z is the slice index direction and points down, the way
 * gravity pulls the roots (soil surface at small z, as in the bean scan whose bucket bottom is
 * in the last slices).
 */
export interface SceneFrame {
  /** Volume shape, z, y, x. */
  readonly shape: Vec3;
  /** Voxel size (mm), z, y, x. */
  readonly voxelSize: Vec3;
  /** Centre of the field of view's last voxel, [x, y, z] mm. */
  readonly extent: [number, number, number];
  /** Container axis (parallel to z) position, [x, y] mm, and inner/outer radius; rin = Infinity without one. */
  readonly axis: [number, number];
  readonly rin: number;
  readonly rout: number;
  /** Box (mm) in which roots grow and objects are placed: the field of view plus a margin. */
  readonly lo: [number, number, number];
  readonly hi: [number, number, number];
}

export function sceneFrame(shape: Vec3, voxelSize: Vec3, p: SynthParams): SceneFrame {
  const extent: [number, number, number] = [(shape[2] - 1) * voxelSize[2], (shape[1] - 1) * voxelSize[1], (shape[0] - 1) * voxelSize[0]];
  const axis: [number, number] = [extent[0] / 2, extent[1] / 2];
  let rin = Infinity;
  let rout = Infinity;
  const side = Math.min(shape[2] * voxelSize[2], shape[1] * voxelSize[1]);
  if (p.container.diameter >= 0) {
    // Auto: the wall's outer face at 48% of the smaller side, the wall at most 4% of it thick.
    const wall = p.container.diameter > 0 ? p.container.wall : Math.min(p.container.wall, 0.04 * side);
    rin = p.container.diameter > 0 ? p.container.diameter / 2 : 0.48 * side - wall;
    rout = rin + wall;
  }
  const margin = extent.map((e) => Math.max(1, 0.12 * e)) as [number, number, number];
  const lo: [number, number, number] = [-margin[0], -margin[1], -margin[2]];
  const hi: [number, number, number] = [extent[0] + margin[0], extent[1] + margin[1], extent[2] + margin[2]];
  return { shape, voxelSize, extent, axis, rin, rout, lo, hi };
}

/** True when a point (mm) is inside the growth box and the container. */
export function inScene(f: SceneFrame, p: readonly number[], radius = 0): boolean {
  for (let a = 0; a < 3; a++) if (p[a]! < f.lo[a]! || p[a]! > f.hi[a]!) return false;
  return Math.hypot(p[0]! - f.axis[0], p[1]! - f.axis[1]) <= f.rin - radius;
}
