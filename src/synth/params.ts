/**
 * Everything the generator can be told, in physical units (millimetres) except where a field
 * says voxels, and the difficulty presets that set them together.
 *
 * Grey values are on one "attenuation" scale where 0 is vacuum; the output maps them linearly
 * to uint16 (`scan.gain`, `scan.offset`). On that scale, the bean scan in shared/data (8-bit)
 * reads as value × 255: air-filled pores ≈ 0.1, roots ≈ 0.35, sand grains 0.55–1.0.
 */
export type Difficulty = 'easy' | 'medium' | 'hard';
export const DIFFICULTIES: readonly Difficulty[] = ['easy', 'medium', 'hard'];
/** The presets, and `random`: a family whose every seed draws its own soil, looks, scale and scanner (synth/random-family.ts). */
export type Family = Difficulty | 'random';
export const FAMILIES: readonly Family[] = [...DIFFICULTIES, 'random'];

/** Per root order (index 0 = primary roots, 1 = first-order laterals, …). */
export interface OrderParams {
  /** Median length of a root of this order (mm); primaries grow until they leave the scene. */
  length: number;
  /** Multiplicative spread (geometric sd) of the length. */
  lengthSpread: number;
  /** Base radius relative to the parent's radius at the branching point (primaries: unused). */
  radiusRatio: number;
  /** Radius at the tip relative to the base radius (linear taper). */
  tipRatio: number;
  /** Insertion angle to the parent's direction (degrees), mean and sd. */
  angle: number;
  angleSd: number;
  /** Random turning (radians per √mm). */
  tortuosity: number;
  /** Turning towards +z (gravity) per mm of growth, as a fraction of the way. */
  gravitropism: number;
  /** Mean distance between the children this root carries (mm); 0 = none. */
  spacing: number;
  /** Zones without children at the base and near the tip (mm). */
  basalZone: number;
  apicalZone: number;
}

export interface ArchitectureParams {
  /** Number of primary (tap / seminal) roots: min and max, drawn per seed. */
  primaries: [number, number];
  /** Base radius of primaries (mm): min and max. */
  primaryRadius: [number, number];
  /** Angle of primaries to the vertical (degrees): min and max. */
  primaryAngle: [number, number];
  /** Orders below this index grow (2 = primaries and one order of laterals). */
  orders: number;
  order: OrderParams[];
  /** Radius floor (mm); fine roots may be well below one voxel. */
  minRadius: number;
  /** Root systems larger than this many segments stop adding laterals. */
  maxSegments: number;
}

export interface SoilParams {
  /** Typical grain spacing (mm): the cell size of the grain packing. */
  grainSize: number;
  /** Spread of grain sizes (0 = all alike, 1 = very mixed). */
  grainSizeSpread: number;
  /** Grain radius relative to grainSize before clipping by neighbours (0.5: densely packed). */
  grainFill: number;
  /** Half-width of the gaps between neighbouring grains, relative to grainSize. */
  gap: number;
  /** 0 = angular (polyhedral) grains, 1 = round. */
  roundness: number;
  grainValue: number;
  grainValueSd: number;
  /** Share of very dense (heavy mineral) grains and their value. */
  heavyFraction: number;
  heavyValue: number;
  /** Share of dark, porous or organic-coated grains whose value overlaps roots. */
  darkFraction: number;
  darkValue: number;
  /** Amplitude of the texture inside grains. */
  grainTexture: number;
  /** Scale (mm) of the field that removes grains to open macropores, and the share removed. */
  macroporeScale: number;
  macroporeFraction: number;
  /** Share of the space between grains filled with fine material (silt, clay), its value and texture. */
  finesFraction: number;
  finesValue: number;
  finesTexture: number;
  finesScale: number;
  /** Water held as films on grains (thickness in mm) and in wet patches; its value. */
  waterFilm: number;
  waterValue: number;
  /** Scale (mm) and share of wet patches where the films thicken. */
  saturationScale: number;
  saturation: number;
  airValue: number;
  /**
   * Shrinkage cracks, as a drying clay or peat splits: the walls of a network of cells of
   * `crackScale` (mm), `crackWidth` (mm) wide and tapering to nothing at their ends, kept where a
   * field says so (`crackFraction` of the network; 0 = no cracks). They cut the soil, grains and
   * all (not stones or roots), and hold air.
   */
  crackFraction: number;
  crackScale: number;
  crackWidth: number;
}

export interface RootLookParams {
  /** Grey value of root tissue, and its sd between roots and along a root. */
  value: number;
  valueSd: number;
  alongSd: number;
  /** Share of root surface with an air gap (shrinkage), and the gap width (mm). */
  gapFraction: number;
  gapWidth: number;
  /** Grey-value change towards a root's centre (stele); negative gives hollow-looking roots. */
  steleBoost: number;
  /**
   * Depth below the root's surface, as fractions of its radius, where that change begins and where
   * it is whole: [0.45, 0.8] gives a thick bright cortex round a small core; a shallow start, the
   * thin bright rim round a dim interior of roots scanned in air.
   */
  steleDepth: [number, number];
}

