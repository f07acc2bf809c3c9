import { defineParams } from '../../gpu/uniforms.js';
import { Tensor } from '../tensor.js';
import { alignedRuns } from './runs.js';
import { groups } from './grid.js';

const EW_WG = 256;

/** activation.wgsl's parameters: `count` values from offset `off0` of the first binding, `off1`/`off2` of the others. */
const ACTIVATION_PARAMS = defineParams('Params', { count: 'u32', off0: 'u32', off1: 'u32', off2: 'u32' });

export type Activation = 'relu' | 'sigmoid';

const ACT: Record<Activation, number> = { relu: 0, sigmoid: 1 };

/** The entry and its counts: the vec4 form where the count and every offset are multiples of 4. */
function plan(entry: string, count: number, offsets: readonly number[]): { entry: string; count: number; off: number[] } {
  const v = count % 4 === 0 && offsets.every((o) => o % 4 === 0) ? 4 : 1;
  return { entry: v === 4 ? `${entry}_vec4` : entry, count: count / v, off: [0, 1, 2].map((i) => (offsets[i] ?? 0) / v) };
}

async function forward(x: Tensor, act: Activation): Promise<Tensor> {
  const y = Tensor.empty(x.gpu, x.shape);
  for (const r of alignedRuns(act, x, y)) {
    const k = plan('forward', r.count, r.offsets);
    await x.gpu.run(
      { shader: 'activation', entry: k.entry, constants: { ACT: ACT[act], WG: EW_WG }, params: ACTIVATION_PARAMS },
      [r.buffers[0]!, r.buffers[1]!, ACTIVATION_PARAMS.pack({ count: k.count, off0: k.off[0]!, off1: k.off[1]!, off2: 0 })],
      groups(k.count, EW_WG),
      act,
    );
  }
  return y;
}

async function backward(y: Tensor, dy: Tensor, act: Activation): Promise<Tensor> {
  const dx = Tensor.empty(y.gpu, y.shape);
  for (const r of alignedRuns(`${act} backward`, y, dy, dx)) {
    const k = plan('backward', r.count, r.offsets);
    await y.gpu.run(
      { shader: 'activation', entry: k.entry, constants: { ACT: ACT[act], WG: EW_WG }, params: ACTIVATION_PARAMS },
      [
        r.buffers[0]!,
        r.buffers[1]!,
        r.buffers[2]!,
        ACTIVATION_PARAMS.pack({ count: k.count, off0: k.off[0]!, off1: k.off[1]!, off2: k.off[2]! }),
      ],
      groups(k.count, EW_WG),
      `${act} backward`,
    );
  }
  return dx;
}

/** max(x, 0), elementwise, into a new tensor. */
export function relu(x: Tensor): Promise<Tensor> {
  return forward(x, 'relu');
}

/** ReLU's input gradient from its saved output `y`: dy where y > 0, else 0. */
export function reluBackward(y: Tensor, dy: Tensor): Promise<Tensor> {
  return backward(y, dy, 'relu');
}

/** 1 / (1 + e^−x), elementwise and stable for large |x|, into a new tensor. */
export function sigmoid(x: Tensor): Promise<Tensor> {
  return forward(x, 'sigmoid');
}

/** Sigmoid's input gradient from its saved output `y`: dy · y · (1 − y). */
export function sigmoidBackward(y: Tensor, dy: Tensor): Promise<Tensor> {
  return backward(y, dy, 'sigmoid');
}
