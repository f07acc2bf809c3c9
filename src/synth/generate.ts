import type { Vec3 } from '../volume/box.js';
import { type RootSystem, growRootSystem } from './architecture.js';
import { type SoilObject, placeObjects } from './objects.js';
import type { SynthParams } from './params.js';
import { type SceneFrame, sceneFrame } from './scene.js';
import { type SegmentSet, buildSegments } from './segments.js';

/** Everything the CPU decides for one synthetic scan; the GPU renders it chunk by chunk. */
export interface SynthScene {
  readonly seed: number;
  readonly params: SynthParams;
  readonly frame: SceneFrame;
  readonly roots: RootSystem;
  readonly objects: SoilObject[];
  readonly segments: SegmentSet;
  /** Step along roots (mm) between polyline points. */
  readonly step: number;
}

/** Root growth step: two of the smallest voxel side, so polylines are smooth at scan resolution. */
export function growthStep(voxelSize: Vec3): number {
  return 2 * Math.min(voxelSize[0], voxelSize[1], voxelSize[2]);
}

export function buildScene(seed: number, shape: Vec3, voxelSize: Vec3, params: SynthParams): SynthScene {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed ${seed} is not an integer in 0..4294967295`);
  const frame = sceneFrame(shape, voxelSize, params);
  const step = growthStep(voxelSize);
  const roots = growRootSystem(seed, params.architecture, params.root, frame, step);
  const objects = placeObjects(seed, params.objects, params.soil, frame);
  const margin = params.root.gapFraction > 0 ? params.root.gapWidth : 0;
  const segments = buildSegments(roots, objects, voxelSize, margin);
  return { seed, params, frame, roots, objects, segments, step };
}
