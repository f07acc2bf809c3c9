import type { Point } from '../../volume/box.js';

export type { Point };

/**
 * A training volume as the sampler sees it: cubes of normalised intensity and of root fraction at
 * a pyramid scale (1 = full resolution), centred on a full-resolution point, padded outside the
 * volume. The pipeline adapts I/O sources to this.
 */
export interface PatchVolume {
  readonly name: string;
  readonly shape: Point;
  readImage(scale: number, centre: Point, size: number): Promise<Float32Array>;
  readLabel(scale: number, centre: Point, size: number): Promise<Float32Array>;
  /** Foreground voxel positions (a subsample is fine) for root-centred sampling. */
  rootPoints(): Promise<Point[]>;
  /**
   * Where targets come from annotation strokes: each head's target (root fraction among the
   * annotated voxels) and weight (annotated fraction, 0 where nothing was painted) at a scale.
   */
  readAnnotated?(scale: number, centre: Point, size: number): Promise<{ target: Float32Array; weight: Float32Array }>;
}

export interface SamplerConfig {
  /** Fraction of patches centred near a root point (the paper: 0.7). */
  rootFraction: number;
  /** Standard deviation of the jitter around root points, voxels (the paper: 8). */
  jitter: number;
  /** Fraction of patches drawn from mined hard regions once there are any. */
  hardFraction: number;
}

export const PAPER_SAMPLING: SamplerConfig = { rootFraction: 0.7, jitter: 8, hardFraction: 0.3 };

/** A region where the model failed, found by hard-negative mining, with its weight. */
export interface HardRegion {
  volume: number;
  centre: Point;
  weight: number;
  kind: 'false-positive' | 'false-negative';
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Picks patch centres: hard regions first in proportion, then root-centred with jitter, then uniform. */
export class PatchSampler {
  private hard: HardRegion[] = [];
  private hardTotal = 0;

  constructor(
    private readonly volumes: { shape: Point; roots: Point[] }[],
    private readonly config: SamplerConfig,
    private readonly rand: () => number,
  ) {
    if (volumes.length === 0) throw new RangeError('PatchSampler: no training volumes');
  }

  setHardRegions(regions: HardRegion[]): void {
    this.hard = regions;
    this.hardTotal = regions.reduce((a, r) => a + r.weight, 0);
  }

  get hardRegionCount(): number {
    return this.hard.length;
  }

  next(): { volume: number; centre: Point; source: 'hard' | 'root' | 'uniform' } {
    const r = this.rand;
    if (this.hard.length > 0 && r() < this.config.hardFraction) {
      let t = r() * this.hardTotal;
      for (const h of this.hard) {
        t -= h.weight;
        if (t <= 0)
          return {
            volume: h.volume,
            centre: this.clamp(h.volume, h.centre.map((c) => c + gaussian(r) * this.config.jitter) as Point),
            source: 'hard',
          };
      }
    }
    const volume = Math.floor(r() * this.volumes.length);
    const v = this.volumes[volume]!;
    if (v.roots.length > 0 && r() < this.config.rootFraction) {
      const p = v.roots[Math.floor(r() * v.roots.length)]!;
      return { volume, centre: this.clamp(volume, p.map((c) => c + gaussian(r) * this.config.jitter) as Point), source: 'root' };
    }
    return { volume, centre: v.shape.map((s) => Math.floor(r() * s)) as Point, source: 'uniform' };
  }

  private clamp(volume: number, p: Point): Point {
    const s = this.volumes[volume]!.shape;
    return p.map((c, i) => Math.min(s[i]! - 1, Math.max(0, Math.round(c)))) as Point;
  }
}
