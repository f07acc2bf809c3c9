import { defineParams, type PackedParams } from '../../gpu/uniforms.js';
import { Tensor, shapeStr, type Shape5 } from '../tensor.js';
import { needsPerSample, sampleOf, writeSample } from './per-sample.js';
import { groups, WG } from './grid.js';

/** Output of a 2× max-pool: the pooled tensor and, per output, where its maximum was. */
export interface MaxPoolResult {
  y: Tensor;
  /**
   * One u32 per output of `y`: the maximum's position in its 2×2×2 window, (kd·2 + kh)·2 + kw.
   * A pooled buffer owned by the caller: give it back with `gpu.release` after the backward pass.
   */
  argmax: GPUBuffer;
}

export function maxPoolOutShape(s: Shape5): Shape5 {
  return [s[0], s[1], Math.floor(s[2] / 2), Math.floor(s[3] / 2), Math.floor(s[4] / 2)];
}

/** maxpool.wgsl's parameters (entries forward and backward): N·C planes, input and output extents, invocations. */
const MAXPOOL_PARAMS = defineParams('Params', {
  planes: 'u32',
  inD: 'u32',
  inH: 'u32',
  inW: 'u32',
  outD: 'u32',
  outH: 'u32',
  outW: 'u32',
  total: 'u32',
});

function params(inShape: Shape5, outShape: Shape5, total: number): PackedParams {
  return MAXPOOL_PARAMS.pack({
    planes: inShape[0] * inShape[1],
    inD: inShape[2],
    inH: inShape[3],
    inW: inShape[4],
    outD: outShape[2],
    outH: outShape[3],
    outW: outShape[4],
    total,
  });
}

/**
 * Max-pool with kernel 2 and stride 2 over D, H and W (PyTorch's MaxPool3d(2)); odd extents floor.
 * Records the argmax for `maxPool3dBackward`. Tensors split over bindings go sample by sample.
 */
export async function maxPool3d(x: Tensor): Promise<MaxPoolResult> {
  const outShape = maxPoolOutShape(x.shape);
  if (outShape.some((v) => v < 1)) throw new RangeError(`maxPool3d: input ${shapeStr(x.shape)} has a spatial extent below 2`);
  const gpu = x.gpu;
  if (x.n > 1 && (x.isSplit || needsPerSample(gpu, outShape))) {
    const y = Tensor.empty(gpu, outShape);
    const per = y.size / x.n;
    const argmax = gpu.createBuffer(y.size * 4, 'maxpool argmax');
    for (let n = 0; n < x.n; n++) {
      const xn = sampleOf(x, n);
      const r = await maxPool3d(xn);
      writeSample(y, n, r.y);
      gpu.copy(r.argmax, 0, argmax, n * per * 4, per * 4);
      gpu.flush();
      xn.release();
      r.y.release();
      gpu.release(r.argmax);
    }
    return { y, argmax };
  }
  const y = Tensor.empty(gpu, outShape);
  const argmax = gpu.createBuffer(y.size * 4, 'maxpool argmax');
  await gpu.run(
    { shader: 'maxpool', entry: 'forward', constants: { WG }, params: MAXPOOL_PARAMS },
    [x.buffer, y.buffer, argmax, params(x.shape, outShape, y.size)],
    groups(y.size, WG),
    'maxpool',
  );
  return { y, argmax };
}

/** Routes dy (the pooled shape) back to the input shape `xShape` by the recorded argmax. */
export async function maxPool3dBackward(dy: Tensor, argmax: GPUBuffer, xShape: Shape5): Promise<Tensor> {
  const outShape = maxPoolOutShape(xShape);
  if (dy.shape.some((v, i) => v !== outShape[i]))
    throw new RangeError(
      `maxPool3dBackward: dy ${shapeStr(dy.shape)} does not match the pooled shape ${shapeStr(outShape)} of ${shapeStr(xShape)}`,
    );
  const gpu = dy.gpu;
  if (xShape[0] > 1 && (dy.isSplit || needsPerSample(gpu, xShape))) {
    const dx = Tensor.empty(gpu, xShape);
    const per = dy.size / xShape[0];
    const one: Shape5 = [1, xShape[1], xShape[2], xShape[3], xShape[4]];
    for (let n = 0; n < xShape[0]; n++) {
      const dyn = sampleOf(dy, n);
      const an = gpu.createBuffer(per * 4, 'maxpool argmax sample');
      gpu.copy(argmax, n * per * 4, an, 0, per * 4);
      const dxn = await maxPool3dBackward(dyn, an, one);
      writeSample(dx, n, dxn);
      gpu.flush();
      dyn.release();
      dxn.release();
      gpu.release(an);
    }
    return dx;
  }
  const dx = Tensor.empty(gpu, xShape);
  await gpu.run(
    { shader: 'maxpool', entry: 'backward', constants: { WG }, params: MAXPOOL_PARAMS },
    [dy.buffer, argmax, dx.buffer, params(xShape, outShape, dx.size)],
    groups(dx.size, WG),
    'maxpool backward',
  );
  return dx;
}
