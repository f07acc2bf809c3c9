import { InvalidArgumentError } from 'commander';
import type { Box, Vec3 } from '../volume/box.js';

/*
 * Option parsers shared by every command. Each is a commander argParser: it runs while the
 * command line is parsed, before any action starts, so a bad value stops the command before
 * anything is read or written. Commander names the option in the message ("option '--chunk <n>'
 * argument 'abc' is invalid. must be …").
 */

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A range of allowed values; an exclusive bound is not itself allowed. */
export interface NumberRange {
  readonly min?: number;
  readonly max?: number;
  readonly minExclusive?: boolean;
  readonly maxExclusive?: boolean;
}

function rangeText(r: NumberRange): string {
  const lo = r.min === undefined ? '' : r.minExclusive ? `above ${r.min}` : `≥ ${r.min}`;
  const hi = r.max === undefined ? '' : r.maxExclusive ? `below ${r.max}` : `≤ ${r.max}`;
  if (lo && hi) return r.minExclusive || r.maxExclusive ? ` ${lo} and ${hi}` : ` from ${r.min} to ${r.max}`;
  return lo || hi ? ` ${lo || hi}` : '';
}

function inRange(n: number, r: NumberRange): boolean {
  if (r.min !== undefined && (r.minExclusive ? n <= r.min : n < r.min)) return false;
  if (r.max !== undefined && (r.maxExclusive ? n >= r.max : n > r.max)) return false;
  return true;
}

/** Parses a decimal number in a range, or throws saying what is allowed. Rejects '', 'abc', '0x10', 'Infinity', NaN. */
export function parseNumber(text: string, range: NumberRange = {}, integer = false): number {
  const t = String(text).trim();
  const n = Number(t);
  const kind = integer ? 'a whole number' : 'a number';
  if (!(integer ? INTEGER : DECIMAL).test(t) || !Number.isFinite(n) || (integer && !Number.isSafeInteger(n)) || !inRange(n, range)) {
    throw new InvalidArgumentError(`must be ${kind}${rangeText(range)}, got "${text}"`);
  }
  return n === 0 ? 0 : n; // no -0
}

/** argParser: a whole number in [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => parseNumber(text, max === Number.MAX_SAFE_INTEGER ? { min } : { min, max }, true);
}

/** argParser: a finite number in a range (e.g. `number({ min: 0, max: 1, minExclusive: true, maxExclusive: true })`). */
export function number(range: NumberRange = {}) {
  return (text: string): number => parseNumber(text, range, false);
}

/** argParser: one of a few whole numbers (e.g. a scale of 2, 4 or 8). */
export function oneOf(values: readonly number[]) {
  return (text: string): number => {
    const t = String(text).trim();
    const n = Number(t);
    if (!INTEGER.test(t) || !values.includes(n)) throw new InvalidArgumentError(`must be one of ${values.join(', ')}, got "${text}"`);
    return n;
  };
}

/** argParser: "GAIN,BIAS,GAMMA" → [gain ≥ 1, bias ≥ 0, gamma ≥ 1], an intensity augmentation's reach. */
export function parseIntensityRange(text: string): number[] {
  const parts = String(text).split(',');
  if (parts.length !== 3) throw new InvalidArgumentError(`must be GAIN,BIAS,GAMMA, e.g. 1.7,0.25,1.5, got "${text}"`);
  return parts.map((p, i) => parseNumber(p, { min: i === 1 ? 0 : 1 }));
}

/** Largest seed: seeds are used as unsigned 32-bit integers. */
export const MAX_SEED = 2 ** 32 - 1;

/** Shard i of N: process the units u with u % N === i. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/**
 * "i/N" → { index: i, count: N } with 0 ≤ i < N. Names the likely cause when the shell expanded
 * an unset $SLURM_ARRAY_TASK_ID (or $JOB_COMPLETION_INDEX) to nothing.
 */
