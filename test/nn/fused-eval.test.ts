import { describe, it, beforeAll } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor } from '../../src/nn/tensor.js';
import { BatchNorm3dLayer } from '../../src/nn/layers/batchnorm.js';
import { Sequential } from '../../src/nn/layers/containers.js';
import { Conv3dLayer } from '../../src/nn/layers/conv.js';
import type { Layer } from '../../src/nn/layers/layer.js';
import { ReLULayer } from '../../src/nn/layers/simple.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { batchNormInferenceRef } from './reference-layers.js';
import { conv3dRef, type S5 } from './reference.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

/**
 * In eval mode Sequential runs conv → batch norm → ReLU as one convolution with the batch norm
 * folded into its weights (Conv3dLayer.forwardFused). Checked against conv, batch norm and ReLU
 * applied one after another in float64, on every combination the fusion matches.
 */
describe(`conv with batch norm and ReLU fused at inference, against float64 (seed ${seed})`, () => {
  const cases = [
    { xs: [2, 3, 5, 6, 7] as S5, cout: 5, k: 3, bias: false, bn: true, relu: true },
    { xs: [1, 4, 4, 3, 9] as S5, cout: 9, k: 1, bias: true, bn: true, relu: false },
    { xs: [1, 2, 6, 5, 4] as S5, cout: 3, k: 3, bias: true, bn: false, relu: true },
    { xs: [2, 5, 3, 4, 11] as S5, cout: 8, k: 3, bias: true, bn: true, relu: true },
  ];
  for (const [i, c] of cases.entries()) {
    it(JSON.stringify(c), async () => {
      const r = rng(seed + i);
      const label = `${JSON.stringify(c)} seed ${seed}`;
      const geometry = { kernel: c.k, stride: 1, padding: (c.k - 1) / 2 };
      const conv = new Conv3dLayer(gpu, c.xs[1], c.cout, geometry, r, c.bias);
      const layers: Layer[] = [conv];
      const host = {
        gamma: uniform(c.cout, r, 0.5, 1.5),
        beta: uniform(c.cout, r),
        rm: uniform(c.cout, r),
        rv: uniform(c.cout, r, 0.5, 2),
      };
      if (c.bn) {
        const bn = new BatchNorm3dLayer(gpu, c.cout);
        for (const [t, a] of [
          [bn.gamma.value, host.gamma],
          [bn.beta.value, host.beta],
          [bn.runningMean, host.rm],
          [bn.runningVar, host.rv],
        ] as const)
          gpu.upload(a, t.buffer);
        layers.push(bn);
      }
      if (c.relu) layers.push(new ReLULayer());
      const seq = new Sequential(layers);
      const x = uniform(
        c.xs.reduce((a, b) => a * b),
        r,
      );
      const xt = Tensor.fromArray(gpu, c.xs, x);
      const y = await seq.forward(xt, 'eval');
      const w = await conv.weight.value.toArray();
      const b = conv.bias ? await conv.bias.value.toArray() : undefined;
      const ref = conv3dRef(x, c.xs, w, c.cout, c.k, 1, geometry.padding, b);
      let want = ref.y;
      if (c.bn) want = batchNormInferenceRef(want, ref.ys, host.gamma, host.beta, host.rm, host.rv, 1e-5);
      if (c.relu) want = want.map((v) => Math.max(0, v));
      expectClose(await y.toArray(), want, label);
      for (const t of [xt, y]) t.release();
    });
  }
});
