import { describe, it, expect, beforeAll } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { axpby } from '../../src/nn/ops/arith.js';
import { Conv3dLayer } from '../../src/nn/layers/conv.js';
import { apply } from '../../src/nn/layers/layer.js';
import { ReLULayer } from '../../src/nn/layers/simple.js';
import { Tape, add, concat, crop, upsample, type Pass } from '../../src/nn/tape.js';
import { buildModel } from '../../src/nn/models/registry.js';
import { SMALL_CONFIGS } from './small-configs.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { gradCheck } from '../helpers/gradcheck.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();
const C3 = { kernel: 3, stride: 1, padding: 1 };

/** Bytes of pooled buffers now held by an owner, once pending work (and its uniforms) is done. */
async function liveBytes(): Promise<number> {
  await gpu.sync();
  return gpu.pool.stats().live;
}

describe(`the tape: reverse-mode gradients recorded during a training forward (seed ${seed})`, () => {
  it('matches central finite differences on a graph where tensors feed several ops (their gradients summed)', async () => {
    const r = rng(seed);
    const xs: Shape5 = [1, 2, 4, 4, 4];
    const convA = new Conv3dLayer(gpu, 2, 3, C3, r);
    const convB = new Conv3dLayer(gpu, 3, 3, C3, r);
    // h feeds convB and the add; s feeds the crop and the concat twice. Linear, so the finite
    // differences are exact but for rounding.
    const graph = async (x: Tensor, pass: Pass): Promise<Tensor> => {
      const h = await apply(convA, x, pass);
      const a = await apply(convB, h, pass);
      const s = await add(a, h, pass);
      a.release();
      h.release();
      const c = await crop(s, [2, 2, 2], pass);
      const u = await upsample(c, 2, 'trilinear', pass);
      c.release();
      const y = await concat([s, u, s], pass);
      s.release();
      u.release();
      return y;
    };
    const x = uniform(
      xs.reduce((p, q) => p * q),
      r,
    );
    const xt = Tensor.fromArray(gpu, xs, x);
    const tape = new Tape();
    const y = await graph(xt, tape);
    const upstream = uniform(y.size, r);
    const dyt = Tensor.fromArray(gpu, y.shape, upstream);
    const [dx] = await tape.backward([[y, dyt]], [xt]);
    const analytic = [await dx!.toArray(), await convA.weight.grad!.toArray(), await convB.bias!.grad!.toArray()];
    for (const t of [xt, y, dyt, dx!]) t.release();

    const forward = async ([xi, wa, bb]: Float32Array[]): Promise<Float32Array> => {
      gpu.upload(wa!, convA.weight.value.buffer);
      gpu.upload(bb!, convB.bias!.value.buffer);
      const xi_ = Tensor.fromArray(gpu, xs, xi!);
      const out = await graph(xi_, 'eval');
      const v = await out.toArray();
      xi_.release();
      out.release();
      return v;
    };
    const inputs = [x, await convA.weight.value.toArray(), await convB.bias!.value.toArray()];
    await gradCheck({ label: `tape seed ${seed}`, inputs, forward, upstream, analytic, rand: r, samples: 6 });
    for (const l of [convA, convB]) {
      for (const { item } of l.parameters()) {
        item.value.release();
        item.grad?.release();
      }
    }
  });

  it('gives back each gradient and what each op kept exactly once, after a backward or a clear(), leaking nothing', async () => {
    const r = rng(seed + 1);
    const conv = new Conv3dLayer(gpu, 1, 2, C3, r);
    const xs: Shape5 = [1, 1, 3, 4, 5];
    const before = await liveBytes();
    const drops = { used: 0, unused: 0 };
    // y = 2x, keeping x as an op that needed it would; z = 3x is recorded but gets no gradient.
    const run = async (tape: Tape): Promise<{ x: Tensor; y: Tensor; relu: Tensor }> => {
      const x = Tensor.fromArray(gpu, xs, uniform(60, r));
      const kept = x.retain();
      const y = await axpby(2, x, 0, x);
      tape.record(
        [x],
        y,
        async (dy) => [await axpby(2, dy, 0, dy)],
        () => (kept.release(), drops.used++),
      );
      const z = await axpby(3, x, 0, x);
      tape.record(
        [x],
        z,
        async () => {
          throw new Error('a backward whose output got no gradient ran');
        },
        () => drops.unused++,
      );
      z.release();
      const c = await tape.layer(conv, y);
      const relu = await tape.layer(new ReLULayer(), c);
      c.release();
      return { x, y, relu };
    };

    const tape = new Tape();
    const a = await run(tape);
    const dy = Tensor.fromArray(gpu, a.relu.shape, uniform(a.relu.size, r));
    const [dx] = await tape.backward([[a.relu, dy]], [a.x]);
    expect(drops).toEqual({ used: 1, unused: 1 });
    tape.clear();
    expect(drops, 'clear() after backward drops nothing again').toEqual({ used: 1, unused: 1 });
    await expect(conv.backward(dy), 'the conv gave back its input').rejects.toThrow(/without a training forward/);
    for (const t of [a.x, a.y, a.relu, dy, dx!]) t.release();
    for (const { item } of conv.parameters()) {
      item.grad?.release();
      item.grad = null;
    }
    expect(await liveBytes(), 'bytes held after the backward and every release').toBe(before);

    const second = new Tape();
    const b = await run(second);
    second.clear();
    second.clear();
    expect(drops, 'clear() without a backward drops each op once').toEqual({ used: 2, unused: 2 });
    for (const t of [b.x, b.y, b.relu]) t.release();
    expect(await liveBytes(), 'bytes held after a forward that was cleared').toBe(before);
    for (const { item } of conv.parameters()) item.value.release();
  });

  it('a backward with no recorded forward fails clearly, as does a seed the tape did not record', async () => {
    const t = Tensor.fromArray(gpu, [1, 1, 2, 2, 2], new Float32Array(8).fill(1));
    await expect(new Tape().backward([[t, t]])).rejects.toThrow(
      /nothing was recorded on this tape \(backward needs a training forward first\)/,
    );
    const tape = new Tape();
    const y = await add(t, t, tape);
    await expect(tape.backward([[t, t]])).rejects.toThrow(/the seed \[1, 1, 2, 2, 2\] is not the output of an op recorded on this tape/);
    tape.clear();
    y.release();
    t.release();
    const model = buildModel(gpu, SMALL_CONFIGS[0]!, seed);
    const g = model.geometry;
    const cube = (side: number): Tensor => Tensor.fromArray(gpu, [1, 1, side, side, side], new Float32Array(side ** 3));
    const d = { low: cube(g.lowInput), high: cube(g.highOutput), fused: cube(g.output) };
    await expect(model.backward(d)).rejects.toThrow(/dual\.backward without a training forward/);
    const out = await model.forward({ high: cube(g.highInput), low: cube(g.lowInput) }, 'eval');
    await expect(model.backward(d), 'an inference forward records nothing').rejects.toThrow(/dual\.backward without a training forward/);
    for (const x of [out.low, out.high, out.fused, d.low, d.high, d.fused]) x.release();
    for (const { item } of model.parameters()) item.value.release();
    for (const { item } of model.state()) item.release();
  });

  it('a second backward fails clearly, and the tape records nothing more after its backward', async () => {
    const t = Tensor.fromArray(gpu, [1, 1, 2, 2, 2], new Float32Array(8).fill(1));
    const tape = new Tape();
    const y = await add(t, t, tape);
    const [dt] = await tape.backward([[y, t]], [t]);
    expect(Array.from(await dt!.toArray()), 'dy reaches t through both inputs of the add').toEqual(new Array(8).fill(2));
    await expect(tape.backward([[y, t]])).rejects.toThrow(/Tape\.backward: this tape already ran backward or was cleared/);
    await expect(add(t, t, tape)).rejects.toThrow(/Tape\.record: this tape already ran backward or was cleared/);
    for (const x of [t, y, dt!]) x.release();

    const model = buildModel(gpu, SMALL_CONFIGS[0]!, seed);
    const g = model.geometry;
    const cube = (side: number): Tensor => Tensor.fromArray(gpu, [1, 1, side, side, side], new Float32Array(side ** 3).fill(0.5));
    const x = { high: cube(g.highInput), low: cube(g.lowInput) };
    const out = await model.forward(x, 'train');
    const d = { low: cube(g.lowInput), high: cube(g.highOutput), fused: cube(g.output) };
    await model.backward(d);
    await expect(model.backward(d)).rejects.toThrow(/dual\.backward without a training forward \(or after its backward already ran\)/);
    for (const t of [x.high, x.low, out.low, out.high, out.fused, d.low, d.high, d.fused]) t.release();
    for (const { item } of model.parameters()) {
      item.value.release();
      item.grad?.release();
    }
    for (const { item } of model.state()) item.release();
  });

  it('refuses a layer run twice in one forward (it keeps one input for its backward)', async () => {
    const t = Tensor.fromArray(gpu, [1, 1, 2, 2, 2], new Float32Array(8));
    const relu = new ReLULayer();
    const tape = new Tape();
    const a = await tape.layer(relu, t);
    await expect(tape.layer(relu, a)).rejects.toThrow(/this layer already ran in this forward/);
    tape.clear();
    for (const x of [t, a]) x.release();
  });
});
