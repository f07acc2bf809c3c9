import { expect } from 'vitest';

/**
 * Asserts |got − want| <= atol + rtol·|want| everywhere, NaN included (an unwritten, poisoned
 * element fails). The message names the first bad index and the case label for reproduction.
 */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, label: string, atol = 1e-4, rtol = 1e-4): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const err = Math.abs(g - w);
    if (!(err <= atol + rtol * Math.abs(w))) {
      if (Number.isNaN(err) || err > worstErr) {
        worst = i;
        worstErr = Number.isNaN(err) ? Infinity : err;
        if (Number.isNaN(err)) break;
      }
    }
  }
  if (worst >= 0) {
    throw new Error(`${label}: element ${worst} got ${got[worst]} want ${want[worst]} (|err| ${worstErr})`);
  }
}
