import type { ObjectParams, SoilParams } from './params.js';
import { Random } from './random.js';
import { type SceneFrame, inScene } from './scene.js';
import { type V3, add, normalize, scale } from './vec.js';

/** Kinds of primitive the rasteriser knows; roots are the only ones labelled. */
export const KIND_ROOT = 0;
export const KIND_STONE = 1;
export const KIND_ORGANIC = 2;
export const KIND_PORE = 3;

/** A soil object other than grains: a chain of round cones with one grey value. */
export interface SoilObject {
  readonly kind: typeof KIND_STONE | typeof KIND_ORGANIC | typeof KIND_PORE;
  readonly points: V3[];
  readonly radii: number[];
  readonly value: number;
  /** Surface roughness as a fraction of the radius. */
  readonly rough: number;
}

/**
 * Places stones, organic fragments (dead roots and plant debris — the hard negatives, with
 * grey values overlapping live roots) and biopores (air-filled channels) in the scene box.
 */
export function placeObjects(seed: number, o: ObjectParams, soil: SoilParams, frame: SceneFrame): SoilObject[] {
  const rnd = new Random(seed, 'objects');
  const vol = ((frame.hi[0] - frame.lo[0]) * (frame.hi[1] - frame.lo[1]) * (frame.hi[2] - frame.lo[2])) / 1000; // cm³
  const out: SoilObject[] = [];
  const where = (r: Random): V3 => [
    r.uniform(frame.lo[0], frame.hi[0]),
    r.uniform(frame.lo[1], frame.hi[1]),
    r.uniform(frame.lo[2], frame.hi[2]),
  ];

  const stones = rnd.fork('stones');
  const nStones = stones.poisson(o.stonesPerCm3 * vol);
  for (let i = 0; i < nStones; i++) {
    const c = where(stones);
    const r = stones.uniform(o.stoneRadius[0], o.stoneRadius[1]);
    if (!inScene(frame, c, 0)) continue;
    const d = stones.unitVector();
    const half = r * stones.uniform(0, 0.8);
    const r2 = r * stones.uniform(0.7, 1);
    out.push({
      kind: KIND_STONE,
      points: [add(c, scale(d, -half)), add(c, scale(d, half))],
      radii: [r, r2],
      value: Math.max(soil.airValue, stones.normal(o.stoneValue, o.stoneValueSd)),
      rough: 0.12,
    });
  }

  const organic = rnd.fork('organic');
  const nOrg = organic.poisson(o.organicPerCm3 * vol);
  for (let i = 0; i < nOrg; i++) {
    const c = where(organic);
    if (!inScene(frame, c, 0)) continue;
    const r0 = Math.exp(organic.uniform(Math.log(o.organicRadius[0]), Math.log(o.organicRadius[1])));
    const len = organic.uniform(o.organicLength[0], o.organicLength[1]);
    const flat = organic.next() < 0.3; // flakes (leaf debris) vs. tubes (dead roots)
    const chain = walk(organic, c, organic.unitVector(), len, Math.max(0.05, len / 6), 0.5);
    const radii = chain.map((_, k) => r0 * (1 - (0.4 * k) / chain.length) * (flat ? organic.uniform(0.5, 1.3) : 1));
    out.push({
      kind: KIND_ORGANIC,
      points: chain,
      radii,
      value: organic.normal(o.organicValue, o.organicValueSd),
      rough: flat ? 0.35 : 0.1,
    });
  }

  const pores = rnd.fork('biopores');
  const nPores = pores.poisson(o.bioporesPerCm3 * vol);
  for (let i = 0; i < nPores; i++) {
    const c = where(pores);
    if (!inScene(frame, c, 0)) continue;
    const r0 = pores.uniform(o.bioporeRadius[0], o.bioporeRadius[1]);
    const len = pores.uniform(o.bioporeLength[0], o.bioporeLength[1]);
    const d0 = normalize([pores.normal(0, 0.5), pores.normal(0, 0.5), 1]);
    const chain = walk(pores, c, d0, len, Math.max(0.1, r0), 0.25);
    out.push({ kind: KIND_PORE, points: chain, radii: chain.map(() => r0 * pores.uniform(0.9, 1.1)), value: soil.airValue, rough: 0.08 });
  }
  return out;
}

/** A random-walk polyline of about `len` mm in steps of `step` mm. */
function walk(r: Random, start: V3, dir: V3, len: number, step: number, turn: number): V3[] {
  const pts: V3[] = [start];
  let d = dir;
  let p = start;
  const n = Math.max(1, Math.round(len / step));
  for (let i = 0; i < n; i++) {
    d = normalize(add(d, scale(r.unitVector(), turn * Math.sqrt(step))));
    p = add(p, scale(d, len / n));
    pts.push(p);
  }
  return pts;
}
