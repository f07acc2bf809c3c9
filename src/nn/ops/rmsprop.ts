import { defineParams } from '../../gpu/uniforms.js';
import { Tensor } from '../tensor.js';
import { fill } from './fill.js';
import { alignedRuns } from './runs.js';
import { groups } from './grid.js';

const OPT_WG = 256;

/** rmsprop.wgsl's parameters: offsets of param, grad, square average, momentum buffer and gradient average, then the step's constants. */
const RMSPROP_PARAMS = defineParams('Params', {
  count: 'u32',
  offP: 'u32',
  offG: 'u32',
  offS: 'u32',
  offB: 'u32',
  offA: 'u32',
  _p0: 'u32',
  _p1: 'u32',
  lr: 'f32',
  alpha: 'f32',
  oneMinusAlpha: 'f32',
  eps: 'f32',
  weightDecay: 'f32',
  momentum: 'f32',
  _p2: 'f32',
  _p3: 'f32',
});

export interface RmspropOptions {
  lr: number;
  /** Smoothing constant α. Default 0.99 (PyTorch). */
  alpha?: number;
  /** Added outside the square root. Default 1e-8. */
  eps?: number;
  weightDecay?: number;
  /** Momentum μ; 0 (default) keeps no momentum buffer. */
  momentum?: number;
  /** Normalise by the variance (s − ḡ²) rather than the raw second moment. */
  centered?: boolean;
}

/** Running square average, and the momentum buffer and gradient average when the options use them. */
export interface RmspropState {
  square: Tensor;
  momentum: Tensor | null;
  gradAvg: Tensor | null;
}

/** Zeroed state for a parameter tensor under `opts`. */
export async function rmspropState(param: Tensor, opts: Pick<RmspropOptions, 'momentum' | 'centered'> = {}): Promise<RmspropState> {
  const zeros = async (): Promise<Tensor> => {
    const t = Tensor.empty(param.gpu, param.shape);
    await fill(t, 0);
    return t;
  };
  return {
    square: await zeros(),
    momentum: (opts.momentum ?? 0) > 0 ? await zeros() : null,
    gradAvg: opts.centered ? await zeros() : null,
  };
}

/**
 * One RMSprop step in place on `param` from `grad` (PyTorch's torch.optim.RMSprop: eps outside the
 * sqrt, optional L2 decay, momentum and centring). The DESIGN's preset is lr 2.5e-4, α 0.99.
 */
export async function rmspropStep(param: Tensor, grad: Tensor, state: RmspropState, opts: RmspropOptions): Promise<void> {
  const gpu = param.gpu;
  const momentum = opts.momentum ?? 0;
  const useMomentum = momentum > 0;
  const centered = opts.centered ?? false;
  const alpha = opts.alpha ?? 0.99;
  if (useMomentum && !state.momentum) throw new RangeError('rmspropStep: momentum > 0 needs state.momentum (see rmspropState)');
  if (centered && !state.gradAvg) throw new RangeError('rmspropStep: centered needs state.gradAvg (see rmspropState)');
  const operands = [param, grad, state.square];
  if (useMomentum) operands.push(state.momentum!);
  if (centered) operands.push(state.gradAvg!);
  // Unused state slots still need a binding each (distinct: two writable bindings may not alias).
  const unusedB = useMomentum ? null : gpu.createBuffer(4, 'rmsprop unused momentum');
  const unusedA = centered ? null : gpu.createBuffer(4, 'rmsprop unused average');
  for (const r of alignedRuns('rmspropStep', ...operands)) {
    const [bp, bg, bs] = r.buffers;
    const [op, og, os] = r.offsets;
    let k = 3;
    const bBuf = useMomentum ? r.buffers[k] : unusedB;
    const bOff = useMomentum ? r.offsets[k++] : 0;
    const aBuf = centered ? r.buffers[k] : unusedA;
    const aOff = centered ? r.offsets[k] : 0;
    const u = RMSPROP_PARAMS.pack({
      count: r.count,
      offP: op!,
      offG: og!,
      offS: os!,
      offB: bOff!,
      offA: aOff!,
      lr: opts.lr,
      alpha,
      oneMinusAlpha: 1 - alpha,
      eps: opts.eps ?? 1e-8,
      weightDecay: opts.weightDecay ?? 0,
      momentum,
    });
    await gpu.run(
      { shader: 'rmsprop', constants: { WG: OPT_WG, MOMENTUM: useMomentum, CENTERED: centered }, params: RMSPROP_PARAMS },
      [bp!, bg!, bs!, bBuf!, aBuf!, u],
      groups(r.count, OPT_WG),
      'rmsprop',
    );
  }
  for (const b of [unusedA, unusedB]) if (b) gpu.release(b);
}
