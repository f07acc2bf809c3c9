import { describe, it, beforeAll, expect } from 'vitest';
import { isGpuError } from '../../src/gpu/errors.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor } from '../../src/nn/tensor.js';
import { conv3dConcatUpsampled, CONV_CAT_UP_PARAMS, POLY_PACK_PARAMS } from '../../src/nn/ops/conv3d-concat-upsampled.js';
import { blocking, variantName } from '../../src/nn/ops/conv3d.js';
import { BatchNorm3dLayer } from '../../src/nn/layers/batchnorm.js';
import { Sequential } from '../../src/nn/layers/containers.js';
import { Conv3dLayer } from '../../src/nn/layers/conv.js';
import { ReLULayer } from '../../src/nn/layers/simple.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import type { UpsampleMode } from '../../src/nn/ops/upsample.js';
import { batchNormInferenceRef, size5, upsampleNearestRef, upsampleTrilinearRef } from './reference-layers.js';
import { conv3dRef, type S5 } from './reference.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

/**
 * torch.cat([a, upsample(b[window], f, mode)], dim=1) in float64: the input the fused kernel never
 * materialises.
 */
function concatUpsampledRef(
  a: Float32Array,
  as: S5,
  b: Float32Array,
  bs: S5,
  f: number,
  mode: UpsampleMode,
  offset: V3,
  size: V3,
): { x: Float64Array; xs: S5 } {
  const ws: S5 = [bs[0], bs[1], ...size];
  const win = new Float64Array(size5(ws));
  for (let n = 0; n < bs[0]; n++)
    for (let c = 0; c < bs[1]; c++)
      for (let d = 0; d < size[0]; d++)
        for (let h = 0; h < size[1]; h++)
          for (let w = 0; w < size[2]; w++)
            win[(((n * bs[1] + c) * size[0] + d) * size[1] + h) * size[2] + w] =
              b[(((n * bs[1] + c) * bs[2] + offset[0] + d) * bs[3] + offset[1] + h) * bs[4] + offset[2] + w]!;
  const up = (mode === 'nearest' ? upsampleNearestRef : upsampleTrilinearRef)(win, ws, f);
  const xs: S5 = [as[0], as[1] + bs[1], as[2], as[3], as[4]];
  const sp = as[2] * as[3] * as[4];
  const x = new Float64Array(size5(xs));
  for (let n = 0; n < as[0]; n++) {
    x.set(a.subarray(n * as[1] * sp, (n + 1) * as[1] * sp), n * xs[1] * sp);
    x.set(up.y.subarray(n * bs[1] * sp, (n + 1) * bs[1] * sp), (n * xs[1] + as[1]) * sp);
  }
  return { x, xs };
}

type V3 = [number, number, number];

interface Case {
  /**
   * a: [n, ca, d, h, w] at full resolution; b: cb channels of extents `b` (default `low`), read
   * from the window at `offset` (default 0) of extents `low` = (d, h, w) / f, upsampled by `mode`.
   */
  n: number;
  ca: number;
  cb: number;
  cout: number;
  low: V3;
  b?: V3;
  offset?: V3;
  mode?: UpsampleMode;
  f: number;
  k: number;
  bias: boolean;
  bn: boolean;
  relu: boolean;
}

/**
 * The default model's decoders (8+16→8 and 16+32→16 of the high U-Net, 8+16→8 of the low one),
 * then awkward ones: odd low-resolution extents, a 1-voxel b, rows narrower than a register block,
 * channel counts not multiples of 4, a 1³ kernel, a factor of 3, no batch norm or no ReLU.
 */
const cases: Case[] = [
  { n: 2, ca: 8, cb: 16, cout: 8, low: [5, 6, 8], f: 2, k: 3, bias: false, bn: true, relu: true },
  { n: 1, ca: 16, cb: 32, cout: 16, low: [4, 5, 6], f: 2, k: 3, bias: false, bn: true, relu: true },
  { n: 2, ca: 3, cb: 5, cout: 9, low: [3, 5, 7], f: 2, k: 3, bias: true, bn: true, relu: true },
  { n: 1, ca: 2, cb: 3, cout: 5, low: [1, 1, 1], f: 2, k: 3, bias: true, bn: false, relu: true },
  { n: 1, ca: 1, cb: 7, cout: 13, low: [2, 3, 1], f: 2, k: 3, bias: true, bn: true, relu: false },
  { n: 2, ca: 5, cb: 2, cout: 3, low: [3, 2, 9], f: 2, k: 1, bias: true, bn: true, relu: true },
  { n: 1, ca: 4, cb: 3, cout: 6, low: [2, 3, 3], f: 3, k: 3, bias: false, bn: false, relu: false },
  { n: 1, ca: 3, cb: 2, cout: 4, low: [2, 3, 2], b: [5, 4, 6], offset: [3, 0, 2], f: 2, k: 3, bias: true, bn: true, relu: true },
  // The fusion head: 8 + 8 → 8, 1³, the low branch's centre upsampled ×4 trilinearly, at the
  // trained (12 of 24) and inference (20 of 32) proportions, shrunk; then odd windows, a 1-voxel
  // axis (both taps clamp to it), a 3³ kernel.
  {
    n: 2,
    ca: 8,
    cb: 8,
    cout: 8,
    low: [3, 3, 3],
    b: [6, 6, 6],
    offset: [1, 1, 1],
    mode: 'trilinear',
    f: 4,
    k: 1,
    bias: false,
    bn: true,
    relu: true,
  },
  {
    n: 1,
    ca: 8,
    cb: 8,
    cout: 8,
    low: [5, 4, 5],
    b: [8, 7, 8],
    offset: [1, 1, 1],
    mode: 'trilinear',
    f: 4,
    k: 1,
    bias: false,
    bn: true,
    relu: true,
  },
  {
    n: 1,
    ca: 2,
    cb: 5,
    cout: 7,
    low: [3, 1, 5],
    b: [4, 3, 9],
    offset: [0, 2, 3],
    mode: 'trilinear',
    f: 2,
    k: 3,
    bias: true,
    bn: true,
    relu: false,
  },
  { n: 2, ca: 1, cb: 3, cout: 2, low: [2, 3, 2], mode: 'trilinear', f: 3, k: 3, bias: true, bn: false, relu: true },
];

