import { defineParams } from '../../gpu/uniforms.js';
import { Tensor } from '../tensor.js';
import { alignedRuns } from './runs.js';
import { groups } from './grid.js';

const EW_WG = 256;

/** activation.wgsl's parameters: `count` values from offset `off0` of the first binding, `off1`/`off2` of the others. */
const ACTIVATION_PARAMS = defineParams('Params', { count: 'u32', off0: 'u32', off1: 'u32', off2: 'u32' });

export type Activation = 'relu' | 'sigmoid';

const ACT: Record<Activation, number> = { relu: 0, sigmoid: 1 };

async function forward(x: Tensor, act: Activation): Promise<Tensor> {
  const y = Tensor.empty(x.gpu, x.shape);
  for (const r of alignedRuns(act, x, y)) {
    await x.gpu.run(
      { shader: 'activation', entry: 'forward', constants: { ACT: ACT[act], WG: EW_WG }, params: ACTIVATION_PARAMS },
      [r.buffers[0]!, r.buffers[1]!, ACTIVATION_PARAMS.pack({ count: r.count, off0: r.offsets[0]!, off1: r.offsets[1]!, off2: 0 })],
      groups(r.count, EW_WG),
      act,
    );
  }
  return y;
}

async function backward(y: Tensor, dy: Tensor, act: Activation): Promise<Tensor> {
  const dx = Tensor.empty(y.gpu, y.shape);
  for (const r of alignedRuns(`${act} backward`, y, dy, dx)) {
    await y.gpu.run(
      { shader: 'activation', entry: 'backward', constants: { ACT: ACT[act], WG: EW_WG }, params: ACTIVATION_PARAMS },
      [
        r.buffers[0]!,
        r.buffers[1]!,
        r.buffers[2]!,
        ACTIVATION_PARAMS.pack({ count: r.count, off0: r.offsets[0]!, off1: r.offsets[1]!, off2: r.offsets[2]! }),
      ],
      groups(r.count, EW_WG),
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
