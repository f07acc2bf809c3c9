import { uniforms } from '../../gpu/uniforms.js';
import { Tensor } from '../tensor.js';
import { fill } from './fill.js';
import { alignedRuns } from './runs.js';
import { groups } from './grid.js';

const OPT_WG = 256;

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
    const u = uniforms(
      r.count, op!, og!, om!, ov!, 0, 0, 0,
      { f32: beta1 }, { f32: 1 - beta1 }, { f32: beta2 }, { f32: 1 - beta2 },
      { f32: opts.eps ?? 1e-8 }, { f32: wd }, { f32: 1 - opts.lr * wd }, { f32: opts.lr / bc1 },
      { f32: Math.sqrt(bc2) }, { f32: 0 }, { f32: 0 }, { f32: 0 },
    );
    await param.gpu.run({ shader: 'adam', constants: { WG: OPT_WG, DECOUPLED: opts.decoupled ?? false } }, [...r.buffers, u], groups(r.count, OPT_WG), 'adam');
  }
}
