import { describe, it, beforeAll, afterAll, expect } from 'vitest';
import { acquireGpu } from '../../src/gpu/acquire.js';
import { ROUNDS, type ChoiceStore, type ChoiceTable } from '../../src/gpu/kernel-choices.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import {
  conv3d,
  convTranspose3d,
  conv3dBackwardData,
  conv3dBackwardWeight,
  conv3dBackwardBias,
  convTransposeOutSize,
  blocking,
  convKernel,
  paddedChannels,
  weightCandidates,
  forwardCandidatesFor,
  forwardKey,
} from '../../src/nn/ops/conv3d.js';
import { fill } from '../../src/nn/ops/fill.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';
import { conv3dRef, convTranspose3dRef, conv3dWgradRef, type S5 } from './reference.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

interface Case {
  n: number;
  cin: number;
  cout: number;
  d: number;
  h: number;
  w: number;
  k: number;
  s: number;
  p: number;
  relu: boolean;
  bias: boolean;
}

/** Awkward sizes: odd extents, channel counts not multiples of 4, both strides and kernels. */
function cases(seed: number, count: number): Case[] {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!;
  const out: Case[] = [
    { n: 1, cin: 3, cout: 5, d: 7, h: 6, w: 9, k: 3, s: 1, p: 1, relu: false, bias: true },
    { n: 2, cin: 5, cout: 9, d: 5, h: 7, w: 11, k: 3, s: 2, p: 1, relu: true, bias: true },
    { n: 1, cin: 7, cout: 3, d: 4, h: 5, w: 3, k: 1, s: 1, p: 0, relu: false, bias: false },
    { n: 1, cin: 2, cout: 13, d: 6, h: 5, w: 17, k: 3, s: 1, p: 0, relu: true, bias: true },
  ];
  while (out.length < count) {
    const k = pick([1, 3]);
    out.push({
      n: pick([1, 2]),
      cin: 1 + Math.floor(r() * 9),
      cout: 1 + Math.floor(r() * 11),
      d: 3 + Math.floor(r() * 6),
      h: 3 + Math.floor(r() * 6),
      w: 3 + Math.floor(r() * 12),
      k,
      s: pick([1, 2]),
      p: k === 3 ? pick([0, 1]) : 0,
      relu: r() < 0.3,
      bias: r() < 0.7,
    });
  }
  return out;
}

const seed = freshSeed();

describe(`conv3d against a float64 reference (seed ${seed})`, () => {
  for (const [i, c] of cases(seed, 10).entries()) {
    const label = `case ${i} ${JSON.stringify(c)} seed ${seed}`;
    it(`forward, backward-data, backward-weight, bias: ${JSON.stringify(c)}`, async () => {
      const r = rng(seed + i);
      const xs: S5 = [c.n, c.cin, c.d, c.h, c.w];
      const x = uniform(
        xs.reduce((a, b) => a * b),
        r,
      );
      const w = uniform(c.cout * c.cin * c.k ** 3, r);
      const b = uniform(c.cout, r);
      const xt = Tensor.fromArray(gpu, xs, x);
      const wt = Tensor.fromArray(gpu, [c.cout, c.cin, c.k, c.k, c.k], w);
      const bt = c.bias ? Tensor.fromArray(gpu, [1, 1, 1, 1, c.cout], b) : null;
      const g = { kernel: c.k, stride: c.s, padding: c.p, relu: c.relu };

      const y = await conv3d(xt, wt, bt, g);
      const ref = conv3dRef(x, xs, w, c.cout, c.k, c.s, c.p, c.bias ? b : undefined, c.relu);
      expectClose(await y.toArray(), ref.y, `forward ${label}`);

      const dy = uniform(ref.y.length, r);
      const dyt = Tensor.fromArray(gpu, ref.ys, dy);
      const dx = await conv3dBackwardData(dyt, wt, xs, g);
      // dX is the adjoint: the transposed conv of dY, computed by scattering (a different formulation).
      const dxRef = convTranspose3dRef(dy, ref.ys, w, c.cin, c.k, c.s, c.p, [c.d, c.h, c.w]);
      expectClose(await dx.toArray(), dxRef.y, `backward-data ${label}`);

      const dwt = Tensor.empty(gpu, [c.cout, c.cin, c.k, c.k, c.k]);
      await fill(dwt, Number.NaN);
      await conv3dBackwardWeight(xt, dyt, dwt, g);
      expectClose(await dwt.toArray(), conv3dWgradRef(x, xs, dy, ref.ys, c.k, c.s, c.p), `backward-weight ${label}`, 1e-3, 1e-4);

      const dbt = Tensor.empty(gpu, [1, 1, 1, 1, c.cout]);
      await fill(dbt, Number.NaN);
      await conv3dBackwardBias(dyt, dbt);
      const dbRef = new Float64Array(c.cout);
      const sp = ref.ys[2] * ref.ys[3] * ref.ys[4];
      for (let n = 0; n < c.n; n++)
        for (let co = 0; co < c.cout; co++) for (let j = 0; j < sp; j++) dbRef[co]! += dy[(n * c.cout + co) * sp + j]!;
      expectClose(await dbt.toArray(), dbRef, `bias grad ${label}`, 1e-3);
      for (const t of [xt, wt, bt, y, dyt, dx, dwt, dbt]) t?.release();
    });
  }
});

