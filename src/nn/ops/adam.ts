import { defineParams } from '../../gpu/uniforms.js';
import { Tensor } from '../tensor.js';
import { fill } from './fill.js';
import { alignedRuns } from './runs.js';
import { groups } from './grid.js';

const OPT_WG = 256;

/** adam.wgsl's parameters: offsets of param, grad, m and v in their bindings, then the step's constants. */
const ADAM_PARAMS = defineParams('Params', {
  count: 'u32',
  offP: 'u32',
  offG: 'u32',
  offM: 'u32',
  offV: 'u32',
  _p0: 'u32',
  _p1: 'u32',
  _p2: 'u32',
  beta1: 'f32',
  oneMinusBeta1: 'f32',
  beta2: 'f32',
  oneMinusBeta2: 'f32',
  eps: 'f32',
  weightDecay: 'f32',
  decay: 'f32',
  stepSize: 'f32',
  sqrtBc2: 'f32',
  _p3: 'f32',
  _p4: 'f32',
  _p5: 'f32',
});

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** AdamW: decay the parameter directly (θ·(1 − lr·wd)) instead of adding wd·θ to the gradient. */
  decoupled?: boolean;
}

/** First and second moment estimates of one parameter tensor. */
export interface AdamState {
  m: Tensor;
  v: Tensor;
}

/** Zeroed moment buffers for a parameter tensor. */
export async function adamState(param: Tensor): Promise<AdamState> {
  const m = Tensor.empty(param.gpu, param.shape);
  const v = Tensor.empty(param.gpu, param.shape);
  await fill(m, 0);
  await fill(v, 0);
  return { m, v };
}

/**
 * One Adam step in place on `param` from `grad`, `step` counting from 1 (PyTorch's torch.optim.Adam,
 * bias-corrected; defaults β = (0.9, 0.999), eps 1e-8, no decay).
 */
export async function adamStep(param: Tensor, grad: Tensor, state: AdamState, step: number, opts: AdamOptions): Promise<void> {
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`adamStep: step ${step} must be an integer from 1`);
  const beta1 = opts.beta1 ?? 0.9;
  const beta2 = opts.beta2 ?? 0.999;
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  const wd = opts.weightDecay ?? 0;
  for (const r of alignedRuns('adamStep', param, grad, state.m, state.v)) {
    const [op, og, om, ov] = r.offsets;
    const u = ADAM_PARAMS.pack({
      count: r.count,
      offP: op!,
      offG: og!,
      offM: om!,
      offV: ov!,
      beta1,
      oneMinusBeta1: 1 - beta1,
      beta2,
      oneMinusBeta2: 1 - beta2,
      eps: opts.eps ?? 1e-8,
      weightDecay: wd,
      decay: 1 - opts.lr * wd,
      stepSize: opts.lr / bc1,
      sqrtBc2: Math.sqrt(bc2),
    });
    await param.gpu.run(
      { shader: 'adam', constants: { WG: OPT_WG, DECOUPLED: opts.decoupled ?? false }, params: ADAM_PARAMS },
      [...r.buffers, u],
      groups(r.count, OPT_WG),
      'adam',
    );
  }
}
