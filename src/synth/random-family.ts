/**
 * The `random` family: every scan draws its own world, in the spirit of SynthSeg's and vesselFM's
 * domain randomisation, so a model trained on it does not learn one soil, one grey-value relation
 * or one voxel size. Per seed it draws the soil kind (dry sand with air pores, wet loam,
 * aggregates, peat, or roots in air as an excavated crown is scanned), each material's grey value
 * independently (roots darker or brighter than what surrounds them, solid or hollow), the root
 * system (tap-rooted or fibrous), the scale of the whole scene in voxels (primary roots from under
 * 2 to about 20 voxels in radius, laterals down to well under a voxel), and the scanner (blur,
 * noise, rings, cupping, a bias field, gamma, 8-, 12- or 16-bit output with clipping, a container
 * or none, zeros or air outside the field of view). Soils with fines crack in part of the scans:
 * thin dark sheets that cut a slice in lines as a root does, and are not roots.
 *
 * Roots are kept visible where the physics says so: a root's grey value differs from the material
 * it mostly lies in by at least a noise-dependent margin; camouflage is the medium preset's job.
 */
import { type ArchitectureParams, presetParams, type SynthParams, validateParams } from './params.js';
import { Random } from './random.js';

export type SoilKind = 'dry-sand' | 'wet-loam' | 'aggregates' | 'peat' | 'air';
const SOIL_KINDS: readonly SoilKind[] = ['dry-sand', 'wet-loam', 'aggregates', 'peat', 'air'];

/** What a random draw chose, for the scan's provenance. */
export interface RandomDraw {
  readonly soil: SoilKind;
  readonly system: 'tap' | 'fibrous';
  /** Primary root radius in voxels of the output. */
  readonly primaryRadiusVoxels: number;
  /** The scene's voxel size before it was scaled to the requested one (mm). */
  readonly sceneVoxelMm: number;
  readonly bits: 8 | 12 | 16;
  /** Whether shrinkage cracks split the soil. */
  readonly cracks: boolean;
  /** Whether the roots' centres are darker than their surface (as roots scanned in air look). */
  readonly hollow: boolean;
}

const logUniform = (r: Random, lo: number, hi: number): number => Math.exp(r.uniform(Math.log(lo), Math.log(hi)));
const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;

/**
 * The scene's parameters at another scale: every length in millimetres multiplied by `k`,
 * densities per cm³ divided by k³, turning rates per √mm and per mm adjusted, so that in voxels
 * the scene keeps its proportions when the voxel size is multiplied by `k` too. Not the same scan
 * voxel for voxel: a few constants of the growth model (the spiral of lateral ranks, the primaries'
 * spacing, the scene's 1 mm margin) stay in millimetres.
 */
export function scaleScene(p: SynthParams, k: number): SynthParams {
  const q = JSON.parse(JSON.stringify(p)) as SynthParams;
  const a = q.architecture;
  a.primaryRadius = [a.primaryRadius[0] * k, a.primaryRadius[1] * k];
  a.minRadius *= k;
  for (const o of a.order) {
    o.length *= k;
    o.spacing *= k;
    o.basalZone *= k;
    o.apicalZone *= k;
    o.tortuosity /= Math.sqrt(k);
    o.gravitropism = Math.min(1, o.gravitropism / k);
  }
  const s = q.soil;
  for (const f of ['grainSize', 'macroporeScale', 'finesScale', 'waterFilm', 'saturationScale', 'crackScale', 'crackWidth'] as const)
    s[f] *= k;
  q.root.gapWidth *= k;
  const ob = q.objects;
  for (const f of ['stonesPerCm3', 'organicPerCm3', 'bioporesPerCm3'] as const) ob[f] /= k ** 3;
  for (const f of ['stoneRadius', 'organicRadius', 'organicLength', 'bioporeRadius', 'bioporeLength'] as const)
    ob[f] = [ob[f][0] * k, ob[f][1] * k];
  if (q.container.diameter > 0) q.container.diameter *= k;
  q.container.wall *= k;
  q.scan.biasScale *= k;
  return q;
}

/** Draws the parameters of one scan of the random family at voxel size `voxelMm` (the smallest side). */
export function randomParams(seed: number, voxelMm: number): { params: SynthParams; draw: RandomDraw } {
  const r = new Random(seed, 'random-family');
  const p = presetParams('medium');
  const soil = pick(r, SOIL_KINDS);
  const system = r.next() < 0.5 ? 'tap' : 'fibrous';

  // The scene is drawn at a physical voxel size `u` chosen so the primary roots come out
  // `rv` voxels in radius, then scaled to the voxel size asked for.
  const primaryMm = r.uniform(0.2, 0.6);
  const rv = logUniform(r, 1.5, 20);
  const u = primaryMm / rv;
  drawArchitecture(r, p.architecture, system, primaryMm);
  const noise = logUniform(r, 0.003, 0.06);
  drawSoil(r, p, soil, u);
  const hollow = drawLooks(r, p, soil, noise);
  drawScanner(r, p, noise, u);
  const bits = drawOutput(r, p);
  // On a stream of their own, so adding them left every other draw of a seed as it was.
  const cracks = drawCracks(new Random(seed, 'random-family-cracks'), p, soil, u);
  if (hollow) drawHollowDepth(new Random(seed, 'random-family-stele'), p);
  const params = scaleScene(p, voxelMm / u);
  validateParams(params);
  return { params, draw: { soil, system, primaryRadiusVoxels: rv, sceneVoxelMm: u, bits, cracks, hollow } };
}

