import type { Gpu } from '../../gpu/gpu.js';
import { defineParams } from '../../gpu/uniforms.js';
import type { Run } from './runs.js';

/** Elements summed per partial: enough invocations to fill a device, few enough to finish in one workgroup. */
const PER_PART = 1024;

/** loss_reduce.wgsl's parameters: the number of partials, then the loss's constants. */
const LOSS_REDUCE_PARAMS = defineParams('Params', {
  parts: 'u32',
  _p0: 'u32',
  _p1: 'u32',
  _p2: 'u32',
  count: 'f32',
  eps: 'f32',
  scale: 'f32',
  _p3: 'f32',
});

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
  const u = LOSS_REDUCE_PARAMS.pack({ parts, count: opts.count, eps: opts.eps ?? 0, scale: opts.scale });
  await gpu.run(
    {
      shader: 'loss_reduce',
      entry: 'finish',
      constants: { LOSS: opts.loss, NORM_BY_WEIGHT: opts.normByWeight ?? false },
      params: LOSS_REDUCE_PARAMS,
    },
    [part, res, u],
    [1, 1, 1],
    'loss reduce',
  );
}