export function parseShard(text: string): Shard {
  const t = String(text).trim();
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(t);
  if (!m) {
    const hint = /^\s*\/\s*\d*\s*$/.test(t) ? ' (the index is empty: is $SLURM_ARRAY_TASK_ID set? it is only inside an array job)' : '';
    throw new InvalidArgumentError(`must be i/N with whole numbers 0 ≤ i < N, e.g. 0/4, got "${text}"${hint}`);
  }
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new InvalidArgumentError(`must be i/N with 0 ≤ i < N and N ≥ 1, got "${text}"`);
  }
  return { index, count };
}

/** Option parser: "64" → [64, 64, 64]; "32,64,64" → [32, 64, 64] (z, y, x). */
export function vec3(what: string, integer: boolean) {
  return (text: string): Vec3 => {
    const parts = text.split(',').map((s) => s.trim());
    const nums = parts.map(Number);
    const ok = parts.every((s, i) => (integer ? INTEGER : DECIMAL).test(s) && Number.isFinite(nums[i]!) && nums[i]! > 0);
    if (!ok || (nums.length !== 1 && nums.length !== 3)) {
      throw new InvalidArgumentError(
        `${what} must be one ${integer ? 'positive integer' : 'positive number'} or three as z,y,x, got "${text}"`,
      );
    }
    return nums.length === 1 ? [nums[0]!, nums[0]!, nums[0]!] : [nums[0]!, nums[1]!, nums[2]!];
  };
}

/**
 * argParser: "z0:z1,y0:y1,x0:x1" → the box of voxels z0 ≤ z < z1, y0 ≤ y < y1, x0 ≤ x < x1 (half
 * open, as a Python slice), each bound a whole number ≥ 0 and each range not empty. Whether it
 * lies inside the scan is checked once the scan is opened, before anything is written.
 */
export function parseRegion(text: string): Box {
  const parts = String(text)
    .split(',')
    .map((s) => s.trim());
  const form = 'z0:z1,y0:y1,x0:x1 (voxels, the end excluded), e.g. 0:64,100:228,100:228';
  if (parts.length !== 3 || parts.some((p) => p.split(':').length !== 2)) throw new InvalidArgumentError(`must be ${form}, got "${text}"`);
  const offset: number[] = [];
  const shape: number[] = [];
  parts.forEach((p, a) => {
    const axis = 'zyx'[a]!;
    const [lo, hi] = p.split(':').map((t) => {
      try {
        return parseNumber(t, { min: 0 }, true);
      } catch (err) {
        throw new InvalidArgumentError(`${axis} range "${p}": bounds ${(err as Error).message}; the whole region must be ${form}`);
      }
    }) as [number, number];
    if (hi <= lo)
      throw new InvalidArgumentError(
        `must not be empty: ${axis} range ${lo}:${hi} holds no voxel (the end is excluded, so it must be above the start), got "${text}"`,
      );
    offset.push(lo);
    shape.push(hi - lo);
  });
  return { offset: offset as unknown as Vec3, shape: shape as unknown as Vec3 };
}

/** Option parser: "1,2,4" → [1, 2, 4], positive and strictly ascending. */
export function ascending(what: string) {
  return (text: string): number[] => {
    const parts = text.split(',').map((s) => s.trim());
    const v = parts.map(Number);
    if (parts.some((s, i) => !DECIMAL.test(s) || !(Number.isFinite(v[i]!) && v[i]! > 0) || (i > 0 && v[i]! <= v[i - 1]!))) {
      throw new InvalidArgumentError(`${what} must be positive numbers in ascending order, e.g. 1,2,4, got "${text}"`);
    }
    return v;
  };
}

/** Option parser: "8,16,32" → [8, 16, 32], whole numbers ≥ 1. */
export function integerList(what: string) {
  return (text: string): number[] => {
    const parts = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (parts.length === 0 || parts.some((s) => !INTEGER.test(s) || !(Number(s) >= 1))) {
      throw new InvalidArgumentError(`${what} must be whole numbers ≥ 1 separated by commas, e.g. 8,16,32, got "${text}"`);
    }
    return parts.map(Number);
  };
}

/** Wraps a parser that throws plain Errors (e.g. a pipeline's own) so commander reports it as a bad option value. */
export function asOption<T>(parse: (text: string) => T) {
  return (text: string): T => {
    try {
      return parse(text);
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw err;
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}