function drawArchitecture(r: Random, a: ArchitectureParams, system: 'tap' | 'fibrous', primaryMm: number): void {
  a.primaryRadius = [primaryMm * 0.8, primaryMm * 1.2];
  if (system === 'tap') {
    a.primaries = [1, 2];
    a.primaryAngle = [0, 30];
    a.orders = r.int(3, 4);
  } else {
    const n = r.int(3, 10);
    a.primaries = [n, n + 3];
    a.primaryAngle = [10, 60];
    a.orders = r.int(2, 3);
  }
  const spacing = logUniform(r, 0.7, 3);
  for (const o of a.order.slice(1)) {
    o.radiusRatio = Math.min(0.8, o.radiusRatio * r.uniform(0.6, 1.5));
    o.length *= logUniform(r, 0.5, 2);
    o.angle = r.uniform(40, 85);
  }
  for (const o of a.order) o.spacing *= spacing;
  a.order[0]!.tortuosity *= r.uniform(0.5, 2);
  a.minRadius = 0.004;
}

function drawSoil(r: Random, p: SynthParams, kind: SoilKind, u: number): void {
  const s = p.soil;
  // Grain (or aggregate) size in voxels of the drawn scene: silt-like texture to gravel.
  s.grainSize = u * logUniform(r, 1.5, 30);
  s.grainSizeSpread = r.uniform(0.1, 0.6);
  s.grainFill = r.uniform(0.38, 0.5);
  s.gap = r.next() < 0.5 ? 0 : r.uniform(0, 0.08);
  s.roundness = r.uniform(0, 1);
  s.finesScale = u * logUniform(r, 4, 40);
  s.macroporeScale = u * logUniform(r, 10, 60);
  s.saturationScale = u * logUniform(r, 10, 60);
  s.heavyFraction = r.uniform(0, 0.08);
  s.darkFraction = r.uniform(0, 0.12);
  s.grainTexture = r.uniform(0, 0.06);
  s.finesTexture = r.uniform(0, 0.1);
  s.waterFilm = 0;
  s.saturation = 0;
  switch (kind) {
    case 'dry-sand':
      s.finesFraction = r.uniform(0, 0.25);
      s.macroporeFraction = r.uniform(0, 0.08);
      break;
    case 'wet-loam':
      s.finesFraction = r.uniform(0.5, 0.95);
      s.macroporeFraction = r.uniform(0.02, 0.15);
      s.waterFilm = u * r.uniform(0, 1.5);
      s.saturation = r.uniform(0.1, 0.5);
      break;
    case 'aggregates':
      s.grainSize = u * logUniform(r, 8, 40);
      s.gap = r.uniform(0.02, 0.12);
      s.finesFraction = r.uniform(0.2, 0.6);
      s.macroporeFraction = r.uniform(0.1, 0.3);
      break;
    case 'peat':
      s.grainFill = r.uniform(0.2, 0.35);
      s.finesFraction = r.uniform(0.6, 0.95);
      s.finesTexture = r.uniform(0.05, 0.15);
      s.macroporeFraction = r.uniform(0.1, 0.4);
      s.saturation = r.uniform(0, 0.4);
      s.waterFilm = u * r.uniform(0, 1);
      break;
    case 'air':
      // No soil: every grain cell is removed and nothing fills the space between them.
      s.macroporeFraction = 1;
      s.finesFraction = 0;
      break;
  }
  const ob = p.objects;
  const cm3 = (u * 128) ** 3 / 1000; // a 128³ scene, in cm³
  const perScan = (lo: number, hi: number): number => r.uniform(lo, hi) / cm3;
  ob.stonesPerCm3 = kind === 'air' ? 0 : perScan(0, 3);
  ob.stoneRadius = [u * 6, u * 25];
  ob.organicPerCm3 = kind === 'air' ? 0 : perScan(0, kind === 'peat' ? 40 : 15);
  ob.organicRadius = [u * 0.7, u * 5];
  ob.organicLength = [u * 10, u * 60];
  ob.bioporesPerCm3 = kind === 'air' ? 0 : perScan(0, 4);
  ob.bioporeRadius = [u * 1.5, u * 8];
  ob.bioporeLength = [u * 20, u * 120];
  p.root.gapFraction = kind === 'air' ? 0 : r.uniform(0, 0.5);
  p.root.gapWidth = u * r.uniform(0.5, 1.5);
}

