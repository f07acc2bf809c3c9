import type { Gpu } from '../../gpu/gpu.js';
import type { Tensor } from '../tensor.js';
import { centreOffset } from '../ops/crop.js';
import { concat, crop, upsample, type Pass } from '../tape.js';
import { BatchNorm3dLayer } from '../layers/batchnorm.js';
import { Sequential } from '../layers/containers.js';
import { Conv3dLayer } from '../layers/conv.js';
import { apply, type Block, type Layer, type Named, type Parameter, parametersOf, withPrefix } from '../layers/layer.js';
import { MaxPoolLayer, ReLULayer } from '../layers/simple.js';
import { TapedModel, type HeadLogits, type ModelGeometry, type ModelInputs, type SegmentationModel } from './model.js';

/**
 * rhizoct's default: the paper's two resolutions, arranged so that every voxel of the patch gets a
 * prediction. A full-resolution U-Net over `patch`³ (widths per level, 2× max-pool between levels,
 * nearest upsampling and skip concatenation on the way up) and a low-resolution encoder-decoder
 * over `lowPatch`³ voxels of pyramid scale `lowScale` (so it sees lowPatch·lowScale full-resolution
 * voxels, several times the high-resolution field of view), fused by concatenating the low
 * branch's centre upsampled trilinearly onto the high branch's output, then 1³ conv+BN+ReLU and a
 * 1³ conv. Three heads as the paper: low (at its own scale), high, fused.
 */
export interface DualConfig {
  arch: 'dual';
  patch: number;
  widths: number[];
  lowScale: number;
  lowPatch: number;
  lowWidths: number[];
}

export const DUAL_DEFAULT: DualConfig = { arch: 'dual', patch: 48, widths: [8, 16, 32], lowScale: 4, lowPatch: 24, lowWidths: [8, 16] };

const C1 = { kernel: 1, stride: 1, padding: 0 };
const C3 = { kernel: 3, stride: 1, padding: 1 };

function convBnRelu(gpu: Gpu, cin: number, cout: number, rand: () => number): Layer[] {
  return [new Conv3dLayer(gpu, cin, cout, C3, rand, false), new BatchNorm3dLayer(gpu, cout), new ReLULayer()];
}

function doubleConv(gpu: Gpu, cin: number, cout: number, rand: () => number): Sequential {
  return new Sequential([...convBnRelu(gpu, cin, cout, rand), ...convBnRelu(gpu, cout, cout, rand)]);
}

/** A U-Net body: output has widths[0] channels at the input's size. */
export class UNet implements Block {
  readonly enc: Sequential[];
  readonly pools: MaxPoolLayer[];
  readonly dec: Sequential[];

  constructor(gpu: Gpu, cin: number, readonly widths: number[], rand: () => number) {
    this.enc = widths.map((w, i) => doubleConv(gpu, i === 0 ? cin : widths[i - 1]!, w, rand));
    this.pools = widths.slice(1).map(() => new MaxPoolLayer(gpu));
    this.dec = widths.slice(0, -1).map((w, i) => doubleConv(gpu, w + widths[i + 1]!, w, rand));
  }

  async forward(x: Tensor, pass: Pass): Promise<Tensor> {
    const levels = this.widths.length;
    const skips: Tensor[] = [];
    let h = await this.enc[0]!.forward(x, pass);
    for (let i = 1; i < levels; i++) {
      skips.push(h);
      const p = await apply(this.pools[i - 1]!, h, pass);
      h = await this.enc[i]!.forward(p, pass);
      p.release();
    }
    for (let i = levels - 2; i >= 0; i--) {
      if (pass === 'eval') {
        // Inference: the decoder's first conv reads [skip, h upsampled] directly, neither materialised.
        const next = await this.dec[i]!.forwardConcatUpsampled(skips[i]!, h);
        h.release();
        skips[i]!.release();
        h = next;
        continue;
      }
      const up = await upsample(h, 2, 'nearest', pass);
      h.release();
      const cat = await concat([skips[i]!, up], pass);
      up.release();
      skips[i]!.release();
      h = await this.dec[i]!.forward(cat, pass);
      cat.release();
    }
    return h;
  }

  parameters(): Named<Parameter>[] {
    return [...this.enc.flatMap((l, i) => withPrefix(`enc${i}`, l.parameters())), ...this.dec.flatMap((l, i) => withPrefix(`dec${i}`, l.parameters()))];
  }

  state(): Named<Tensor>[] {
    return [...this.enc.flatMap((l, i) => withPrefix(`enc${i}`, l.state())), ...this.dec.flatMap((l, i) => withPrefix(`dec${i}`, l.state()))];
  }
}

/** Patch and target sizes of a dual model (known from its config alone, without building it). */
export function dualGeometry(c: DualConfig): ModelGeometry {
  return { highInput: c.patch, lowInput: c.lowPatch, lowScale: c.lowScale, output: c.patch, highOutput: c.patch, lowTarget: c.lowPatch * c.lowScale, lowTargetScale: c.lowScale };
}

/**
 * Both branches are fully convolutional, so the network also runs on a larger high-resolution
 * patch (inference on bigger tiles computes less of the overlap between tiles). The context patch
 * grows with it, keeping the trained context margin around the centre that the fusion upsamples:
 * lowInput = highInput/lowScale + (lowPatch − patch/lowScale). Throws where the sizes do not fit
 * the pooling levels or the low-resolution scale.
 */
