import type { Gpu } from '../../gpu/gpu.js';
import type { UpsampledPart } from '../ops/conv3d-concat-upsampled.js';
import type { Tensor } from '../tensor.js';
import { add, type Pass } from '../tape.js';
import { BatchNorm3dLayer } from './batchnorm.js';
import { Conv3dLayer } from './conv.js';
import { apply, type Block, type Layer, type Named, type Parameter, withPrefix } from './layer.js';
import { MaxPoolLayer, ReLULayer, UpsampleLayer } from './simple.js';

/** Layers applied in order. Names are the layers' indices, as torch's nn.Sequential. */
export class Sequential implements Block {
  constructor(readonly layers: (Layer | Block)[]) {}

  async forward(x: Tensor, pass: Pass): Promise<Tensor> {
    return this.run(x, 0, pass);
  }

  /**
   * Inference only: forward on the channel concatenation [a, b (or its window) upsampled to a's
   * extents as `part` says: nearest by default] (a U-Net decoder's input, the fusion head's), which
   * the first conv, with the batch norm and ReLU after it folded in, reads directly
   * (Conv3dLayer.forwardFusedConcatUpsampled) instead of both being materialised. The caller keeps
   * a and b.
   */
  async forwardConcatUpsampled(a: Tensor, b: Tensor, part: UpsampledPart = {}): Promise<Tensor> {
    const first = this.layers[0];
    if (!(first instanceof Conv3dLayer)) throw new Error('Sequential.forwardConcatUpsampled: the first layer is not a conv');
    const tail = fusedTail(this.layers, 1);
    const h = await first.forwardFusedConcatUpsampled(a, b, tail?.bn?.params ?? null, tail?.relu ?? false, part);
    const y = await this.run(h, 1 + (tail?.length ?? 0), 'eval');
    h.release();
    return y;
  }

  /** The layers from `start` on, applied to x (which the caller keeps). */
  private async run(x: Tensor, start: number, pass: Pass): Promise<Tensor> {
    let h = x;
    for (let i = start; i < this.layers.length;) {
      const l = this.layers[i]!;
      let next: Tensor;
      const fusable = pass === 'eval' && l instanceof Conv3dLayer ? fusedTail(this.layers, i + 1) : null;
      if (fusable) {
        next = await (l as Conv3dLayer).forwardFused(h, fusable.bn?.params ?? null, fusable.relu);
        i += 1 + fusable.length;
      } else {
        next = await apply(l, h, pass);
        i++;
      }
      if (h !== x) h.release();
      h = next;
    }
    return h === x ? x.retain() : h;
  }

  parameters(): Named<Parameter>[] {
    return this.layers.flatMap((l, i) => withPrefix(String(i), l.parameters()));
  }

  state(): Named<Tensor>[] {
    return this.layers.flatMap((l, i) => withPrefix(String(i), l.state()));
  }
}

/**
 * The batch norm and/or ReLU right after a conv at `layers[i]`, which inference folds into the
 * conv (Conv3dLayer.forwardFused); null when neither follows.
 */
function fusedTail(layers: (Layer | Block)[], i: number): { bn: BatchNorm3dLayer | null; relu: boolean; length: number } | null {
  const bn = layers[i] instanceof BatchNorm3dLayer ? (layers[i] as BatchNorm3dLayer) : null;
  const relu = layers[i + (bn ? 1 : 0)] instanceof ReLULayer;
  const length = (bn ? 1 : 0) + (relu ? 1 : 0);
  return length > 0 ? { bn, relu, length } : null;
}

/** y = main(x) + skip(x), skip the identity when absent. */
export class Residual implements Block {
  constructor(
    readonly main: Layer | Block,
    readonly skip: Layer | Block | null,
  ) {}

  async forward(x: Tensor, pass: Pass): Promise<Tensor> {
    const m = await apply(this.main, x, pass);
    const s = this.skip ? await apply(this.skip, x, pass) : x.retain();
    const y = await add(m, s, pass);
    m.release();
    s.release();
    return y;
  }

  parameters(): Named<Parameter>[] {
    return [...withPrefix('main', this.main.parameters()), ...(this.skip ? withPrefix('skip', this.skip.parameters()) : [])];
  }

  state(): Named<Tensor>[] {
    return [...withPrefix('main', this.main.state()), ...(this.skip ? withPrefix('skip', this.skip.state()) : [])];
  }
}

/**
 * The pre-activation residual bottleneck of the paper's code (after Newell's hourglass):
 * BN-ReLU-conv1(cin→cout/2)-BN-ReLU-conv3(cout/2→cout/2)-BN-ReLU-conv1(cout/2→cout), plus the input,
 * through a 1³ conv when the channel counts differ.
 */
export function bottleneck(gpu: Gpu, cin: number, cout: number, rand: () => number): Residual {
  const mid = Math.max(1, Math.floor(cout / 2));
  const c1 = { kernel: 1, stride: 1, padding: 0 };
  const main = new Sequential([
    new BatchNorm3dLayer(gpu, cin),
    new ReLULayer(),
    new Conv3dLayer(gpu, cin, mid, c1, rand),
    new BatchNorm3dLayer(gpu, mid),
    new ReLULayer(),
    new Conv3dLayer(gpu, mid, mid, { kernel: 3, stride: 1, padding: 1 }, rand),
    new BatchNorm3dLayer(gpu, mid),
    new ReLULayer(),
    new Conv3dLayer(gpu, mid, cout, c1, rand),
  ]);
  return new Residual(main, cin === cout ? null : new Conv3dLayer(gpu, cin, cout, c1, rand));
}

/**
 * An hourglass of `depth` levels at `f` channels: a residual at this scale plus, through a 2×
 * max-pool, residual → inner hourglass (or residual at the bottom) → residual → 2× nearest
 * upsampling; the two are added.
 */
export class Hourglass implements Block {
  readonly up: Block;
  readonly low: Sequential;

  constructor(gpu: Gpu, depth: number, f: number, rand: () => number) {
    this.up = bottleneck(gpu, f, f, rand);
    const inner: Block = depth > 1 ? new Hourglass(gpu, depth - 1, f, rand) : bottleneck(gpu, f, f, rand);
    this.low = new Sequential([
      new MaxPoolLayer(gpu),
      bottleneck(gpu, f, f, rand),
      inner,
      bottleneck(gpu, f, f, rand),
      new UpsampleLayer(2, 'nearest'),
    ]);
  }

  async forward(x: Tensor, pass: Pass): Promise<Tensor> {
    const a = await this.up.forward(x, pass);
    const b = await this.low.forward(x, pass);
    const y = await add(a, b, pass);
    a.release();
    b.release();
    return y;
  }

  parameters(): Named<Parameter>[] {
    return [...withPrefix('up', this.up.parameters()), ...withPrefix('low', this.low.parameters())];
  }

  state(): Named<Tensor>[] {
    return [...withPrefix('up', this.up.state()), ...withPrefix('low', this.low.state())];
  }
}