/** Grey values: each material drawn on its own, then the roots kept apart from their surroundings. */
function drawLooks(r: Random, p: SynthParams, kind: SoilKind, noise: number): boolean {
  const s = p.soil;
  s.airValue = r.uniform(0, 0.25);
  s.grainValue = r.uniform(0.3, 1);
  s.grainValueSd = r.uniform(0.01, 0.15);
  s.heavyValue = Math.min(1.2, s.grainValue + r.uniform(0.1, 0.4));
  s.darkValue = r.uniform(0.1, 0.6);
  s.finesValue = r.uniform(0.05, 0.85);
  s.waterValue = r.uniform(0.1, 0.6);
  if (kind === 'peat') s.finesValue = r.uniform(0.05, 0.4);
  if (kind === 'air') {
    s.grainValue = s.airValue;
    s.grainValueSd = 0;
    s.heavyFraction = 0;
    s.darkFraction = 0;
    s.grainTexture = 0;
  }
  // What a root mostly lies in: the fines where they fill most of the pore space, else air.
  const around = s.finesFraction >= 0.4 ? s.finesValue : s.airValue;
  const margin = 0.06 + 2 * noise;
  let root = r.uniform(0.05, 1);
  for (let i = 0; i < 100 && Math.abs(root - around) < margin; i++) root = r.uniform(0.05, 1);
  if (Math.abs(root - around) < margin) root = around + (around < 0.5 ? margin : -margin);
  p.root.value = root;
  p.root.valueSd = r.uniform(0, 0.04);
  p.root.alongSd = r.uniform(0, 0.03);
  // Hollow roots (a darker centre, as in roots scanned in air) in a share of scans; else a faint stele.
  const hollow = r.next() < (kind === 'air' ? 0.6 : 0.2);
  p.root.steleBoost = hollow ? -r.uniform(0.2, 0.6) * Math.abs(root - s.airValue) : r.uniform(-0.02, 0.04);
  const ob = p.objects;
  ob.stoneValue = r.uniform(0.3, 1.1);
  ob.stoneValueSd = r.uniform(0, 0.1);
  // Organic debris is the hard negative: near the roots' grey value.
  ob.organicValue = root + r.uniform(-0.06, 0.06);
  ob.organicValueSd = r.uniform(0.01, 0.05);
  p.container.wallValue = r.uniform(0.1, 0.9);
  return hollow;
}

/**
 * Where a hollow root's centre begins to dim: from a thick bright cortex round a small dark core
 * down to the thin bright rim round a dim interior that roots scanned in air show (the maize
 * crown's nodal roots: a rim of 1-2 voxels on roots 5-10 voxels in radius).
 */
function drawHollowDepth(r: Random, p: SynthParams): void {
  const start = r.uniform(0.05, 0.45);
  p.root.steleDepth = [start, Math.min(1, start + r.uniform(0.1, 0.4))];
}

function drawScanner(r: Random, p: SynthParams, noise: number, u: number): void {
  const sc = p.scan;
  sc.psfSigma = r.uniform(0.3, 1.8);
  sc.noise = noise;
  sc.correlatedNoise = r.uniform(0, 1.5) * noise;
  sc.rings = r.next() < 0.35 ? r.uniform(0.005, 0.04) : 0;
  sc.ringDensity = r.uniform(0.02, 0.08);
  sc.cupping = r.next() < 0.4 ? r.uniform(0.02, 0.2) : 0;
  sc.gamma = r.uniform(0.7, 1.4);
  sc.bias = r.next() < 0.5 ? r.uniform(0.02, 0.15) : 0;
  sc.biasScale = u * r.uniform(60, 300);
  const c = p.container;
  c.diameter = r.next() < 0.4 ? -1 : 0;
  c.wall = u * r.uniform(0, 12);
  c.outsideValue = r.next() < 0.5 ? 0 : r.uniform(0, 0.2);
}

/** Shrinkage cracks in half the scans of soils with fines that dry and shrink (loam, aggregates, peat). */
function drawCracks(r: Random, p: SynthParams, kind: SoilKind, u: number): boolean {
  const s = p.soil;
  const shrinks = kind === 'wet-loam' || kind === 'aggregates' || kind === 'peat';
  if (!shrinks || r.next() >= 0.5) {
    s.crackFraction = 0;
    return false;
  }
  s.crackFraction = r.uniform(0.3, 0.9);
  s.crackScale = u * logUniform(r, 15, 80);
  s.crackWidth = u * logUniform(r, 0.7, 4);
  return true;
}

/** Output scaling: 8-bit (often clipping the brightest grains), 12-bit or 16-bit. */
function drawOutput(r: Random, p: SynthParams): 8 | 12 | 16 {
  const sc = p.scan;
  const u = r.next();
  const bits = u < 0.4 ? 8 : u < 0.5 ? 12 : 16;
  sc.maxValue = 2 ** bits - 1;
  // The grey value that maps to the top of the range: sometimes below the brightest materials.
  const top = r.uniform(0.7, 1.3);
  sc.gain = sc.maxValue / top;
  sc.offset = r.uniform(-0.05, 0.1) * sc.maxValue;
  return bits;
}
