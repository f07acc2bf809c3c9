import { acquireGpu } from '../../src/gpu/acquire.js';
import type { Gpu } from '../../src/gpu/gpu.js';

let shared: Promise<Gpu> | null = null;

/** One poisoned-allocation device per test worker. */
export function testGpu(): Promise<Gpu> {
  shared ??= acquireGpu().then((g) => {
    g.poison = true;
    return g;
  });
  return shared;
}
