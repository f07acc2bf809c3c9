import type { Gpu } from '../../gpu/gpu.js';
import { Tensor } from '../tensor.js';
import {
  batchNorm3dBackward,
  batchNorm3dInference,
  batchNorm3dTrain,
  type BatchNorm3dParams,
  type BatchNormSaved,
} from '../ops/batchnorm.js';
import { fill } from '../ops/fill.js';
import { drop, type Layer, type Mode, type Named, type Parameter } from './layer.js';

/** Every batch-norm layer reachable from `root` (models and containers hold them as fields). */
export function findBatchNorms(root: object): BatchNorm3dLayer[] {
  const found: BatchNorm3dLayer[] = [];
  const seen = new Set<object>();
  const walk = (o: unknown): void => {
    if (typeof o !== 'object' || o === null || seen.has(o) || o instanceof Tensor || ArrayBuffer.isView(o)) return;
    seen.add(o);
    if (o instanceof BatchNorm3dLayer) {
      found.push(o);
      return;
    }
    if ('device' in o && 'pool' in o) return; // the Gpu
    for (const v of Array.isArray(o) ? o : Object.values(o)) walk(v);
  };
  walk(root);
  return found;
}

export class BatchNorm3dLayer implements Layer {
  readonly gamma: Parameter;
  readonly beta: Parameter;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  private x: Tensor | null = null;
  private saved: BatchNormSaved | null = null;

  /** Weight of the newest batch in the running statistics (PyTorch's momentum); calibration sets 1/k. */
  momentum: number;

  constructor(
    readonly gpu: Gpu,
    readonly channels: number,
    readonly eps = 1e-5,
    momentum = 0.1,
  ) {
    this.momentum = momentum;
    const v = (value: number): Tensor => Tensor.fromArray(gpu, [1, 1, 1, 1, channels], new Float32Array(channels).fill(value));
    this.gamma = { value: v(1), grad: null, frozen: false };
    this.beta = { value: v(0), grad: null, frozen: false };
    this.runningMean = v(0);
    this.runningVar = v(1);
  }

  get params(): BatchNorm3dParams {
    return {
      gamma: this.gamma.value,
      beta: this.beta.value,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      eps: this.eps,
      momentum: this.momentum,
    };
  }

  async forward(x: Tensor, mode: Mode): Promise<Tensor> {
    if (mode === 'eval') return batchNorm3dInference(x, this.params);
    this.clear();
    const { y, saved } = await batchNorm3dTrain(x, this.params);
    this.x = x.retain();
    this.saved = saved;
    return y;
  }

  async backward(dy: Tensor): Promise<Tensor> {
    if (!this.x || !this.saved) throw new Error('BatchNorm3dLayer.backward without a training forward');
    for (const p of [this.gamma, this.beta]) {
      if (!p.grad) {
        p.grad = Tensor.empty(this.gpu, p.value.shape);
        await fill(p.grad, 0);
      }
    }
    const frozen = this.gamma.frozen && this.beta.frozen;
    // A frozen layer still passes dX; its dγ/dβ go to scratch tensors that are dropped.
    const scratch = frozen
      ? { dgamma: Tensor.empty(this.gpu, this.gamma.value.shape), dbeta: Tensor.empty(this.gpu, this.beta.value.shape) }
      : null;
    const dx = await batchNorm3dBackward(
      dy,
      this.x,
      this.params,
      this.saved,
      scratch ?? { dgamma: this.gamma.grad!, dbeta: this.beta.grad! },
      !frozen,
    );
    scratch?.dgamma.release();
    scratch?.dbeta.release();
    this.clear();
    return dx;
  }

  parameters(): Named<Parameter>[] {
    return [
      { name: 'weight', item: this.gamma },
      { name: 'bias', item: this.beta },
    ];
  }

  state(): Named<Tensor>[] {
    return [
      { name: 'running_mean', item: this.runningMean },
      { name: 'running_var', item: this.runningVar },
    ];
  }

  clear(): void {
    this.x = drop(this.x);
    if (this.saved) {
      this.saved.mean.release();
      this.saved.invstd.release();
      this.saved = null;
    }
  }
}