describe(`conv3d over [a, upsampled b] with batch norm and ReLU folded, against float64 (seed ${seed})`, () => {
  for (const [i, c] of cases.entries()) {
    it(JSON.stringify(c), async () => {
      const r = rng(seed + i);
      const label = `${JSON.stringify(c)} seed ${seed}`;
      const as: S5 = [c.n, c.ca, c.low[0] * c.f, c.low[1] * c.f, c.low[2] * c.f];
      const bs: S5 = [c.n, c.cb, ...(c.b ?? c.low)];
      const offset = c.offset ?? [0, 0, 0];
      const mode = c.mode ?? 'nearest';
      const geometry = { kernel: c.k, stride: 1, padding: (c.k - 1) / 2 };
      const conv = new Conv3dLayer(gpu, c.ca + c.cb, c.cout, geometry, r, c.bias);
      const host = {
        gamma: uniform(c.cout, r, 0.5, 1.5),
        beta: uniform(c.cout, r),
        rm: uniform(c.cout, r),
        rv: uniform(c.cout, r, 0.5, 2),
      };
      const layers = [conv, ...(c.bn ? [new BatchNorm3dLayer(gpu, c.cout)] : []), ...(c.relu ? [new ReLULayer()] : [])];
      if (c.bn) {
        const bn = layers[1] as BatchNorm3dLayer;
        for (const [t, v] of [
          [bn.gamma.value, host.gamma],
          [bn.beta.value, host.beta],
          [bn.runningMean, host.rm],
          [bn.runningVar, host.rv],
        ] as const)
          gpu.upload(v, t.buffer);
      }
      const a = uniform(size5(as), r);
      const b = uniform(size5(bs), r);
      const at = Tensor.fromArray(gpu, as, a);
      const bt = Tensor.fromArray(gpu, bs, b);
      // The output is a fresh pooled buffer, poisoned with NaN by the test device: a voxel or
      // channel the kernel forgets to write fails.
      const y = await new Sequential(layers).forwardConcatUpsampled(at, bt, { mode, window: { offset, size: c.low } });

      const w = await conv.weight.value.toArray();
      const bias = conv.bias ? await conv.bias.value.toArray() : undefined;
      const { x, xs } = concatUpsampledRef(a, as, b, bs, c.f, mode, offset, c.low);
      const ref = conv3dRef(x, xs, w, c.cout, c.k, 1, geometry.padding, bias);
      let want = ref.y;
      if (c.bn) want = batchNormInferenceRef(want, ref.ys, host.gamma, host.beta, host.rm, host.rv, 1e-5);
      if (c.relu) want = want.map((v) => Math.max(0, v));
      expect(y.shape).toEqual(ref.ys);
      expectClose(await y.toArray(), want, label);
      for (const t of [at, bt, y]) t.release();
    });
  }
});

