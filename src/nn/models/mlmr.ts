import type { Gpu } from '../../gpu/gpu.js';
import type { Tensor } from '../tensor.js';
import { concat, crop, upsample, type Pass } from '../tape.js';
import { BatchNorm3dLayer } from '../layers/batchnorm.js';
import { Sequential, Hourglass, bottleneck } from '../layers/containers.js';
import { Conv3dLayer } from '../layers/conv.js';
import { apply, type Block, type Layer, type Named, type Parameter, parametersOf, withPrefix } from '../layers/layer.js';
import { MaxPoolLayer, ReLULayer } from '../layers/simple.js';
import { TapedModel, type HeadLogits, type ModelGeometry, type ModelInputs, type SegmentationModel } from './model.js';

/**
 * The network of Soltaninejad et al. (IEEE TIP 2020) as its published Torch7 code builds it, with
 * sizes as configuration: `patch`³ input; a low-resolution branch of residual bottlenecks over
 * `lowChannels` with a 2× max-pool after each but the last (8× down for four widths), then an
 * hourglass; a high-resolution branch on the centre (patch/8)³ crop; both `features` wide, fused by
 * concatenation (the low branch's centre cells upsampled back) and 1³ convolutions.
 */
export interface MlmrConfig {
  arch: 'mlmr';
  patch: number;
  lowChannels: number[];
  features: number;
  hourglassDepth: number;
}

export const MLMR_PAPER: MlmrConfig = { arch: 'mlmr', patch: 128, lowChannels: [16, 32, 64, 128], features: 128, hourglassDepth: 4 };

const C1 = { kernel: 1, stride: 1, padding: 0 };

export class MlmrModel extends TapedModel implements SegmentationModel {
  readonly arch = 'mlmr';
  readonly geometry: ModelGeometry;
  readonly low: Sequential;
  readonly lowHead: Conv3dLayer;
  readonly high: Sequential;
  readonly highHead: Conv3dLayer;
  readonly fuse: Sequential;
  private readonly down: number;

  constructor(readonly gpu: Gpu, readonly config: MlmrConfig, rand: () => number) {
    super();
    const { patch, lowChannels: ch, features: f, hourglassDepth } = config;
    this.down = 2 ** (ch.length - 1);
    const centre = patch / this.down;
    if (!Number.isInteger(centre) || centre % 2 ** hourglassDepth !== 0) {
      throw new RangeError(`mlmr: patch ${patch} / ${this.down} = ${centre} must be a whole multiple of 2^hourglassDepth (${2 ** hourglassDepth})`);
    }
    if (ch[ch.length - 1] !== f) throw new RangeError(`mlmr: the last low-branch width (${ch[ch.length - 1]}) must equal features (${f})`);
    const lowLayers: (Layer | Block)[] = [];
    let cin = 1;
    ch.forEach((c, i) => {
      lowLayers.push(bottleneck(gpu, cin, c, rand));
      if (i < ch.length - 1) lowLayers.push(new MaxPoolLayer(gpu));
      cin = c;
    });
    lowLayers.push(new Hourglass(gpu, hourglassDepth, f, rand));
    this.low = new Sequential(lowLayers);
    this.lowHead = new Conv3dLayer(gpu, f, 1, C1, rand);
    this.high = new Sequential([bottleneck(gpu, 1, ch[0]!, rand), bottleneck(gpu, ch[0]!, f, rand), new Hourglass(gpu, hourglassDepth, f, rand), bottleneck(gpu, f, f, rand)]);
    this.highHead = new Conv3dLayer(gpu, f, 1, C1, rand);
    this.fuse = new Sequential([new Conv3dLayer(gpu, 2 * f, f, C1, rand), new BatchNorm3dLayer(gpu, f), new ReLULayer(), new Conv3dLayer(gpu, f, 1, C1, rand)]);
    this.geometry = { highInput: patch, lowInput: patch, lowScale: 1, output: centre, highOutput: centre, lowTarget: patch, lowTargetScale: 1 };
  }

  protected async heads(inputs: ModelInputs, pass: Pass): Promise<HeadLogits> {
    const x = inputs.high;
    const p = this.config.patch;
    if (x.c !== 1 || x.d !== p || x.h !== p || x.w !== p) throw new RangeError(`mlmr: input must be [N, 1, ${p}, ${p}, ${p}], got [${x.shape.join(', ')}]`);
    const centre = p / this.down;
    const lowFeat = await this.low.forward(x, pass);
    const lowLogitsSmall = await apply(this.lowHead, lowFeat, pass);
    // The auxiliary head's logits are upsampled (trilinear) to the patch, then the loss applies the sigmoid.
    const low = await upsample(lowLogitsSmall, this.down, 'trilinear', pass);
    lowLogitsSmall.release();
    const xCentre = await crop(x, [centre, centre, centre], pass);
    const highFeat = await this.high.forward(xCentre, pass);
    xCentre.release();
    const high = await apply(this.highHead, highFeat, pass);
    const cells = centre / this.down;
    const lowCells = await crop(lowFeat, [cells, cells, cells], pass);
    lowFeat.release();
    const lowUp = await upsample(lowCells, this.down, 'nearest', pass);
    lowCells.release();
    const cat = await concat([highFeat, lowUp], pass);
    highFeat.release();
    lowUp.release();
    const fused = await this.fuse.forward(cat, pass);
    cat.release();
    return { low, high, fused };
  }

  parameters(): Named<Parameter>[] {
    return [
      ...withPrefix('low', this.low.parameters()),
      ...withPrefix('low_head', this.lowHead.parameters()),
      ...withPrefix('high', this.high.parameters()),
      ...withPrefix('high_head', this.highHead.parameters()),
      ...withPrefix('fuse', this.fuse.parameters()),
    ];
  }

  /**
   * What each branch runs before its hourglass: the low branch's residual bottlenecks and
   * max-pools (8× down), the high branch's two bottlenecks (1→16→128). The hourglasses (each an
   * encoder-decoder of its own), the last high bottleneck, the heads and the fusion are not.
   */
  encoderParameters(): Named<Parameter>[] {
    const beforeHourglass = (s: Sequential): (Layer | Block)[] => s.layers.slice(0, s.layers.findIndex((l) => l instanceof Hourglass));
    return parametersOf(this.parameters(), [...beforeHourglass(this.low), ...beforeHourglass(this.high)]);
  }

  state(): Named<Tensor>[] {
    return [...withPrefix('low', this.low.state()), ...withPrefix('high', this.high.state()), ...withPrefix('fuse', this.fuse.state())];
  }
}
