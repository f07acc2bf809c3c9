import { GpuError } from '../../gpu/errors.js';
import { Tensor, shapeStr } from '../tensor.js';

/**
 * For ops whose samples are independent (or summed over samples): a tensor split over several
 * bindings is handled one sample at a time, each sample gathered into one binding. Used where a
 * kernel needs whole tensors, e.g. the paper's network at batch 2 on a 128 MiB-binding device.
 */
export function sampleOf(t: Tensor, n: number): Tensor {
  const [, c, d, h, w] = t.shape;
  const one = Tensor.empty(t.gpu, [1, c, d, h, w]);
  if (one.isSplit) {
    one.release();
    throw new GpuError(
      'too-large',
      `one sample of ${shapeStr(t.shape)} (${((c * d * h * w * 4) / 2 ** 20).toFixed(1)} MiB) exceeds one storage binding`,
    );
  }
  t.copyPlanesTo(n * c * d, c * d, one.buffer, 0);
  return one;
}

/** Writes a [1, C, D, H, W] tensor into sample n of `dst`. */
export function writeSample(dst: Tensor, n: number, one: Tensor): void {
  const [, c, d] = dst.shape;
  dst.copyPlanesFrom(one.buffer, 0, n * c * d, c * d);
}

/** True when an op over these shapes must go sample by sample. */
export function needsPerSample(gpu: { maxBinding: number }, ...shapes: (readonly number[])[]): boolean {
  return shapes.some((s) => s.reduce((a, b) => a * b, 1) * 4 > gpu.maxBinding);
}
