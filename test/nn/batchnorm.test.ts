import { describe, it, beforeAll, expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import {
  batchNorm3dTrain,
  batchNorm3dBackward,
  batchNorm3dInference,
  foldBatchNorm3d,
  channelVectorShape,
  type BatchNorm3dParams,
} from '../../src/nn/ops/batchnorm.js';
import { conv3d } from '../../src/nn/ops/conv3d.js';
import { fill } from '../../src/nn/ops/fill.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { gradCheck } from '../helpers/gradcheck.js';
import { batchNormTrainRef, batchNormBackwardRef, batchNormInferenceRef, size5 } from './reference-layers.js';
import { conv3dRef, type S5 } from './reference.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

interface Host {
  gamma: Float32Array;
  beta: Float32Array;
  rm: Float32Array;
  rv: Float32Array;
}

function hostParams(c: number, r: () => number): Host {
  return { gamma: uniform(c, r, 0.5, 1.5), beta: uniform(c, r), rm: uniform(c, r), rv: uniform(c, r, 0.5, 2) };
}

function upload(h: Host, eps = 1e-5, momentum = 0.1): BatchNorm3dParams {
  const v = (a: Float32Array): Tensor => Tensor.fromArray(gpu, channelVectorShape(a.length), a);
  return { gamma: v(h.gamma), beta: v(h.beta), runningMean: v(h.rm), runningVar: v(h.rv), eps, momentum };
}

async function nanVector(c: number): Promise<Tensor> {
  const t = Tensor.empty(gpu, channelVectorShape(c));
  await fill(t, Number.NaN);
  return t;
}

describe(`batch norm 3D against float64 (seed ${seed})`, () => {
  const cases: { xs: S5; offset: number; momentum: number }[] = [
    { xs: [2, 3, 5, 4, 7], offset: 0, momentum: 0.1 },
    { xs: [1, 5, 3, 3, 3], offset: 0, momentum: 0.3 },
    { xs: [3, 6, 1, 2, 5], offset: 0, momentum: 0.1 },
    // |mean| >> std: a one-pass E[x²] − E[x]² variance would lose every digit here.
    { xs: [2, 3, 4, 5, 6], offset: 1000, momentum: 0.1 },
  ];
  for (const [k, { xs, offset, momentum }] of cases.entries()) {
    it(`train forward, running stats, backward ${JSON.stringify(xs)} offset ${offset}`, async () => {
      const r = rng(seed + k);
      const c = xs[1];
      const x = uniform(size5(xs), r).map((v, i) => v * (1 + (Math.floor(i / (xs[2] * xs[3] * xs[4])) % c)) + offset);
      const h = hostParams(c, r);
      const bn = upload(h, 1e-5, momentum);
      const label = `${JSON.stringify(xs)} offset ${offset} seed ${seed}`;
      const xt = Tensor.fromArray(gpu, xs, x);
      const { y, saved } = await batchNorm3dTrain(xt, bn);
      const ref = batchNormTrainRef(x, xs, h.gamma, h.beta, h.rm, h.rv, 1e-5, momentum);
      // At offset 1000 the f32 input itself carries ~3e-5 of rounding per value: compare against the f32 data.
      const tol = offset ? 2e-4 : 2e-5;
      expectClose(await y.toArray(), ref.y, `y ${label}`, tol, tol);
      expectClose(await saved.mean.toArray(), ref.mean, `saved mean ${label}`, 1e-5, 1e-6);
      expectClose(await saved.invstd.toArray(), ref.invstd, `saved invstd ${label}`, 0, tol);
      expectClose(await bn.runningMean.toArray(), ref.runningMean, `running mean ${label}`, 1e-5, 1e-6);
      expectClose(await bn.runningVar.toArray(), ref.runningVar, `running var ${label}`, 1e-6, tol);

      const dy = uniform(y.size, r);
      const dyt = Tensor.fromArray(gpu, xs, dy);
      const grads = { dgamma: await nanVector(c), dbeta: await nanVector(c) };
      const dx = await batchNorm3dBackward(dyt, xt, bn, saved, grads);
      // The backward pass is a function of (dy, x, saved statistics): feed the reference the same f32
      // saved mean and invstd (with |mean| ~ 1000 their rounding alone moves dγ by ~1e-3).
      const bref = batchNormBackwardRef(dy, x, xs, h.gamma, await saved.mean.toArray(), await saved.invstd.toArray());
      const maxDx = Math.max(...bref.dx.map(Math.abs));
      expectClose(await dx.toArray(), bref.dx, `dx ${label}`, tol * maxDx, tol);
      expectClose(await grads.dgamma.toArray(), bref.dgamma, `dgamma ${label}`, 1e-4, tol);
      expectClose(await grads.dbeta.toArray(), bref.dbeta, `dbeta ${label}`, 1e-4, 1e-5);
      // accumulate adds to what is there.
      const dx2 = await batchNorm3dBackward(dyt, xt, bn, saved, grads, true);
      expectClose(
        await grads.dbeta.toArray(),
        bref.dbeta.map((v) => 2 * v),
        `dbeta accumulated ${label}`,
        2e-4,
        1e-5,
      );
      for (const t of [
        xt,
        y,
        saved.mean,
        saved.invstd,
        dyt,
        dx,
        dx2,
        grads.dgamma,
        grads.dbeta,
        bn.gamma,
        bn.beta,
        bn.runningMean,
        bn.runningVar,
      ])
        t.release();
    });
  }

  it('inference mode is the per-channel affine of the running statistics', async () => {
    const r = rng(seed + 20);
    const xs: S5 = [2, 7, 3, 4, 5];
    const x = uniform(size5(xs), r, -3, 3);
    const h = hostParams(7, r);
    const y = await batchNorm3dInference(Tensor.fromArray(gpu, xs, x), upload(h, 1e-3));
    expectClose(await y.toArray(), batchNormInferenceRef(x, xs, h.gamma, h.beta, h.rm, h.rv, 1e-3), `inference seed ${seed}`, 1e-5, 1e-5);
  });

  for (const withBias of [true, false]) {
    it(`folding into the preceding conv equals conv then BN (conv bias ${withBias})`, async () => {
      const r = rng(seed + 30 + Number(withBias));
      const xs: S5 = [1, 3, 5, 6, 7];
      const cout = 5;
      const x = uniform(size5(xs), r);
      const w = uniform(cout * 3 * 27, r);
      const b = uniform(cout, r);
      const h = hostParams(cout, r);
      const bn = upload(h);
      const wt = Tensor.fromArray(gpu, [cout, 3, 3, 3, 3], w);
      const bt = withBias ? Tensor.fromArray(gpu, channelVectorShape(cout), b) : null;
      const xt = Tensor.fromArray(gpu, xs, x);
      const g = { kernel: 3, stride: 1, padding: 1 };
      const folded = await foldBatchNorm3d(wt, bt, bn);
      const yFolded = await conv3d(xt, folded.weight, folded.bias, g);
      const yTwoStep = await batchNorm3dInference(await conv3d(xt, wt, bt, g), bn);
      const conv = conv3dRef(x, xs, w, cout, 3, 1, 1, withBias ? b : undefined);
      const want = batchNormInferenceRef(conv.y, conv.ys, h.gamma, h.beta, h.rm, h.rv, 1e-5);
      expectClose(await yFolded.toArray(), want, `folded conv seed ${seed}`, 1e-4, 1e-4);
      expectClose(await yTwoStep.toArray(), want, `conv then BN seed ${seed}`, 1e-4, 1e-4);
    });
  }

  it('gradients match central finite differences (x, gamma, beta)', async () => {
    const r = rng(seed + 40);
    const xs: Shape5 = [2, 3, 3, 2, 3];
    const c = 3;
    const x = uniform(size5([...xs] as S5), r);
    const h = hostParams(c, r);
    const forward = async ([xi, gi, bi]: Float32Array[]): Promise<Float32Array> => {
      const bn = upload({ ...h, gamma: gi!, beta: bi! });
      const { y } = await batchNorm3dTrain(Tensor.fromArray(gpu, xs, xi!), bn);
      return y.toArray();
    };
    const bn = upload(h);
    const xt = Tensor.fromArray(gpu, xs, x);
    const { y, saved } = await batchNorm3dTrain(xt, bn);
    const up = uniform(y.size, r);
    const grads = { dgamma: await nanVector(c), dbeta: await nanVector(c) };
    const dx = await batchNorm3dBackward(Tensor.fromArray(gpu, xs, up), xt, bn, saved, grads);
    await gradCheck({
      label: `batchnorm seed ${seed}`,
      inputs: [x, h.gamma, h.beta],
      forward,
      upstream: up,
      analytic: [await dx.toArray(), await grads.dgamma.toArray(), await grads.dbeta.toArray()],
      rand: r,
      samples: 10,
      eps: 1e-2,
    });
  });

  it('rejects one value per channel in training and mismatched parameters', async () => {
    const r = rng(seed + 50);
    await expect(batchNorm3dTrain(Tensor.fromArray(gpu, [1, 2, 1, 1, 1], new Float32Array(2)), upload(hostParams(2, r)))).rejects.toThrow(
      /more than one/,
    );
    await expect(batchNorm3dTrain(Tensor.fromArray(gpu, [1, 3, 2, 1, 1], new Float32Array(6)), upload(hostParams(2, r)))).rejects.toThrow(
      /gamma has 2 values/,
    );
  });
});
