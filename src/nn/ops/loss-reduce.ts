import type { Gpu } from '../../gpu/gpu.js';
import { uniforms } from '../../gpu/uniforms.js';
import type { Run } from './runs.js';

/** Elements summed per partial: enough invocations to fill a device, few enough to finish in one workgroup. */
const PER_PART = 1024;

/** Partial sums per run, each run's partials placed after the previous run's. */
export function partLayout(runs: readonly Run[]): { chunks: number[]; bases: number[]; total: number } {
  const chunks = runs.map((r) => Math.max(1, Math.ceil(r.count / PER_PART)));
  const bases: number[] = [];
  let total = 0;
  for (const c of chunks) {
    bases.push(total);
    total += c;
  }
  return { chunks, bases, total };
}

/**
 * Adds `parts` vec2 partials into `res` (4 floats: the two totals, the loss, 0) and computes the
 * loss value there (see loss_reduce.wgsl for LOSS and the formulas).
 */
export async function finishLoss(
  gpu: Gpu,
  part: GPUBuffer,
  parts: number,
  res: GPUBuffer,
  opts: { loss: 0 | 1; normByWeight?: boolean; count: number; eps?: number; scale: number },
): Promise<void> {
  const u = uniforms(parts, 0, 0, 0, { f32: opts.count }, { f32: opts.eps ?? 0 }, { f32: opts.scale }, { f32: 0 });
  await gpu.run({ shader: 'loss_reduce', entry: 'finish', constants: { LOSS: opts.loss, NORM_BY_WEIGHT: opts.normByWeight ?? false } }, [part, res, u], [1, 1, 1], 'loss reduce');
}