describe(`conv3dConcatUpsampled: weights from storage or a uniform buffer (seed ${seed})`, () => {
  for (const c of [
    // The decoders' case (forward_poly), two channel groups.
    {
      ca: 3,
      cb: 5,
      cout: 9,
      low: [3, 4, 5] as V3,
      b: [3, 4, 5] as V3,
      offset: [0, 0, 0] as V3,
      mode: 'nearest' as UpsampleMode,
      f: 2,
      k: 3,
    },
    // The fusion head's case (entry forward, trilinear, k 1).
    {
      ca: 8,
      cb: 8,
      cout: 8,
      low: [3, 3, 3] as V3,
      b: [6, 6, 6] as V3,
      offset: [1, 1, 1] as V3,
      mode: 'trilinear' as UpsampleMode,
      f: 4,
      k: 1,
    },
    // Entry forward, nearest by 3, k 3.
    {
      ca: 2,
      cb: 3,
      cout: 5,
      low: [2, 3, 2] as V3,
      b: [2, 3, 2] as V3,
      offset: [0, 0, 0] as V3,
      mode: 'nearest' as UpsampleMode,
      f: 3,
      k: 3,
    },
  ]) {
    it(`both variants give the same bits, matching float64: ${JSON.stringify(c)}`, async () => {
      const r = rng(seed ^ (c.cout * 7919 + c.k));
      const as: S5 = [1, c.ca, c.low[0] * c.f, c.low[1] * c.f, c.low[2] * c.f];
      const bs: S5 = [1, c.cb, ...c.b];
      const a = uniform(size5(as), r);
      const b = uniform(size5(bs), r);
      const w = uniform(c.cout * (c.ca + c.cb) * c.k ** 3, r);
      const bias = uniform(c.cout, r);
      const g = { kernel: c.k, stride: 1, padding: (c.k - 1) / 2 };
      const { x, xs } = concatUpsampledRef(a, as, b, bs, c.f, c.mode, c.offset, c.low);
      const want = conv3dRef(x, xs, w, c.cout, c.k, 1, g.padding, bias).y;
      const outs: Float32Array[] = [];
      // The layer's block (its output is as wide as a: k 3 pads 1, k 1 pads 0), its weights from storage, then from a uniform buffer.
      const { TX, CB } = blocking(c.cout, as[4]);
      for (const kernel of ['register', 'uniform'] as const) {
        const name = variantName({ kernel, TX, CB });
        const y = await conv3dConcatUpsampled(
          Tensor.fromArray(gpu, as, a),
          Tensor.fromArray(gpu, bs, b),
          Tensor.fromArray(gpu, [c.cout, c.ca + c.cb, c.k, c.k, c.k], w),
          Tensor.fromArray(gpu, [1, 1, 1, 1, c.cout], bias),
          { ...g, variant: name },
          { mode: c.mode, window: { offset: c.offset, size: c.low } },
        );
        const got = await y.toArray();
        expectClose(got, want, `${name} ${JSON.stringify(c)} seed ${seed}`);
        outs.push(got);
        y.release();
      }
      expect([...outs[1]!], 'uniform and storage differ').toEqual([...outs[0]!]);
    });
  }
});

describe(`conv3dConcatUpsampled, the op (seed ${seed})`, () => {
  it('refuses tensors split over several bindings (forced small pieces), as the materialised concatenation does', async () => {
    const as: S5 = [1, 3, 8, 10, 12];
    const split = Tensor.fromArray(gpu, as, new Float32Array(size5(as)), 4 * 10 * 12 * 5);
    if (!split.isSplit) throw new Error('test setup: expected a to be split');
    const bt = Tensor.empty(gpu, [1, 4, 4, 5, 6]);
    const wt = Tensor.empty(gpu, [5, 7, 3, 3, 3]);
    await expect(conv3dConcatUpsampled(split, bt, wt, null, { kernel: 3, stride: 1, padding: 1 })).rejects.toSatisfy(
      (e: unknown) => isGpuError(e, 'too-large') && /exceeds one \d+-byte binding/.test((e as Error).message),
    );
    for (const t of [split, bt, wt]) t.release();
  });

  it('refuses a b whose upsampled extents are not a’s, a window outside b, and a weight of the wrong channel count', async () => {
    const a = Tensor.empty(gpu, [1, 2, 6, 6, 6]);
    const odd = Tensor.empty(gpu, [1, 3, 3, 3, 2]);
    const b = Tensor.empty(gpu, [1, 3, 3, 3, 3]);
    const w = Tensor.empty(gpu, [4, 4, 3, 3, 3]);
    const g = { kernel: 3, stride: 1, padding: 1 };
    await expect(conv3dConcatUpsampled(a, odd, w, null, g)).rejects.toThrow(/does not match a \[1, 2, 6, 6, 6\]/);
    await expect(conv3dConcatUpsampled(a, b, w, null, g, { window: { offset: [1, 0, 0], size: [3, 3, 3] } })).rejects.toThrow(
      /window at \[1, 0, 0\] of \[3, 3, 3\] does not fit in b \[1, 3, 3, 3, 3\]/,
    );
    await expect(conv3dConcatUpsampled(a, b, w, null, g)).rejects.toThrow(/weight \[4, 4, 3, 3, 3\] does not match \[4, 5, 3, 3, 3\]/);
    for (const t of [a, odd, b, w]) t.release();
  });

  it("the shaders' structs are exactly the host's declarations", async () => {
    for (const entry of ['forward', 'forward_poly']) {
      await expect(gpu.kernel({ shader: 'conv3d_cat_up', entry, params: CONV_CAT_UP_PARAMS }), entry).resolves.toBeDefined();
    }
    await expect(gpu.kernel({ shader: 'conv3d_pack', entry: 'poly', params: POLY_PACK_PARAMS })).resolves.toBeDefined();
  });
});
