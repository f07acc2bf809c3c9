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
