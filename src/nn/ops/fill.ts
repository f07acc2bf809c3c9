import type { Gpu } from '../../gpu/gpu.js';
import { defineParams } from '../../gpu/uniforms.js';
import type { Tensor } from '../tensor.js';
import { groups } from './grid.js';

const FILL_WG = 256;

/** fill.wgsl's parameters. */
const FILL_PARAMS = defineParams('Params', { count: 'u32', value: 'f32' });

/** Sets the first `count` f32 values of a buffer to `value`. */
export async function fillBuffer(gpu: Gpu, buffer: GPUBuffer, count: number, value: number): Promise<void> {
  await gpu.run(
    { shader: 'fill', constants: { WG: FILL_WG }, params: FILL_PARAMS },
    [buffer, FILL_PARAMS.pack({ count, value })],
    groups(count, FILL_WG),
  );
}

/** Sets every element of a tensor (all its pieces) to `value`; NaN poisons outputs in tests. */
export async function fill(t: Tensor, value: number): Promise<void> {
  for (const p of t.pieces) await fillBuffer(t.gpu, p.buffer, p.planes * t.planeSize, value);
}