export interface ObjectParams {
  /** Stones / gravel: count per cm³, radius range (mm), value mean and sd. */
  stonesPerCm3: number;
  stoneRadius: [number, number];
  stoneValue: number;
  stoneValueSd: number;
  /** Organic fragments (dead roots, plant debris): the hard negatives. */
  organicPerCm3: number;
  organicRadius: [number, number];
  organicLength: [number, number];
  organicValue: number;
  organicValueSd: number;
  /** Biopores (old root and earthworm channels): air-filled tubes. */
  bioporesPerCm3: number;
  bioporeRadius: [number, number];
  bioporeLength: [number, number];
}

export interface ScanParams {
  /** Gaussian point-spread function sd (voxels); 0 = none. */
  psfSigma: number;
  /** White noise sd added after blurring (grey-value units). */
  noise: number;
  /** Noise sd added before blurring, so it comes out spatially correlated as in reconstructions. */
  correlatedNoise: number;
  /** Ring artefacts: amplitude (grey units) and the share of radii carrying a ring. */
  rings: number;
  ringDensity: number;
  /** Beam-hardening cupping: relative darkening of the centre against the rim. */
  cupping: number;
  /** Gamma applied to grey values (after cupping, rings and noise): v → max(v, 0)^gamma. */
  gamma: number;
  /** Smooth multiplicative bias field: relative amplitude and length scale (mm). */
  bias: number;
  biasScale: number;
  /** uint16 = clamp(round(value × gain + offset), 0, maxValue): 255 for 8-bit scans, with clipping. */
  gain: number;
  offset: number;
  maxValue: number;
  /** Supersampling per axis for partial volume at root surfaces. */
  supersample: number;
}

export interface ContainerParams {
  /** Inner diameter (mm); 0 = auto (94% of the smaller lateral extent); -1 = no container. */
  diameter: number;
  wall: number;
  wallValue: number;
  /** Grey value outside the container (0: a reconstruction's zeros outside the field of view). */
  outsideValue: number;
}

export interface SynthParams {
  architecture: ArchitectureParams;
  soil: SoilParams;
  root: RootLookParams;
  objects: ObjectParams;
  scan: ScanParams;
  container: ContainerParams;
}

const ORDERS_BASE: OrderParams[] = [
  {
    length: 1e9,
    lengthSpread: 1,
    radiusRatio: 1,
    tipRatio: 0.55,
    angle: 0,
    angleSd: 0,
    tortuosity: 0.18,
    gravitropism: 0.25,
    spacing: 0.9,
    basalZone: 1.5,
    apicalZone: 3,
  },
  {
    length: 9,
    lengthSpread: 1.6,
    radiusRatio: 0.32,
    tipRatio: 0.55,
    angle: 70,
    angleSd: 12,
    tortuosity: 0.25,
    gravitropism: 0.04,
    spacing: 1.2,
    basalZone: 1.0,
    apicalZone: 1.5,
  },
  {
    length: 2.5,
    lengthSpread: 1.7,
    radiusRatio: 0.45,
    tipRatio: 0.6,
    angle: 65,
    angleSd: 15,
    tortuosity: 0.35,
    gravitropism: 0.0,
    spacing: 1.0,
    basalZone: 0.5,
    apicalZone: 0.6,
  },
  {
    length: 0.8,
    lengthSpread: 1.6,
    radiusRatio: 0.55,
    tipRatio: 0.7,
    angle: 60,
    angleSd: 15,
    tortuosity: 0.4,
    gravitropism: 0,
    spacing: 0,
    basalZone: 0,
    apicalZone: 0,
  },
];

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

