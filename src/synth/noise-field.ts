/**
 * A CPU mirror of the value noise in shaders/synth_scene.wgsl (`vnoise`, `fbm`), used only to
 * learn the fields' distributions so that a parameter such as "10% of grains removed" can be
 * turned into a threshold on the field. The GPU evaluates the fields; this never renders.
 */

/** PCG-based 4D hash as in the shaders (Jarzynski & Olano 2020). */
export function pcg4d(x: number, y: number, z: number, w: number): [number, number, number, number] {
  x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
  y = (Math.imul(y, 1664525) + 1013904223) >>> 0;
  z = (Math.imul(z, 1664525) + 1013904223) >>> 0;
  w = (Math.imul(w, 1664525) + 1013904223) >>> 0;
  x = (x + Math.imul(y, w)) >>> 0;
  y = (y + Math.imul(z, x)) >>> 0;
  z = (z + Math.imul(x, y)) >>> 0;
  w = (w + Math.imul(y, z)) >>> 0;
  x ^= x >>> 16;
  y ^= y >>> 16;
  z ^= z >>> 16;
  w ^= w >>> 16;
  x = (x + Math.imul(y, w)) >>> 0;
  y = (y + Math.imul(z, x)) >>> 0;
  z = (z + Math.imul(x, y)) >>> 0;
  w = (w + Math.imul(y, z)) >>> 0;
  return [x >>> 0, y >>> 0, z >>> 0, w >>> 0];
}

/** The per-field seeds of synth_scene.wgsl: stream k of a scan seed. */
export function fieldStream(seed: number, k: number): number {
  return pcg4d(seed >>> 0, k >>> 0, 0x9e3779b9, 0x85ebca6b)[0];
}

const unit = (h: number): number => (h >>> 8) / 16777216;

function hash3(x: number, y: number, z: number, s: number): number {
  let h = (Math.imul(x, 0x8da6b343) + Math.imul(y, 0xd8163841) + Math.imul(z, 0xcb1ab31f) + s) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function lattice(x: number, y: number, z: number, s: number): number {
  return unit(hash3(x, y, z, s)) * 2 - 1;
}

const mix = (a: number, b: number, t: number): number => a + (b - a) * t;
const fade = (f: number): number => f * f * f * (f * (f * 6 - 15) + 10);

export function vnoise(px: number, py: number, pz: number, s: number): number {
  const ix = Math.floor(px);
  const iy = Math.floor(py);
  const iz = Math.floor(pz);
  const ux = fade(px - ix);
  const uy = fade(py - iy);
  const uz = fade(pz - iz);
  const L = (dx: number, dy: number, dz: number): number => lattice(ix + dx, iy + dy, iz + dz, s);
  return mix(
    mix(mix(L(0, 0, 0), L(1, 0, 0), ux), mix(L(0, 1, 0), L(1, 1, 0), ux), uy),
    mix(mix(L(0, 0, 1), L(1, 0, 1), ux), mix(L(0, 1, 1), L(1, 1, 1), ux), uy),
    uz,
  );
}

export function fbm(px: number, py: number, pz: number, s: number): number {
  return 0.7 * vnoise(px, py, pz, s) + 0.3 * vnoise(px * 2.13 + 17.1, py * 2.13 + 3.7, pz * 2.13 + 9.2, s + 1);
}

let fbmSorted: Float64Array | null = null;
let vnoiseSorted: Float64Array | null = null;

function sample(f: (x: number, y: number, z: number, s: number) => number): Float64Array {
  const n = 60000;
  const out = new Float64Array(n);
  // A fixed irrational lattice walk: deterministic and well spread.
  for (let i = 0; i < n; i++) out[i] = f(i * 0.7548776662 + 0.1, i * 0.569840291 + 0.3, i * 0.4142135624 + 0.7, 12345 + (i % 7));
  return out.sort();
}

/** The value below which a fraction `q` of the fbm field lies. */
export function fbmQuantile(q: number): number {
  fbmSorted ??= sample(fbm);
  return quantile(fbmSorted, q);
}

/** The value below which a fraction `q` of the vnoise field lies. */
export function vnoiseQuantile(q: number): number {
  vnoiseSorted ??= sample(vnoise);
  return quantile(vnoiseSorted, q);
}

function quantile(sorted: Float64Array, q: number): number {
  if (q <= 0) return -10;
  if (q >= 1) return 10;
  const i = q * (sorted.length - 1);
  const k = Math.floor(i);
  return sorted[k]! + (sorted[Math.min(k + 1, sorted.length - 1)]! - sorted[k]!) * (i - k);
}
