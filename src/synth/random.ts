/**
 * Seeded randomness for the CPU side of the generator (root architecture, soil objects).
 *
 * Every consumer draws from its own stream, derived from (seed, stream name), so adding a draw
 * in one part (say, stones) never shifts the numbers another part (the roots) sees.
 */

/** SplitMix32-style finaliser: a good 32-bit mixer for seeding and hashing. */
export function mix32(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97) >>> 0;
  return (x ^ (x >>> 15)) >>> 0;
}

/** FNV-1a of a string, for naming streams. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** A small fast PRNG (sfc32) with the helpers the generator needs. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(seed: number, stream = '') {
    const s = mix32(seed >>> 0);
    const t = mix32(hashString(stream) ^ s);
    this.a = s;
    this.b = t;
    this.c = mix32(s ^ 0x5bd1e995);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** An independent generator for a named sub-stream. */
  fork(stream: string): Random {
    return new Random(this.u32(), stream);
  }

  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Marsaglia polar method). */
  normal(mean = 0, sd = 1): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return mean + sd * v;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return mean + sd * u * f;
  }

  /** Log-normal with the given median and multiplicative spread (geometric sd). */
  logNormal(median: number, spread: number): number {
    return median * Math.exp(Math.log(spread) * this.normal());
  }

  /** Poisson-distributed count (Knuth for small means, normal approximation above 50). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 50) return Math.max(0, Math.round(this.normal(mean, Math.sqrt(mean))));
    const l = Math.exp(-mean);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= this.next();
    } while (p > l);
    return k - 1;
  }

  /** A uniformly distributed unit vector. */
  unitVector(): [number, number, number] {
    const z = 2 * this.next() - 1;
    const phi = 2 * Math.PI * this.next();
    const r = Math.sqrt(1 - z * z);
    return [r * Math.cos(phi), r * Math.sin(phi), z];
  }
}

/** A 31-bit seed derived from (seed, name) for the GPU hashes, so each field has its own. */
export function subSeed(seed: number, name: string): number {
  return mix32((seed >>> 0) ^ hashString(name)) >>> 1;
}