const MEDIUM: SynthParams = {
  architecture: {
    primaries: [1, 3],
    primaryRadius: [0.35, 0.55],
    primaryAngle: [8, 40],
    orders: 3,
    order: clone(ORDERS_BASE),
    minRadius: 0.008,
    maxSegments: 400_000,
  },
  soil: {
    grainSize: 0.45,
    grainSizeSpread: 0.35,
    grainFill: 0.43,
    gap: 0,
    roundness: 0.6,
    grainValue: 0.66,
    grainValueSd: 0.13,
    heavyFraction: 0.04,
    heavyValue: 0.95,
    darkFraction: 0.04,
    darkValue: 0.4,
    grainTexture: 0.03,
    macroporeScale: 1.2,
    macroporeFraction: 0.04,
    finesFraction: 0.55,
    finesValue: 0.31,
    finesTexture: 0.08,
    finesScale: 0.6,
    waterFilm: 0.02,
    waterValue: 0.27,
    saturationScale: 2.0,
    saturation: 0.15,
    airValue: 0.1,
    crackFraction: 0,
    crackScale: 3,
    crackWidth: 0.08,
  },
  root: { value: 0.37, valueSd: 0.025, alongSd: 0.015, gapFraction: 0.3, gapWidth: 0.05, steleBoost: 0.015, steleDepth: [0.45, 0.8] },
  objects: {
    stonesPerCm3: 1.5,
    stoneRadius: [0.5, 1.5],
    stoneValue: 0.6,
    stoneValueSd: 0.08,
    organicPerCm3: 20,
    organicRadius: [0.05, 0.25],
    organicLength: [0.6, 3],
    organicValue: 0.36,
    organicValueSd: 0.05,
    bioporesPerCm3: 2,
    bioporeRadius: [0.1, 0.4],
    bioporeLength: [2, 8],
  },
  scan: {
    psfSigma: 1.2,
    noise: 0.012,
    correlatedNoise: 0.03,
    rings: 0.01,
    ringDensity: 0.03,
    cupping: 0.04,
    gamma: 1,
    bias: 0,
    biasScale: 10,
    gain: 40000,
    offset: 2000,
    maxValue: 65535,
    supersample: 4,
  },
  container: { diameter: 0, wall: 0.8, wallValue: 0.3, outsideValue: 0.02 },
};

function preset(base: SynthParams, edit: (p: SynthParams) => void): SynthParams {
  const p = clone(base);
  edit(p);
  return p;
}

/** Compact fine-textured soil, few air pores, low noise: roots are the darkest thing in the scan. */
const EASY = preset(MEDIUM, (p) => {
  p.architecture.orders = 2;
  Object.assign(p.soil, {
    grainSize: 0.12,
    grainSizeSpread: 0.3,
    grainFill: 0.5,
    gap: 0.04,
    grainValue: 0.6,
    grainValueSd: 0.04,
    heavyFraction: 0.01,
    darkFraction: 0,
    macroporeFraction: 0.01,
    finesFraction: 0.95,
    finesValue: 0.56,
    finesTexture: 0.03,
    waterFilm: 0,
    saturation: 0,
  } satisfies Partial<SoilParams>);
  Object.assign(p.root, { value: 0.3, valueSd: 0.015, alongSd: 0.01, gapFraction: 0 } satisfies Partial<RootLookParams>);
  Object.assign(p.objects, {
    stonesPerCm3: 0.5,
    stoneValue: 0.8,
    stoneValueSd: 0.05,
    organicPerCm3: 0,
    bioporesPerCm3: 0,
  } satisfies Partial<ObjectParams>);
  Object.assign(p.scan, { psfSigma: 0.8, noise: 0.012, correlatedNoise: 0.01, rings: 0, cupping: 0 } satisfies Partial<ScanParams>);
});

/** Wet sandy loam: water and fines overlap roots, many organic fragments, noise, rings and cupping. */
const HARD = preset(MEDIUM, (p) => {
  p.architecture.orders = 4;
  p.architecture.primaries = [2, 4];
  Object.assign(p.soil, {
    grainSize: 0.3,
    grainValueSd: 0.14,
    darkFraction: 0.12,
    darkValue: 0.37,
    macroporeFraction: 0.1,
    finesFraction: 0.65,
    finesValue: 0.35,
    finesTexture: 0.09,
    waterFilm: 0.04,
    waterValue: 0.31,
    saturation: 0.4,
  } satisfies Partial<SoilParams>);
  Object.assign(p.root, { value: 0.34, valueSd: 0.04, alongSd: 0.025, gapFraction: 0.5, gapWidth: 0.06 } satisfies Partial<RootLookParams>);
  Object.assign(p.objects, {
    stonesPerCm3: 3,
    stoneValue: 0.5,
    stoneValueSd: 0.15,
    organicPerCm3: 50,
    organicValueSd: 0.05,
    bioporesPerCm3: 4,
  } satisfies Partial<ObjectParams>);
  Object.assign(p.scan, {
    psfSigma: 1.4,
    noise: 0.06,
    correlatedNoise: 0.08,
    rings: 0.03,
    ringDensity: 0.06,
    cupping: 0.12,
  } satisfies Partial<ScanParams>);
});

const PRESETS: Record<Difficulty, SynthParams> = { easy: EASY, medium: MEDIUM, hard: HARD };

export function isDifficulty(s: string): s is Difficulty {
  return (DIFFICULTIES as readonly string[]).includes(s);
}

/** A fresh copy of a preset's parameters. */
export function presetParams(d: Difficulty): SynthParams {
  return clone(PRESETS[d]);
}