describe(`learned upsampling (transposed conv) forward (seed ${seed})`, () => {
  it('stride 2, kernel 3, output padding 1, bias, awkward channels', async () => {
    const r = rng(seed ^ 0x55);
    const xs: S5 = [2, 5, 3, 4, 5];
    const q = 6;
    const x = uniform(
      xs.reduce((a, b) => a * b),
      r,
    );
    const w = uniform(5 * q * 27, r);
    const b = uniform(q, r);
    const g = { kernel: 3, stride: 2, padding: 1, outputPadding: 1 };
    const out: [number, number, number] = [convTransposeOutSize(3, g, 1), convTransposeOutSize(4, g, 1), convTransposeOutSize(5, g, 1)];
    const y = await convTranspose3d(
      Tensor.fromArray(gpu, xs, x),
      Tensor.fromArray(gpu, [5, q, 3, 3, 3], w),
      Tensor.fromArray(gpu, [1, 1, 1, 1, q], b),
      g,
    );
    expectClose(await y.toArray(), convTranspose3dRef(x, xs, w, q, 3, 2, 1, out, b).y, `convTranspose seed ${seed}`);
  });

  for (const c of [
    { xs: [2, 5, 3, 4, 11] as S5, q: 6, stride: 2, padding: 1, outputPadding: 1 },
    { xs: [1, 7, 4, 5, 13] as S5, q: 9, stride: 1, padding: 1, outputPadding: 0 },
  ]) {
    it(`every variant (weights from storage or a uniform buffer) gives the same bits: ${JSON.stringify(c)}`, async () => {
      const r = rng(seed ^ (c.q * 977));
      const r5 = c.xs[1];
      const x = uniform(
        c.xs.reduce((a, b) => a * b),
        r,
      );
      const w = uniform(r5 * c.q * 27, r);
      const b = uniform(c.q, r);
      const g = { kernel: 3, stride: c.stride, padding: c.padding, outputPadding: c.outputPadding };
      const out = [2, 3, 4].map((a) => convTransposeOutSize(c.xs[a]!, g, c.outputPadding)) as [number, number, number];
      const want = convTranspose3dRef(x, c.xs, w, c.q, 3, c.stride, c.padding, out, b).y;
      const { TX, CB } = blocking(c.q, out[2]);
      const variants = weightCandidates(TX, CB, r5 * 27 * paddedChannels(c.q, CB) * 4);
      expect(variants).toEqual([`register-${TX}x${CB}`, `uniform-${TX}x${CB}`]);
      const outs: Float32Array[] = [];
      for (const variant of variants) {
        const y = await convTranspose3d(
          Tensor.fromArray(gpu, c.xs, x),
          Tensor.fromArray(gpu, [r5, c.q, 3, 3, 3], w),
          Tensor.fromArray(gpu, [1, 1, 1, 1, c.q], b),
          { ...g, variant },
        );
        const got = await y.toArray();
        expectClose(got, want, `${variant} ${JSON.stringify(c)} seed ${seed}`);
        outs.push(got);
      }
      expect([...outs[1]!], 'uniform and storage differ').toEqual([...outs[0]!]);
    });
  }
});

describe('tensors split over several bindings', () => {
  it('convolves a tensor split into small pieces exactly as a whole one (forced 64 KiB pieces)', async () => {
    const r = rng(seed ^ 0x99);
    const xs: Shape5 = [1, 3, 9, 20, 21];
    const x = uniform(
      xs.reduce((a, b) => a * b),
      r,
    );
    const w = uniform(4 * 3 * 27, r);
    const whole = await conv3d(Tensor.fromArray(gpu, xs, x), Tensor.fromArray(gpu, [4, 3, 3, 3, 3], w), null, {
      kernel: 3,
      stride: 1,
      padding: 1,
    });
    const split = Tensor.fromArray(gpu, xs, x, 4 * 20 * 21 * 5);
    if (split.pieces.length < 3) throw new Error('test setup: expected the input to be split');
    const ref = conv3dRef(x, [...xs] as S5, w, 4, 3, 1, 1);
    expectClose(await split.toArray(), x, 'split round trip', 0, 0);
    expectClose(await whole.toArray(), ref.y, 'whole');
  });
});

