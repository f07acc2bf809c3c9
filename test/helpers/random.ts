/** Seeded PRNG (mulberry32) so every failure can be reproduced from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The seed of a randomised test: RHIZOCT_SEED pins it (scripts/test.sh pins one, so CI never
 * fails on a seed nobody saw); unset or `fresh` draws a new one per run for fuzzing. Failures
 * print it.
 */
export function freshSeed(): number {
  const pinned = process.env.RHIZOCT_SEED;
  if (pinned === undefined || pinned === '' || pinned === 'fresh') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(pinned);
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`RHIZOCT_SEED=${pinned}: expected a non-negative integer or "fresh"`);
  return seed;
}

export function uniform(n: number, r: () => number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}
