/**
 * How well a global grey-value threshold segments roots: the baseline a synthetic scan must
 * defeat to be a fair test. Computed from the two histograms (roots, everything else) so any
 * number of voxels costs one pass.
 */
export interface ThresholdDice {
  /** Best Dice of `value >= t` (roots brighter) or `value < t` (roots darker), and that rule. */
  readonly dice: number;
  readonly threshold: number;
  readonly rootsBrighter: boolean;
  /** Best Dice of a band `lo <= value < hi` (two thresholds), a kinder baseline. */
  readonly bandDice: number;
  readonly band: [number, number];
}

export class IntensityHistograms {
  readonly root: Float64Array;
  readonly other: Float64Array;
  constructor(
    readonly bins = 1024,
    readonly max = 65536,
  ) {
    this.root = new Float64Array(bins);
    this.other = new Float64Array(bins);
  }

  private bin(v: number): number {
    return Math.min(this.bins - 1, Math.floor((v * this.bins) / this.max));
  }

  /** Adds voxels; `region` (optional, same length) excludes voxels where it is 0. */
  add(image: ArrayLike<number>, mask: ArrayLike<number>, region?: ArrayLike<number>): void {
    for (let i = 0; i < image.length; i++) {
      if (region && !region[i]) continue;
      const b = this.bin(image[i]!);
      if (mask[i]) this.root[b]!++;
      else this.other[b]!++;
    }
  }

  bestThreshold(): ThresholdDice {
    const n = this.bins;
    const R = this.root.reduce((a, b) => a + b, 0);
    // Prefix sums: roots and others below bin k.
    const pr = new Float64Array(n + 1);
    const po = new Float64Array(n + 1);
    for (let k = 0; k < n; k++) {
      pr[k + 1] = pr[k]! + this.root[k]!;
      po[k + 1] = po[k]! + this.other[k]!;
    }
    const dice = (tp: number, fp: number): number => (R + tp + fp > 0 ? (2 * tp) / (R + tp + fp) : 0);
    let best = { dice: 0, threshold: 0, rootsBrighter: true };
    for (let k = 0; k <= n; k++) {
      const above = dice(R - pr[k]!, po[n]! - po[k]!);
      const below = dice(pr[k]!, po[k]!);
      const t = (k * this.max) / n;
      if (above > best.dice) best = { dice: above, threshold: t, rootsBrighter: true };
      if (below > best.dice) best = { dice: below, threshold: t, rootsBrighter: false };
    }
    let band = { dice: 0, lo: 0, hi: 0 };
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b <= n; b++) {
        const d = dice(pr[b]! - pr[a]!, po[b]! - po[a]!);
        if (d > band.dice) band = { dice: d, lo: a, hi: b };
      }
    }
    const s = this.max / n;
    return { ...best, bandDice: band.dice, band: [band.lo * s, band.hi * s] };
  }
}
