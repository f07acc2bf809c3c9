import type { Gpu } from '../../gpu/gpu.js';
import type { Shape5, Tensor } from '../tensor.js';
import { relu, reluBackward, sigmoid, sigmoidBackward } from '../ops/activation.js';
import { maxPool3d, maxPool3dBackward } from '../ops/maxpool.js';
import { upsample3d, upsample3dBackward, type UpsampleMode } from '../ops/upsample.js';
import { drop, type Layer, type Mode, type Named, type Parameter } from './layer.js';

abstract class Stateless implements Layer {
  abstract forward(x: Tensor, mode: Mode): Promise<Tensor>;
  abstract backward(dy: Tensor): Promise<Tensor>;
  parameters(): Named<Parameter>[] {
    return [];
  }
  state(): Named<Tensor>[] {
    return [];
  }
  abstract clear(): void;
}

export class ReLULayer extends Stateless {
  private y: Tensor | null = null;
  async forward(x: Tensor, mode: Mode): Promise<Tensor> {
    const y = await relu(x);
    if (mode === 'train') this.y = drop(this.y) ?? y.retain();
    return y;
  }
  async backward(dy: Tensor): Promise<Tensor> {
    if (!this.y) throw new Error('ReLULayer.backward without a training forward');
    const dx = await reluBackward(this.y, dy);
    this.clear();
    return dx;
  }
  clear(): void {
    this.y = drop(this.y);
  }
}

export class SigmoidLayer extends Stateless {
  private y: Tensor | null = null;
  async forward(x: Tensor, mode: Mode): Promise<Tensor> {
    const y = await sigmoid(x);
    if (mode === 'train') this.y = drop(this.y) ?? y.retain();
    return y;
  }
  async backward(dy: Tensor): Promise<Tensor> {
    if (!this.y) throw new Error('SigmoidLayer.backward without a training forward');
    const dx = await sigmoidBackward(this.y, dy);
    this.clear();
    return dx;
  }
  clear(): void {
    this.y = drop(this.y);
  }
}

export class MaxPoolLayer extends Stateless {
  private argmax: GPUBuffer | null = null;
  private xShape: Shape5 | null = null;
  constructor(private readonly gpu: Gpu) {
    super();
  }
  async forward(x: Tensor, mode: Mode): Promise<Tensor> {
    const { y, argmax } = await maxPool3d(x);
    this.clear();
    if (mode === 'train') {
      this.argmax = argmax;
      this.xShape = x.shape;
    } else {
      this.gpu.release(argmax);
    }
    return y;
  }
  async backward(dy: Tensor): Promise<Tensor> {
    if (!this.argmax || !this.xShape) throw new Error('MaxPoolLayer.backward without a training forward');
    const dx = await maxPool3dBackward(dy, this.argmax, this.xShape);
    this.clear();
    return dx;
  }
  clear(): void {
    if (this.argmax) this.gpu.release(this.argmax);
    this.argmax = null;
  }
}

export class UpsampleLayer extends Stateless {
  private xShape: Shape5 | null = null;
  constructor(
    readonly factor: number,
    readonly mode: UpsampleMode,
  ) {
    super();
  }
  async forward(x: Tensor, mode: Mode): Promise<Tensor> {
    if (mode === 'train') this.xShape = x.shape;
    return upsample3d(x, this.factor, this.mode);
  }
  async backward(dy: Tensor): Promise<Tensor> {
    if (!this.xShape) throw new Error('UpsampleLayer.backward without a training forward');
    const dx = await upsample3dBackward(dy, this.xShape, this.factor, this.mode);
    this.xShape = null;
    return dx;
  }
  clear(): void {
    this.xShape = null;
  }
}
