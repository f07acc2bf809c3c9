import type { Gpu } from '../gpu/gpu.js';
import { type Box, type Vec3, boxVoxels, makeBox } from '../volume/box.js';
import { copyBox } from '../volume/copy.js';
import type { SynthScene } from './generate.js';
import { ChunkRenderer, MAX_BOX_VOXELS, blurRadius } from './render.js';
import { SegmentIndex } from './segments.js';

export interface SlabResult {
  readonly box: Box;
  readonly image: Uint16Array;
  readonly mask: Uint8Array;
  readonly coverageSamples: number;
  readonly maskVoxels: number;
}

/**
 * Renders a synthetic scan slab by slab (whole y, x extent; `slabDepth` slices), each slab as
 * tiles of at most `tile` voxels in y and x, so the GPU never holds more than one tile with
 * its halo. The tiling changes nothing in the output (see ChunkRenderer).
 */
export class SlabRenderer {
  readonly renderer: ChunkRenderer;

  constructor(
    gpu: Gpu,
    readonly scene: SynthScene,
    readonly tile: Vec3,
  ) {
    const r = blurRadius(scene.params.scan.psfSigma);
    const halo: Vec3 = [r, r, r];
    const index = new SegmentIndex(scene.segments, tile, halo);
    this.renderer = new ChunkRenderer(gpu, scene.frame, scene.params, scene.seed, scene.segments, index);
    const h = this.renderer.halo;
    const n = (tile[0] + 2 * h[0]) * (tile[1] + 2 * h[1]) * (tile[2] + 2 * h[2]);
    if (n > MAX_BOX_VOXELS) throw new RangeError(`render tile ${tile.join('×')} with halo is ${n} voxels, over ${MAX_BOX_VOXELS}`);
  }

  /** Renders `box` (any box of the volume) as tiles aligned to the tile grid. */
  async render(box: Box): Promise<SlabResult> {
    const n = boxVoxels(box);
    const image = new Uint16Array(n);
    const mask = new Uint8Array(n);
    let cov = 0;
    let masked = 0;
    const t = this.tile;
    const start = [0, 1, 2].map((a) => Math.floor(box.offset[a]! / t[a]!) * t[a]!);
    for (let z = start[0]!; z < box.offset[0] + box.shape[0]; z += t[0]) {
      for (let y = start[1]!; y < box.offset[1] + box.shape[1]; y += t[1]) {
        for (let x = start[2]!; x < box.offset[2] + box.shape[2]; x += t[2]) {
          const lo = [Math.max(z, box.offset[0]), Math.max(y, box.offset[1]), Math.max(x, box.offset[2])];
          const hi = [
            Math.min(z + t[0], box.offset[0] + box.shape[0]),
            Math.min(y + t[1], box.offset[1] + box.shape[1]),
            Math.min(x + t[2], box.offset[2] + box.shape[2]),
          ];
          const tb = makeBox(lo as unknown as Vec3, [hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!]);
          const r = await this.renderer.render(tb);
          copyBox(r.image, tb, image, box);
          copyBox(r.mask, tb, mask, box);
          cov += r.coverageSamples;
          masked += r.maskVoxels;
        }
      }
    }
    return { box, image, mask, coverageSamples: cov, maskVoxels: masked };
  }

  dispose(): void {
    this.renderer.dispose();
  }
}