describe(`conv3d gradients against central finite differences (seed ${seed})`, () => {
  for (const s of [1, 2]) {
    it(`stride ${s}: d/dx, d/dW, d/db`, async () => {
      const r = rng(seed + 1000 + s);
      const xs: Shape5 = [1, 3, 5, 4, 6];
      const cout = 5;
      const g = { kernel: 3, stride: s, padding: 1 };
      const x = uniform(
        xs.reduce((a, b) => a * b),
        r,
      );
      const w = uniform(cout * 3 * 27, r);
      const b = uniform(cout, r);
      const forward = async ([xi, wi, bi]: Float32Array[]): Promise<Float32Array> => {
        const ts = [
          Tensor.fromArray(gpu, xs, xi!),
          Tensor.fromArray(gpu, [cout, 3, 3, 3, 3], wi!),
          Tensor.fromArray(gpu, [1, 1, 1, 1, cout], bi!),
        ] as const;
        const y = await conv3d(ts[0], ts[1], ts[2], g);
        const out = await y.toArray();
        for (const t of [...ts, y]) t.release();
        return out;
      };
      const y0 = await forward([x, w, b]);
      const up = uniform(y0.length, r);
      const ys = [1, cout, Math.floor((5 + 2 - 3) / s) + 1, Math.floor((4 + 2 - 3) / s) + 1, Math.floor((6 + 2 - 3) / s) + 1] as const;
      const dyt = Tensor.fromArray(gpu, ys, up);
      const wt = Tensor.fromArray(gpu, [cout, 3, 3, 3, 3], w);
      const dx = await (await conv3dBackwardData(dyt, wt, xs, g)).toArray();
      const dwt = Tensor.empty(gpu, [cout, 3, 3, 3, 3]);
      await conv3dBackwardWeight(Tensor.fromArray(gpu, xs, x), dyt, dwt, g);
      const dbt = Tensor.empty(gpu, [1, 1, 1, 1, cout]);
      await conv3dBackwardBias(dyt, dbt);
      const { gradCheck } = await import('../helpers/gradcheck.js');
      await gradCheck({
        label: `conv3d stride ${s} seed ${seed}`,
        inputs: [x, w, b],
        forward,
        upstream: up,
        analytic: [dx, await dwt.toArray(), await dbt.toArray()],
        rand: r,
      });
    });
  }
});

describe(`conv3d backward-weight over many output rows (seed ${seed})`, () => {
  // A 1³ conv from one channel (mlmr's first layers) gives each output row its own partial sum, so
  // `reduce` adds 2048 of them here; with values near 1 a running float32 sum drifts by ~1e-6
  // (measured: up to 1.3e-6), the pairwise one stays within 1e-7.
  it('1³ kernel, one input channel, [2, 1, 32, 32, 32]: within 4e-7 of float64', async () => {
    const r = rng(seed);
    const xs: S5 = [2, 1, 32, 32, 32];
    const ys: S5 = [2, 3, 32, 32, 32];
    const x = uniform(
      xs.reduce((a, b) => a * b),
      r,
      0.999,
      1.001,
    );
    const dy = uniform(
      ys.reduce((a, b) => a * b),
      r,
      0.999,
      1.001,
    );
    const [xt, dyt] = [Tensor.fromArray(gpu, xs, x), Tensor.fromArray(gpu, ys, dy)];
    const dwt = Tensor.empty(gpu, [3, 1, 1, 1, 1]);
    await conv3dBackwardWeight(xt, dyt, dwt, { kernel: 1, stride: 1, padding: 0 });
    const want = conv3dWgradRef(x, xs, dy, ys, 1, 1, 0);
    expectClose(await dwt.toArray(), want, `seed ${seed}`, 0, 4e-7);
    for (const t of [xt, dyt, dwt]) t.release();
  });
});

