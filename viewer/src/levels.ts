/**
 * Arithmetic of what the page loads and how it labels lengths: no DOM, no GPU, tested in Node.
 */

export type Vec3 = [number, number, number];

/** Default budget of voxels in one 3D texture: 2^27 (128 Mi) one-byte voxels, half as many wider ones. */
export const DEFAULT_MAX_VOXELS = 2 ** 27;

export interface LevelShape {
  /** z, y, x. */
  shape: readonly number[];
  bytesPerVoxel: number;
}

export interface LevelChoice {
  /** Shown first: the coarsest level. */
  coarse: number;
  /** Shown once loaded: the finest level within the limits (may equal `coarse`). */
  fine: number;
  /**
   * Every `factor`-th voxel of a level is read when even the coarsest level exceeds the limits
   * (a one-level OME-Zarr of a big scan, as `segment` writes): 1 normally, a power of 2 then.
   */
  factor: number;
  /** Why finer levels were passed over, for the status line. */
  reason?: string;
}

function voxels(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Shape after reading every f-th voxel. */
export function reducedShape(shape: readonly number[], f: number): Vec3 {
  return [Math.ceil(shape[0]! / f), Math.ceil(shape[1]! / f), Math.ceil(shape[2]! / f)];
}

/** The smallest power of 2 that brings a shape within the side limit and the voxel budget. */
export function reductionFactor(shape: readonly number[], maxSide: number, maxVoxels: number): number {
  let f = 1;
  while (f < 2 ** 20) {
    const s = reducedShape(shape, f);
    if (Math.max(...s) <= maxSide && voxels(s) <= maxVoxels) return f;
    f *= 2;
  }
  return f;
}

/** Voxels a level may hold: the budget for one-byte voxels, half of it for wider ones. */
function budget(l: LevelShape, maxVoxels: number): number {
  return l.bytesPerVoxel > 1 ? maxVoxels / 2 : maxVoxels;
}

/**
 * Levels are ordered finest (0) to coarsest. The coarsest is loaded first so something shows at
 * once; then the finest whose every side fits the GPU's MAX_3D_TEXTURE_SIZE and whose voxels fit
 * the budget. When not even the coarsest fits, it is read with a reduction factor.
 */
export function chooseLevels(levels: readonly LevelShape[], max3d: number, maxVoxels = DEFAULT_MAX_VOXELS): LevelChoice {
  if (levels.length === 0) throw new Error('the image has no pyramid levels');
  const coarse = levels.length - 1;
  for (let l = 0; l < levels.length; l++) {
    const s = levels[l]!;
    if (Math.max(...s.shape) <= max3d && voxels(s.shape) <= budget(s, maxVoxels)) {
      if (l === 0) return { coarse, fine: 0, factor: 1 };
      const skipped = levels[l - 1]!;
      const reason =
        Math.max(...skipped.shape) > max3d
          ? `level ${l - 1} (${skipped.shape.join('×')}) exceeds the GPU's 3D texture limit ${max3d}`
          : `level ${l - 1} (${skipped.shape.join('×')}, ${formatVoxels(voxels(skipped.shape))} voxels) exceeds the budget of ${formatVoxels(budget(skipped, maxVoxels))} voxels`;
      return { coarse, fine: l, factor: 1, reason };
    }
  }
  const c = levels[coarse]!;
  const factor = reductionFactor(c.shape, max3d, budget(c, maxVoxels));
  return {
    coarse,
    fine: coarse,
    factor,
    reason: `even level ${coarse} (${c.shape.join('×')}) exceeds the limits: every ${factor}th voxel is shown`,
  };
}

/** The finest level of a label image with at most `maxVoxels` voxels, and the reduction needed when none has. */
export function chooseMaskLevel(levels: readonly LevelShape[], maxVoxels: number, maxSide = Infinity): { level: number; factor: number } {
  for (let l = 0; l < levels.length; l++) {
    if (voxels(levels[l]!.shape) <= maxVoxels && Math.max(...levels[l]!.shape) <= maxSide) return { level: l, factor: 1 };
  }
  const level = levels.length - 1;
  return { level, factor: reductionFactor(levels[level]!.shape, maxSide, maxVoxels) };
}

export function formatVoxels(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(n >= 2 ** 33 ? 0 : 1)}Gi`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(n >= 2 ** 23 ? 0 : 1)}Mi`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(0)}Ki`;
  return String(n);
}

const UNIT_SYMBOL: Record<string, string> = {
  nanometer: 'nm',
  micrometer: 'µm',
  millimeter: 'mm',
  centimeter: 'cm',
  meter: 'm',
};
const UNIT_METRES: Record<string, number> = { nanometer: 1e-9, micrometer: 1e-6, millimeter: 1e-3, centimeter: 1e-2, meter: 1 };

/** A length in `unit` (an OME-NGFF unit name, '' when unknown) in the clearest unit: 0.5 mm → "500 µm". */
export function formatLength(value: number, unit: string): string {
  const m = UNIT_METRES[unit];
  if (m === undefined) return `${trim(value)}${unit ? ` ${unit}` : ' (voxel units)'}`;
  const metres = value * m;
  const a = Math.abs(metres);
  const pick = a >= 1 ? 'meter' : a >= 1e-2 ? 'centimeter' : a >= 1e-3 ? 'millimeter' : a >= 1e-6 ? 'micrometer' : 'nanometer';
  // Keep millimetres for values up to 10 cm: CT labs think in mm.
  const chosen = pick === 'centimeter' && a < 0.1 ? 'millimeter' : pick;
  return `${trim(metres / UNIT_METRES[chosen]!)} ${UNIT_SYMBOL[chosen]}`;
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)));
}

export interface ScaleBar {
  /** Length in data units. */
  length: number;
  /** Length on screen in CSS pixels. */
  pixels: number;
  label: string;
}

/**
 * A scale bar of a round length (1, 2 or 5 × 10^k data units) whose on-screen length is near
 * `targetPixels`, for a view showing `unitsPerPixel` data units per CSS pixel.
 */
export function niceScaleBar(unitsPerPixel: number, targetPixels: number, unit: string): ScaleBar | undefined {
  if (!(unitsPerPixel > 0) || !Number.isFinite(unitsPerPixel)) return undefined;
  const want = unitsPerPixel * targetPixels;
  const p = 10 ** Math.floor(Math.log10(want));
  let length = p;
  for (const f of [1, 2, 5, 10]) if (f * p <= want * 1.0001) length = f * p;
  return { length, pixels: length / unitsPerPixel, label: formatLength(length, unit) };
}

/** Histogram of values over [min, max] in `bins` bins. */
export interface Histogram {
  min: number;
  max: number;
  counts: Float64Array;
}

export function histogram(data: ArrayLike<number>, bins = 256): Histogram {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(min <= max)) return { min: 0, max: 1, counts: new Float64Array(bins) };
  const counts = new Float64Array(bins);
  const w = max > min ? bins / (max - min) : 0;
  for (let i = 0; i < data.length; i++) {
    const b = Math.min(bins - 1, Math.floor((data[i]! - min) * w));
    counts[b]!++;
  }
  return { min, max, counts };
}

/** The value below which a fraction `q` of the histogram's voxels lie (bin edges, interpolated). */
export function percentile(h: Histogram, q: number): number {
  const total = h.counts.reduce((a, b) => a + b, 0);
  if (total === 0) return h.min;
  const target = q * total;
  let acc = 0;
  const bins = h.counts.length;
  for (let b = 0; b < bins; b++) {
    const c = h.counts[b]!;
    if (acc + c >= target && c > 0) {
      const f = (target - acc) / c;
      return h.min + ((b + f) / bins) * (h.max - h.min);
    }
    acc += c;
  }
  return h.max;
}