/**
 * Applies `path=value` overrides (e.g. `soil.grainSize=0.5`, `architecture.order.1.spacing=2`,
 * `architecture.primaries=2,2`) to a copy of `params`. Every path must name an existing number
 * or list of numbers.
 */
export function applyOverrides(params: SynthParams, overrides: readonly string[]): SynthParams {
  const p = clone(params);
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new RangeError(`parameter override "${o}" is not of the form path=value`);
    const path = o.slice(0, eq).trim().split('.');
    const text = o.slice(eq + 1).trim();
    let node: unknown = p;
    for (let i = 0; i < path.length - 1; i++) {
      node = (node as Record<string, unknown>)[path[i]!];
      if (typeof node !== 'object' || node === null)
        throw new RangeError(`parameter override "${o}": no parameter group "${path.slice(0, i + 1).join('.')}"`);
    }
    const key = path[path.length - 1]!;
    const rec = node as Record<string, unknown>;
    const old = rec[key];
    if (typeof old === 'number') {
      const v = Number(text);
      if (!Number.isFinite(v)) throw new RangeError(`parameter override "${o}": "${text}" is not a number`);
      rec[key] = v;
    } else if (Array.isArray(old) && old.every((x) => typeof x === 'number')) {
      const v = text.split(',').map(Number);
      if (v.length !== old.length || !v.every(Number.isFinite))
        throw new RangeError(`parameter override "${o}": expected ${old.length} comma-separated numbers`);
      rec[key] = v;
    } else {
      throw new RangeError(`parameter override "${o}": "${path.join('.')}" is not a numeric parameter`);
    }
  }
  validateParams(p);
  return p;
}

/** Throws with the offending field named when parameters are out of range. */
export function validateParams(p: SynthParams): void {
  const bad = (field: string, why: string): never => {
    throw new RangeError(`synth parameter ${field} ${why}`);
  };
  const a = p.architecture;
  if (!(a.orders >= 1 && a.orders <= a.order.length && Number.isInteger(a.orders)))
    bad('architecture.orders', `must be an integer in 1..${a.order.length}`);
  if (!(a.primaries[0] >= 0 && a.primaries[1] >= a.primaries[0])) bad('architecture.primaries', 'must be min,max with 0 <= min <= max');
  if (!(a.primaryRadius[0] > 0 && a.primaryRadius[1] >= a.primaryRadius[0])) bad('architecture.primaryRadius', 'must be min,max > 0');
  if (!(a.minRadius > 0)) bad('architecture.minRadius', 'must be > 0');
  a.order.forEach((o, i) => {
    if (!(o.length > 0)) bad(`architecture.order.${i}.length`, 'must be > 0');
    if (!(o.spacing >= 0)) bad(`architecture.order.${i}.spacing`, 'must be >= 0');
    if (!(o.tipRatio > 0 && o.tipRatio <= 1)) bad(`architecture.order.${i}.tipRatio`, 'must be in (0, 1]');
  });
  if (!(p.soil.grainSize > 0)) bad('soil.grainSize', 'must be > 0');
  if (!(p.soil.gap >= 0 && p.soil.gap < 0.5)) bad('soil.gap', 'must be in [0, 0.5)');
  if (!(p.soil.crackFraction >= 0 && p.soil.crackFraction <= 1)) bad('soil.crackFraction', 'must be in [0, 1]');
  if (!(p.soil.crackScale > 0) || !(p.soil.crackWidth > 0)) bad('soil.crackScale', 'and soil.crackWidth must be > 0');
  const [d0, d1] = p.root.steleDepth;
  if (!(d0 >= 0 && d1 > d0 && d1 <= 1)) bad('root.steleDepth', 'must be start,end with 0 <= start < end <= 1');
  if (!(p.scan.psfSigma >= 0 && p.scan.psfSigma <= 8)) bad('scan.psfSigma', 'must be in [0, 8] voxels');
  if (!(p.scan.noise >= 0) || !(p.scan.correlatedNoise >= 0)) bad('scan.noise', 'must be >= 0');
  if (!(Number.isInteger(p.scan.supersample) && p.scan.supersample >= 1 && p.scan.supersample <= 6))
    bad('scan.supersample', 'must be an integer in 1..6');
  if (!(p.scan.gamma > 0)) bad('scan.gamma', 'must be > 0');
  if (!(p.scan.bias >= 0 && p.scan.bias < 1) || !(p.scan.biasScale > 0)) bad('scan.bias', 'must be in [0, 1) with biasScale > 0');
  if (!(p.scan.maxValue >= 1 && p.scan.maxValue <= 65535)) bad('scan.maxValue', 'must be in [1, 65535]');
  if (!(p.container.diameter >= -1)) bad('container.diameter', 'must be > 0, 0 (auto) or -1 (none)');
}