describe(`every forward variant (conv3d.wgsl register blocks, conv3d_tiled.wgsl) against the reference (seed ${seed})`, () => {
  // A device of its own whose kernel choices live in memory, so the test pins variants freely.
  const table: ChoiceTable = {};
  const memory: ChoiceStore = { where: 'memory', read: () => structuredClone(table), write: (t) => Object.assign(table, t) };
  let own: Gpu;
  let before: typeof convKernel.variant;
  beforeAll(async () => {
    own = await acquireGpu({ choiceStore: memory });
    own.poison = true;
    before = convKernel.variant;
    convKernel.variant = 'auto';
  });
  afterAll(() => {
    convKernel.variant = before;
    own.destroy();
  });

  for (const c of [
    { n: 1, cin: 3, cout: 5, d: 4, h: 11, w: 37 },
    { n: 2, cin: 5, cout: 9, d: 3, h: 17, w: 70 },
    { n: 1, cin: 1, cout: 16, d: 5, h: 9, w: 9 },
    { n: 1, cin: 6, cout: 3, d: 3, h: 5, w: 6 },
  ]) {
    it(`3×3×3 stride 1: ${JSON.stringify(c)} (x and y tiles cut short); every variant gives the same bits`, async () => {
      const r = rng(seed ^ (c.w * 131 + c.cout));
      const xs: S5 = [c.n, c.cin, c.d, c.h, c.w];
      const x = uniform(
        xs.reduce((a, b) => a * b),
        r,
      );
      const w = uniform(c.cout * c.cin * 27, r);
      const b = uniform(c.cout, r);
      const want = conv3dRef(x, xs, w, c.cout, 3, 1, 1, b, true).y;
      const variants = forwardCandidatesFor(c.cin, c.cout, c.w);
      expect(variants.length).toBeGreaterThanOrEqual(2);
      const outs: Float32Array[] = [];
      for (const v of variants) {
        // Half the variants as a remembered choice (the path a run takes), half asked for by name.
        const pinned = variants.indexOf(v) % 2 === 0;
        if (pinned) own.choices.remember(forwardKey(c.cin, c.cout, xs), v);
        const y = await conv3d(
          Tensor.fromArray(own, xs, x),
          Tensor.fromArray(own, [c.cout, c.cin, 3, 3, 3], w),
          Tensor.fromArray(own, [1, 1, 1, 1, c.cout], b),
          { kernel: 3, stride: 1, padding: 1, relu: true, ...(pinned ? {} : { variant: v }) },
        );
        const got = await y.toArray();
        expectClose(got, want, `${v} ${JSON.stringify(c)} seed ${seed}`);
        outs.push(got);
      }
      for (const [k, o] of outs.entries()) expect([...o], `${variants[k]} and ${variants[0]} differ`).toEqual([...outs[0]!]);
    });
  }

  it('refuses a variant the layer does not offer', async () => {
    const x = Tensor.fromArray(own, [1, 2, 4, 4, 4], new Float32Array(128));
    const w = Tensor.fromArray(own, [3, 2, 3, 3, 3], new Float32Array(162));
    await expect(conv3d(x, w, null, { kernel: 3, stride: 1, padding: 1, variant: 'register-8x2' })).rejects.toThrow(
      /variant register-8x2 is not offered for this layer \(register-4x1, uniform-4x1, tiled-4x1\)/,
    );
    await expect(conv3d(x, w, null, { kernel: 3, stride: 2, padding: 1, variant: 'register-2x1' })).rejects.toThrow(/not offered.*none/);
  });

  it('auto: times the candidates once for a new shape, remembers the winner for the adapter, and takes it from then on', async () => {
    const xs: S5 = [1, 4, 6, 10, 24];
    const key = forwardKey(4, 8, xs);
    const run = async (): Promise<number> => {
      const r = rng(seed + 5);
      const d0 = own.counters.dispatches;
      const y = await conv3d(
        Tensor.fromArray(own, xs, uniform(4 * 6 * 10 * 24, r)),
        Tensor.fromArray(own, [8, 4, 3, 3, 3], uniform(8 * 4 * 27, r)),
        null,
        { kernel: 3, stride: 1, padding: 1 },
      );
      await y.toArray();
      return own.counters.dispatches - d0;
    };
    expect(own.choices.get(key)).toBeUndefined();
    const first = await run();
    const chosen = own.choices.get(key);
    expect(forwardCandidatesFor(4, 8, 24)).toContain(chosen);
    expect(table[own.choices.adapter]?.[key], 'the choice reaches the store').toBe(chosen);
    const second = await run();
    // Packing (1 dispatch) and the layer (1) each time; the first call also ran each of the 3
    // candidates once to warm up and ROUNDS times timed.
    expect(second).toBe(2);
    expect(first).toBe(second + (1 + ROUNDS) * forwardCandidatesFor(4, 8, 24).length);
  });
});
