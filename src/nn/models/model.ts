import type { Tensor } from '../tensor.js';
import { Tape, type Pass } from '../tape.js';
import type { Mode, Named, Parameter } from '../layers/layer.js';

/** The three sigmoid heads, as logits: low-resolution (auxiliary), high-resolution, fused. */
export interface HeadLogits {
  low: Tensor;
  high: Tensor;
  fused: Tensor;
}

/**
 * What a model reads and writes, in full-resolution voxels (z, y, x all equal here):
 * a high-resolution patch, a low-resolution context patch read at pyramid scale `lowScale`
 * (1 = the same patch, pooled inside the network), both centred on the same point, and the
 * centred output region the fused head predicts. `lowTarget` is the region (in full-resolution
 * voxels) that the low head's logits cover, at the low head's resolution `lowTargetScale`.
 */
export interface ModelGeometry {
  highInput: number;
  lowInput: number;
  lowScale: number;
  output: number;
  highOutput: number;
  lowTarget: number;
  lowTargetScale: number;
}

export interface ModelInputs {
  high: Tensor;
  /** The context patch; models with lowScale 1 read `high` and ignore this. */
  low?: Tensor;
}

export interface SegmentationModel {
  readonly arch: string;
  readonly config: object;
  readonly geometry: ModelGeometry;
  /**
   * The geometry when run on `highInput`³ patches, for models that take patches larger than the
   * trained one (inference on bigger tiles); absent where the patch size is fixed.
   */
  inferenceGeometry?(highInput: number): ModelGeometry;
  forward(inputs: ModelInputs, mode: Mode): Promise<HeadLogits>;
  /** Gradients of the loss with respect to each head's logits; accumulates parameter grads. */
  backward(d: HeadLogits): Promise<void>;
  parameters(): Named<Parameter>[];
  /**
   * The parameters of both branches' encoders (the downsampling paths), under the names
   * parameters() gives them; `train --freeze-encoder` freezes exactly these.
   */
  encoderParameters(): Named<Parameter>[];
  state(): Named<Tensor>[];
  clear(): void;
}

/**
 * A model written as its forward only (`heads`): a training forward records on a tape, which
 * backward() runs back from the heads' gradients; an inference forward records nothing.
 */
export abstract class TapedModel {
  abstract readonly arch: string;
  private recorded: { tape: Tape; heads: HeadLogits } | null = null;

  protected abstract heads(inputs: ModelInputs, pass: Pass): Promise<HeadLogits>;

  async forward(inputs: ModelInputs, mode: Mode): Promise<HeadLogits> {
    this.clear();
    if (mode === 'eval') return this.heads(inputs, 'eval');
    const tape = new Tape();
    try {
      const heads = await this.heads(inputs, tape);
      this.recorded = { tape, heads };
      return heads;
    } catch (e) {
      tape.clear();
      throw e;
    }
  }

  /** Gradients of the loss with respect to each head's logits; accumulates parameter grads. */
  async backward(d: HeadLogits): Promise<void> {
    const r = this.recorded;
    if (!r) throw new Error(`${this.arch}.backward without a training forward (or after its backward already ran)`);
    this.recorded = null;
    await r.tape.backward([
      [r.heads.low, d.low],
      [r.heads.high, d.high],
      [r.heads.fused, d.fused],
    ]);
  }

  /** Drops what a training forward kept for a backward that will not come. */
  clear(): void {
    this.recorded?.tape.clear();
    this.recorded = null;
  }
}