export function dualGeometryFor(c: DualConfig, highInput: number): ModelGeometry {
  const div = 2 ** (c.widths.length - 1);
  const lowDiv = 2 ** (c.lowWidths.length - 1);
  const lowInput = highInput / c.lowScale + (c.lowPatch - c.patch / c.lowScale);
  if (!Number.isInteger(highInput) || highInput < c.patch || highInput % div !== 0 || highInput % c.lowScale !== 0 || lowInput % lowDiv !== 0) {
    throw new RangeError(`dual: a ${highInput}³ patch does not fit this network (at least ${c.patch}, a multiple of ${div} and of lowScale ${c.lowScale}, with a context of ${lowInput} a multiple of ${lowDiv})`);
  }
  return { highInput, lowInput, lowScale: c.lowScale, output: highInput, highOutput: highInput, lowTarget: lowInput * c.lowScale, lowTargetScale: c.lowScale };
}

export class DualModel extends TapedModel implements SegmentationModel {
  readonly arch = 'dual';
  readonly geometry: ModelGeometry;
  readonly high: UNet;
  readonly low: UNet;
  readonly highHead: Conv3dLayer;
  readonly lowHead: Conv3dLayer;
  readonly fuse: Sequential;

  constructor(readonly gpu: Gpu, readonly config: DualConfig, rand: () => number) {
    super();
    const { patch, widths, lowScale, lowPatch, lowWidths } = config;
    const div = 2 ** (widths.length - 1);
    if (patch % div !== 0) throw new RangeError(`dual: patch ${patch} must be a multiple of ${div}`);
    if (lowPatch % 2 ** (lowWidths.length - 1) !== 0) throw new RangeError(`dual: lowPatch ${lowPatch} must be a multiple of ${2 ** (lowWidths.length - 1)}`);
    if (patch % lowScale !== 0 || patch / lowScale > lowPatch) throw new RangeError(`dual: patch ${patch} must be a multiple of lowScale ${lowScale} and fit inside lowPatch·lowScale`);
    this.high = new UNet(gpu, 1, widths, rand);
    this.low = new UNet(gpu, 1, lowWidths, rand);
    this.highHead = new Conv3dLayer(gpu, widths[0]!, 1, C1, rand);
    this.lowHead = new Conv3dLayer(gpu, lowWidths[0]!, 1, C1, rand);
    this.fuse = new Sequential([new Conv3dLayer(gpu, widths[0]! + lowWidths[0]!, widths[0]!, C1, rand, false), new BatchNorm3dLayer(gpu, widths[0]!), new ReLULayer(), new Conv3dLayer(gpu, widths[0]!, 1, C1, rand)]);
    this.geometry = dualGeometry(config);
  }

  protected async heads(inputs: ModelInputs, pass: Pass): Promise<HeadLogits> {
    const { lowScale } = this.config;
    const x = inputs.high;
    const xl = inputs.low;
    if (!xl) throw new Error('dual: needs a low-resolution context patch');
    const patch = x.d;
    const { lowInput: lowPatch } = this.inferenceGeometry(patch);
    if (x.c !== 1 || x.h !== patch || x.w !== patch) throw new RangeError(`dual: high input must be [N, 1, P, P, P], got [${x.shape.join(', ')}]`);
    if (xl.c !== 1 || xl.d !== lowPatch || xl.h !== lowPatch || xl.w !== lowPatch) throw new RangeError(`dual: low input must be [N, 1, ${lowPatch}³] beside a ${patch}³ patch, got [${xl.shape.join(', ')}]`);
    const hf = await this.high.forward(x, pass);
    const lf = await this.low.forward(xl, pass);
    const high = await apply(this.highHead, hf, pass);
    const low = await apply(this.lowHead, lf, pass);
    const c = patch / lowScale;
    if (pass === 'eval') {
      // Inference: the fusion's first conv reads [hf, lf's centre upsampled] directly, neither materialised.
      const window = { offset: centreOffset([lf.d, lf.h, lf.w], [c, c, c]), size: [c, c, c] as const };
      const fused = await this.fuse.forwardConcatUpsampled(hf, lf, { mode: 'trilinear', window });
      lf.release();
      hf.release();
      return { low, high, fused };
    }
    const centre = await crop(lf, [c, c, c], pass);
    lf.release();
    const up = await upsample(centre, lowScale, 'trilinear', pass);
    centre.release();
    const cat = await concat([hf, up], pass);
    up.release();
    hf.release();
    const fused = await this.fuse.forward(cat, pass);
    cat.release();
    return { low, high, fused };
  }

  /** The geometry of a run on `highInput`³ patches (dualGeometryFor); `geometry` is the trained one. */
  inferenceGeometry(highInput: number): ModelGeometry {
    return highInput === this.config.patch ? this.geometry : dualGeometryFor(this.config, highInput);
  }

  parameters(): Named<Parameter>[] {
    return [
      ...withPrefix('high', this.high.parameters()),
      ...withPrefix('high_head', this.highHead.parameters()),
      ...withPrefix('low', this.low.parameters()),
      ...withPrefix('low_head', this.lowHead.parameters()),
      ...withPrefix('fuse', this.fuse.parameters()),
    ];
  }

  /** Each U-Net's encoder levels (enc0…); their decoders, the heads and the fusion are not. */
  encoderParameters(): Named<Parameter>[] {
    return parametersOf(this.parameters(), [...this.high.enc, ...this.low.enc]);
  }

  state(): Named<Tensor>[] {
    return [...withPrefix('high', this.high.state()), ...withPrefix('low', this.low.state()), ...withPrefix('fuse', this.fuse.state())];
  }
}
