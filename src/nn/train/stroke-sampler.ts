import type { Point } from './sampler.js';

export interface StrokeSamplerConfig {
  /** Share of patches centred near a root stroke when both classes are painted; the rest near a not-root stroke. */
  rootShare: number;
  /** Standard deviation of the jitter around the stroke voxel, voxels. */
  jitter: number;
}

/**
 * Root and not-root strokes equally often: a person paints what the model got wrong, so either
 * class may dominate the voxel count, and sampling by voxels would teach mostly that class.
 */
export const STROKE_SAMPLING: StrokeSamplerConfig = { rootShare: 0.5, jitter: 6 };

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/**
 * Patch centres around annotated voxels: a class (root / not root, per `rootShare`), then a
 * painted voxel of that class over all volumes (uniformly, so a volume with more strokes is
 * visited more), then Gaussian jitter, clamped into the volume.
 */
export class StrokeSampler {
  private readonly pools: { root: { volume: number; p: Point }[]; notRoot: { volume: number; p: Point }[] };

  constructor(
    private readonly volumes: { shape: Point; root: Point[]; notRoot: Point[] }[],
    private readonly config: StrokeSamplerConfig,
    private readonly rand: () => number,
  ) {
    this.pools = { root: [], notRoot: [] };
    volumes.forEach((v, volume) => {
      for (const p of v.root) this.pools.root.push({ volume, p });
      for (const p of v.notRoot) this.pools.notRoot.push({ volume, p });
    });
    if (this.pools.root.length + this.pools.notRoot.length === 0)
      throw new RangeError('StrokeSampler: no annotated voxels to sample around');
  }

  next(): { volume: number; centre: Point; source: 'root' | 'not-root' } {
    const r = this.rand;
    const { root, notRoot } = this.pools;
    const useRoot = notRoot.length === 0 || (root.length > 0 && r() < this.config.rootShare);
    const pool = useRoot ? root : notRoot;
    const pick = pool[Math.floor(r() * pool.length)]!;
    const s = this.volumes[pick.volume]!.shape;
    const centre = pick.p.map((c, i) => Math.min(s[i]! - 1, Math.max(0, Math.round(c + gaussian(r) * this.config.jitter)))) as Point;
    return { volume: pick.volume, centre, source: useRoot ? 'root' : 'not-root' };
  }
}
