import type { Gpu } from '../src/gpu/gpu.js';
import { median } from './args.js';

/** Median wall time (ms) of `reps` runs of `fn`, each waited for on the device, after one warm-up. */
export async function timeMedian(gpu: Gpu, reps: number, fn: () => Promise<void>): Promise<number> {
  await fn();
  await gpu.sync();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    await gpu.sync();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

/** The device's FMA ceiling, GFLOP/s: `shaders/fma_peak.wgsl`, register-only vec4 FMAs on three accumulators. */
export async function fmaCeiling(gpu: Gpu): Promise<number> {
  const n = 64 * 1024;
  const iters = 1024;
  const buf = gpu.createBuffer(n * 16);
  const ms = await timeMedian(gpu, 3, () => gpu.run({ shader: 'fma_peak', constants: { ITERS: iters } }, [buf], n / 64));
  gpu.release(buf);
  return (n * iters * 12 * 4 * 2) / ms / 1e6;
}
