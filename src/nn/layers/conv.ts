import type { Gpu } from '../../gpu/gpu.js';
import { Tensor } from '../tensor.js';
import { foldBatchNorm3d, type BatchNorm3dParams } from '../ops/batchnorm.js';
import { conv3dConcatUpsampled, type UpsampledPart } from '../ops/conv3d-concat-upsampled.js';
import { conv3d, conv3dBackwardBias, conv3dBackwardData, conv3dBackwardWeight, type ConvGeometry } from '../ops/conv3d.js';
import { fill } from '../ops/fill.js';
import { drop, type Layer, type Mode, type Named, type Parameter } from './layer.js';

/** He-uniform initial weights (PyTorch's default for conv: kaiming_uniform with a = √5). */
export function initConvWeights(cout: number, cin: number, k: number, rand: () => number): { w: Float32Array; b: Float32Array } {
  const fanIn = cin * k ** 3;
  const bound = 1 / Math.sqrt(fanIn);
  const w = Float32Array.from({ length: cout * cin * k ** 3 }, () => (rand() * 2 - 1) * bound);
  const b = Float32Array.from({ length: cout }, () => (rand() * 2 - 1) * bound);
  return { w, b };
}

export class Conv3dLayer implements Layer {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private x: Tensor | null = null;

  constructor(
    readonly gpu: Gpu,
    readonly cin: number,
    readonly cout: number,
    readonly geometry: ConvGeometry,
    rand: () => number,
    withBias = true,
  ) {
    const k = geometry.kernel;
    const init = initConvWeights(cout, cin, k, rand);
    this.weight = { value: Tensor.fromArray(gpu, [cout, cin, k, k, k], init.w), grad: null, frozen: false };
    this.bias = withBias ? { value: Tensor.fromArray(gpu, [1, 1, 1, 1, cout], init.b), grad: null, frozen: false } : null;
  }

  async forward(x: Tensor, mode: Mode): Promise<Tensor> {
    if (mode === 'train') {
      this.x = drop(this.x) ?? x.retain();
    }
    return conv3d(x, this.weight.value, this.bias?.value ?? null, this.geometry);
  }

  /**
   * Inference only: this conv, then (optionally) an inference batch norm folded into its weights
   * and bias, then (optionally) a ReLU applied as the conv writes, in one convolution pass
   * instead of three passes over the activations.
   */
  async forwardFused(x: Tensor, bn: BatchNorm3dParams | null, relu: boolean): Promise<Tensor> {
    const g = { ...this.geometry, relu };
    if (!bn) return conv3d(x, this.weight.value, this.bias?.value ?? null, g);
    const folded = await foldBatchNorm3d(this.weight.value, this.bias?.value ?? null, bn);
    const y = await conv3d(x, folded.weight, folded.bias, g);
    folded.weight.release();
    folded.bias.release();
    return y;
  }

  /**
   * Inference only: forwardFused on the channel concatenation [a, b (or its window) upsampled to
   * a's extents as `part` says], read by the convolution as it runs instead of materialised
   * (conv3dConcatUpsampled): a U-Net decoder's first conv–BN–ReLU on its skip and coarser input, or
   * the fusion head's on the high branch and the low branch's centre.
   */
  async forwardFusedConcatUpsampled(
    a: Tensor,
    b: Tensor,
    bn: BatchNorm3dParams | null,
    relu: boolean,
    part: UpsampledPart = {},
  ): Promise<Tensor> {
    const g = { ...this.geometry, relu };
    if (!bn) return conv3dConcatUpsampled(a, b, this.weight.value, this.bias?.value ?? null, g, part);
    const folded = await foldBatchNorm3d(this.weight.value, this.bias?.value ?? null, bn);
    const y = await conv3dConcatUpsampled(a, b, folded.weight, folded.bias, g, part);
    folded.weight.release();
    folded.bias.release();
    return y;
  }

  async backward(dy: Tensor): Promise<Tensor> {
    const x = this.x;
    if (!x) throw new Error('Conv3dLayer.backward without a training forward');
    for (const p of [this.weight, this.bias]) {
      if (p && !p.grad) {
        p.grad = Tensor.empty(this.gpu, p.value.shape);
        await fill(p.grad, 0);
      }
    }
    if (!this.weight.frozen) await conv3dBackwardWeight(x, dy, this.weight.grad!, this.geometry, true);
    if (this.bias && !this.bias.frozen) await conv3dBackwardBias(dy, this.bias.grad!, true);
    const dx = await conv3dBackwardData(dy, this.weight.value, x.shape, this.geometry);
    this.x = drop(this.x);
    return dx;
  }

  parameters(): Named<Parameter>[] {
    const out: Named<Parameter>[] = [{ name: 'weight', item: this.weight }];
    if (this.bias) out.push({ name: 'bias', item: this.bias });
    return out;
  }

  state(): Named<Tensor>[] {
    return [];
  }

  clear(): void {
    this.x = drop(this.x);
  }
}
