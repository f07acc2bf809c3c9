import type { Gpu } from '../../gpu/gpu.js';
import { Tensor } from '../tensor.js';
import { sigmoid } from '../ops/activation.js';
import type { ModelGeometry, SegmentationModel } from './model.js';

/**
 * Fused-head probabilities for a batch of input patches (eval mode), `output`³ per patch; `g` is
 * the geometry the patches were read for (the model's own, or its inferenceGeometry).
 */
export async function predictFused(gpu: Gpu, model: SegmentationModel, highs: Float32Array[], lows: (Float32Array | null)[], g: ModelGeometry = model.geometry): Promise<Float32Array> {
  const n = highs.length;
  const cat = (parts: Float32Array[]): Float32Array => {
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const high = Tensor.fromArray(gpu, [n, 1, g.highInput, g.highInput, g.highInput], cat(highs));
  const low = g.lowScale === 1 ? undefined : Tensor.fromArray(gpu, [n, 1, g.lowInput, g.lowInput, g.lowInput], cat(lows as Float32Array[]));
  const logits = await model.forward(low ? { high, low } : { high }, 'eval');
  high.release();
  low?.release();
  const p = await sigmoid(logits.fused);
  const out = await p.toArray();
  for (const t of [logits.low, logits.high, logits.fused, p]) t.release();
  return out;
}
