import type { Tensor } from '../tensor.js';
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
