import type { Gpu } from '../../gpu/gpu.js';
import { defineParams, type PackedParams } from '../../gpu/uniforms.js';
import { Tensor, shapeStr, type Shape5 } from '../tensor.js';
import { channelSums } from './channel-sums.js';
import { channelAffine, channelAffineInPlace, channelMixInPlace } from './channel-affine.js';
import { groups, WG } from './grid.js';

/**
 * A BatchNorm3d layer's tensors, each of C values (any shape with C elements; [1, 1, 1, 1, C] by
 * convention): the affine γ, β and the running statistics, which training updates in place.
 * eps 1e-5 and momentum 0.1 by default, as PyTorch.
 */
export interface BatchNorm3dParams {
  gamma: Tensor;
  beta: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
  eps?: number;
  momentum?: number;
}

/** What training forward keeps for the backward pass: the batch mean and 1/sqrt(var + eps). */
export interface BatchNormSaved {
  mean: Tensor;
  invstd: Tensor;
}

export const channelVectorShape = (c: number): Shape5 => [1, 1, 1, 1, c];

function check(what: string, c: number, bn: BatchNorm3dParams): void {
  for (const [name, t] of Object.entries({ gamma: bn.gamma, beta: bn.beta, runningMean: bn.runningMean, runningVar: bn.runningVar })) {
    if (t.size !== c) throw new RangeError(`${what}: ${name} has ${t.size} values ${shapeStr(t.shape)}, expected ${c} (one per channel)`);
  }
}

/** batchnorm.wgsl's parameters, shared by all its entries. */
const BATCHNORM_PARAMS = defineParams('Params', {
  c: 'u32',
  accumulate: 'u32',
  _p0: 'u32',
  _p1: 'u32',
  invCount: 'f32',
  eps: 'f32',
  momentum: 'f32',
  unbias: 'f32',
});

function params(c: number, count: number, bn: BatchNorm3dParams, accumulate = false): PackedParams {
  return BATCHNORM_PARAMS.pack({
    c,
    accumulate: accumulate ? 1 : 0,
    invCount: 1 / count,
    eps: bn.eps ?? 1e-5,
    momentum: bn.momentum ?? 0.1,
    unbias: count > 1 ? count / (count - 1) : 0,
  });
}

async function perChannel(
  gpu: Gpu,
  entry: string,
  c: number,
  bindings: (GPUBuffer | PackedParams)[],
  constants: Record<string, number | boolean> = {},
): Promise<void> {
  await gpu.run(
    { shader: 'batchnorm', entry, constants: { WG, ...constants }, params: BATCHNORM_PARAMS },
    bindings,
    groups(c, WG),
    `batchnorm ${entry}`,
  );
}

/**
 * Training forward: normalises each channel by its batch statistics over N·D·H·W (biased variance),
 * applies γ, β, and updates the running mean and (unbiased) variance with the momentum, as
 * PyTorch's BatchNorm3d in train mode. Split tensors are rejected.
 */
export async function batchNorm3dTrain(x: Tensor, bn: BatchNorm3dParams): Promise<{ y: Tensor; saved: BatchNormSaved }> {
  const gpu = x.gpu;
  const c = x.c;
  check('batchNorm3dTrain', c, bn);
  const count = x.n * x.d * x.h * x.w;
  if (count < 2) throw new RangeError(`batchNorm3dTrain: ${shapeStr(x.shape)} has one value per channel; training needs more than one`);
  const u = params(c, count, bn);
  const sums1 = gpu.createBuffer(c * 8);
  const sums2 = gpu.createBuffer(c * 8);
  const coef = gpu.createBuffer(c * 8);
  const y = Tensor.empty(gpu, x.shape);
  const mean = Tensor.empty(gpu, channelVectorShape(c));
  const invstd = Tensor.empty(gpu, channelVectorShape(c));
  // Centre on a first mean estimate, then take the variance of the centred values (two-pass).
  await channelSums(x, x, sums1);
  await perChannel(gpu, 'mean_shift', c, [sums1, coef, u]);
  await channelAffine(x, coef, y);
  await channelSums(y, y, sums2);
  await perChannel(gpu, 'train_stats', c, [sums1, sums2, mean.buffer, invstd.buffer, bn.runningMean.buffer, bn.runningVar.buffer, u]);
  await perChannel(gpu, 'train_coef', c, [sums2, invstd.buffer, bn.gamma.buffer, bn.beta.buffer, coef, u]);
  await channelAffineInPlace(y, coef);
  for (const b of [sums1, sums2, coef]) gpu.release(b);
  return { y, saved: { mean, invstd } };
}

