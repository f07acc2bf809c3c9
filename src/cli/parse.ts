import { InvalidArgumentError } from 'commander';
import type { Vec3 } from '../volume/box.js';

/** Option parser: "64" → [64, 64, 64]; "32,64,64" → [32, 64, 64] (z, y, x). */
export function vec3(what: string, integer: boolean) {
  return (text: string): Vec3 => {
    const nums = text.split(',').map((s) => Number(s.trim()));
    const ok = nums.every((n) => Number.isFinite(n) && n > 0 && (!integer || Number.isInteger(n)));
    if (!ok || (nums.length !== 1 && nums.length !== 3)) {
      throw new InvalidArgumentError(`${what} must be one ${integer ? 'positive integer' : 'positive number'} or three as z,y,x`);
    }
    return nums.length === 1 ? [nums[0]!, nums[0]!, nums[0]!] : [nums[0]!, nums[1]!, nums[2]!];
  };
}

/** Option parser: "1,2,4" → [1, 2, 4], positive and strictly ascending. */
export function ascending(what: string) {
  return (text: string): number[] => {
    const v = text.split(',').map((s) => Number(s.trim()));
    if (v.some((x, i) => !(Number.isFinite(x) && x > 0) || (i > 0 && x <= v[i - 1]!))) throw new InvalidArgumentError(`${what} must be positive numbers in ascending order, e.g. 1,2,4`);
    return v;
  };
}