/**
 * Training backward: returns dx and writes dγ, dβ into `grads` (or adds to them with `accumulate`).
 * `x` is the forward input and `saved` what batchNorm3dTrain returned for it.
 */
export async function batchNorm3dBackward(
  dy: Tensor,
  x: Tensor,
  bn: BatchNorm3dParams,
  saved: BatchNormSaved,
  grads: { dgamma: Tensor; dbeta: Tensor },
  accumulate = false,
): Promise<Tensor> {
  const gpu = x.gpu;
  const c = x.c;
  check('batchNorm3dBackward', c, bn);
  if (dy.shape.some((v, i) => v !== x.shape[i]))
    throw new RangeError(`batchNorm3dBackward: dy ${shapeStr(dy.shape)} vs x ${shapeStr(x.shape)}`);
  if (grads.dgamma.size !== c || grads.dbeta.size !== c) throw new RangeError(`batchNorm3dBackward: dgamma/dbeta need ${c} values`);
  const count = x.n * x.d * x.h * x.w;
  const u = params(c, count, bn, accumulate);
  const coef = gpu.createBuffer(c * 8);
  const sums = gpu.createBuffer(c * 8);
  const coef4 = gpu.createBuffer(c * 16);
  const dx = Tensor.empty(gpu, x.shape);
  await perChannel(gpu, 'shift_coef', c, [saved.mean.buffer, coef, u]);
  await channelAffine(x, coef, dx); // dx holds x − mean until the last step
  await channelSums(dy, dx, sums);
  await perChannel(gpu, 'backward_coef', c, [
    sums,
    saved.invstd.buffer,
    bn.gamma.buffer,
    grads.dgamma.buffer,
    grads.dbeta.buffer,
    coef4,
    u,
  ]);
  await channelMixInPlace(dx, dy, coef4);
  for (const b of [coef, sums, coef4]) gpu.release(b);
  return dx;
}

async function inferenceCoef(gpu: Gpu, c: number, bn: BatchNorm3dParams): Promise<GPUBuffer> {
  const coef = gpu.createBuffer(c * 8);
  await perChannel(gpu, 'inference_coef', c, [
    bn.gamma.buffer,
    bn.beta.buffer,
    bn.runningMean.buffer,
    bn.runningVar.buffer,
    coef,
    params(c, 1, bn),
  ]);
  return coef;
}

/** Inference mode: y = (x − running_mean)/sqrt(running_var + eps)·γ + β, one affine map per channel. */
export async function batchNorm3dInference(x: Tensor, bn: BatchNorm3dParams): Promise<Tensor> {
  const gpu = x.gpu;
  check('batchNorm3dInference', x.c, bn);
  const coef = await inferenceCoef(gpu, x.c, bn);
  const y = Tensor.empty(gpu, x.shape);
  await channelAffine(x, coef, y);
  gpu.release(coef);
  return y;
}

/**
 * Folds an inference batch norm into the conv before it: with s = γ/sqrt(running_var + eps) and
 * t = β − running_mean·s, BN(conv(x; W, b)) = conv(x; W·s, b·s + t) (s per output channel).
 * Returns new weight [Co, Ci, k, k, k] and bias (Co values) tensors.
 */
export async function foldBatchNorm3d(
  weight: Tensor,
  bias: Tensor | null,
  bn: BatchNorm3dParams,
): Promise<{ weight: Tensor; bias: Tensor }> {
  const gpu = weight.gpu;
  const co = weight.shape[0];
  check('foldBatchNorm3d', co, bn);
  if (bias && bias.size !== co) throw new RangeError(`foldBatchNorm3d: bias has ${bias.size} values, expected ${co}`);
  const coef = await inferenceCoef(gpu, co, bn);
  const w = Tensor.empty(gpu, weight.shape);
  await channelAffine(weight, coef, w, false, { c: co, spatial: weight.size / co });
  const b = Tensor.empty(gpu, channelVectorShape(co));
  const biasIn = bias ? bias.buffer : coef; // unread when HAS_BIAS is false
  await perChannel(gpu, 'fold_bias', co, [biasIn, coef, b.buffer, params(co, 1, bn)], { HAS_BIAS: bias !== null });
  gpu.release(coef);
  return { weight: w, bias: b };
}
