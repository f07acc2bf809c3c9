import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { bceWithLogits } from '../../src/nn/ops/bce.js';
import { buildModel, saveModel, loadModel } from '../../src/nn/models/registry.js';
import type { SegmentationModel } from '../../src/nn/models/model.js';
import { MaxPoolLayer, ReLULayer } from '../../src/nn/layers/simple.js';
import { SMALL_CONFIGS } from './small-configs.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';

const hasTorch = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

const CONFIGS = SMALL_CONFIGS;

const f32 = (path: string): Float32Array => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const sigmoid = (a: ArrayLike<number>): Float64Array => Float64Array.from(a as number[], (v) => 1 / (1 + Math.exp(-v)));

/** Random BN affine and running statistics, so eval-mode parity tests more than the identity. */
async function randomiseState(model: SegmentationModel, r: () => number): Promise<void> {
  for (const { name, item } of model.parameters()) {
    if (/\d\.(weight|bias)$/.test(name) && item.value.shape[0] === 1 && item.value.shape[1] === 1) {
      gpu.upload(uniform(item.value.size, r, name.endsWith('weight') ? 0.5 : -0.2, name.endsWith('weight') ? 1.5 : 0.2), item.value.buffer);
    }
  }
  for (const { name, item } of model.state()) {
    gpu.upload(uniform(item.size, r, name.endsWith('var') ? 0.5 : -0.3, name.endsWith('var') ? 1.5 : 0.3), item.buffer);
  }
}

/**
 * Runs `f` (a training forward) recording its branch at every kink, in call order: per ReLU one
 * byte per value (1 where the output is > 0), per 2× max-pool one byte per output (the position of
 * the window's first maximum, (kd·2 + kh)·2 + kw). parity_check.py takes these branches in its
 * float64 step (see there why).
 */
async function recordKinks<T>(
  f: () => Promise<T>,
): Promise<{ result: T; kinds: { kind: 'relu' | 'pool'; size: number }[]; bytes: Uint8Array }> {
  const kinds: { kind: 'relu' | 'pool'; size: number }[] = [];
  const chunks: Uint8Array[] = [];
  const relu = ReLULayer.prototype.forward;
  const pool = MaxPoolLayer.prototype.forward;
  ReLULayer.prototype.forward = async function (this: ReLULayer, x, mode) {
    const y = await relu.call(this, x, mode);
    chunks.push(Uint8Array.from(await y.toArray(), (v) => (v > 0 ? 1 : 0)));
    kinds.push({ kind: 'relu', size: y.size });
    return y;
  };
  MaxPoolLayer.prototype.forward = async function (this: MaxPoolLayer, x, mode) {
    const y = await pool.call(this, x, mode);
    const [xs, ys] = [await x.toArray(), await y.toArray()];
    const [, , d, h, w] = x.shape;
    const [, , od, oh, ow] = y.shape;
    const arg = new Uint8Array(y.size);
    for (let i = 0; i < y.size; i++) {
      const [ox, oy, oz, plane] = [i % ow, Math.floor(i / ow) % oh, Math.floor(i / (ow * oh)) % od, Math.floor(i / (ow * oh * od))];
      let k = 0;
      while (k < 7 && xs[((plane * d + 2 * oz + (k >> 2)) * h + 2 * oy + ((k >> 1) & 1)) * w + 2 * ox + (k & 1)] !== ys[i]) k++;
      arg[i] = k;
    }
    chunks.push(arg);
    kinds.push({ kind: 'pool', size: y.size });
    return y;
  };
  try {
    const result = await f();
    const bytes = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
    return { result, kinds, bytes };
  } finally {
    ReLULayer.prototype.forward = relu;
    MaxPoolLayer.prototype.forward = pool;
  }
}

describe.skipIf(!hasTorch)(`architectures match their PyTorch peers in bench/reference (seed ${seed})`, () => {
  for (const config of CONFIGS) {
    it(`${config.arch}: eval outputs, and one training step's loss and gradients`, async () => {
      const r = rng(seed);
      const built = buildModel(gpu, config, seed);
      await randomiseState(built, r);
      const dir = mkdtempSync(join(tmpdir(), `parity-${config.arch}-`));
      await saveModel(built, dir, { normalisation: { offset: 0, scale: 1 } });
      const { model } = await loadModel(gpu, dir);
      const g = model.geometry;
      const N = Number(process.env.PARITY_N ?? 2);
      const hs: Shape5 = [N, 1, g.highInput, g.highInput, g.highInput];
      const ls: Shape5 = [N, 1, g.lowInput, g.lowInput, g.lowInput];
      const x = uniform(
        hs.reduce((a, b) => a * b),
        r,
      );
      const xl = uniform(
        ls.reduce((a, b) => a * b),
        r,
      );
      const out = await model.forward({ high: Tensor.fromArray(gpu, hs, x), low: Tensor.fromArray(gpu, ls, xl) }, 'eval');
      const shapes: Record<string, number[]> = { high: [...hs], low: [...ls] };
      const targets: Record<string, Float32Array> = {};
      for (const k of ['low', 'high', 'fused'] as const) {
        shapes[`t_${k}`] = [...out[k].shape];
        targets[k] = Float32Array.from({ length: out[k].size }, () => (r() < 0.3 ? 1 : 0));
        writeFileSync(join(dir, `t_${k}.f32`), targets[k]!);
      }
      writeFileSync(join(dir, 'high.f32'), x);
      writeFileSync(join(dir, 'low.f32'), xl);
      writeFileSync(join(dir, 'shapes.json'), JSON.stringify(shapes));
      const {
        result: train,
        kinds,
        bytes,
      } = await recordKinks(() => model.forward({ high: Tensor.fromArray(gpu, hs, x), low: Tensor.fromArray(gpu, ls, xl) }, 'train'));
      writeFileSync(join(dir, 'kinks.json'), JSON.stringify(kinds));
      writeFileSync(join(dir, 'kinks.u8'), bytes);
      execFileSync('/usr/bin/python3', ['bench/reference/parity_check.py', dir], { stdio: 'inherit' });
      for (const k of ['low', 'high', 'fused'] as const) {
        expectClose(
          sigmoid(await out[k].toArray()),
          sigmoid(f32(join(dir, `eval_${k}.f32`))),
          `${config.arch} eval ${k} probabilities seed ${seed}`,
          1e-4,
          0,
        );
      }

      const grads: Record<string, Tensor> = {};
      let loss = 0;
      for (const [k, w] of [
        ['low', 0.5],
        ['high', 1],
        ['fused', 1],
      ] as const) {
        const t = Tensor.fromArray(gpu, train[k].shape, targets[k]!);
        const res = await bceWithLogits(train[k], t, { scale: w });
        loss += res.loss;
        grads[k] = res.grad;
      }
      await model.backward({ low: grads.low!, high: grads.high!, fused: grads.fused! });
      const peerLoss = (JSON.parse(readFileSync(join(dir, 'train_loss.json'), 'utf8')) as { loss: number }).loss;
      expect(Math.abs(loss - peerLoss), `training loss ${loss} vs torch ${peerLoss}`).toBeLessThan(1e-4 * (1 + Math.abs(peerLoss)));
      // Gradients against PyTorch in float64, on our side of every kink (recordKinks). Each is
      // compared relative to its own scale (floored at 1e-3 of the largest gradient), except those
      // that are zero in exact arithmetic (a conv bias feeding a batch norm in training mode, whose
      // output does not move with a per-channel shift; float64 gives ~1e-14 of the largest): ours
      // is then the rounding of a sum of N·D·H·W terms that cancel, which must stay below 1e-4 of
      // the largest gradient (PyTorch float32: up to 2.6e-5 over 16 seeds, ours 2.9e-5 over 22).
      // Some gradients are ill-conditioned on a given draw (mlmr's weights that a batch norm nearly
      // cancels: a 1³ conv from one channel into a batch norm is invariant to its weight but for
      // eps), and any float32 implementation lands far from float64 there: PyTorch's own float32
      // step on the same data and branches (grad32_*) is the measure. Each gradient must be within
      // 2e-3 of scale or within 3× PyTorch float32's error on it (ours/PyTorch's reached 1.6× on
      // the worst seed seen, 431664165: 7.5e-3 vs 4.8e-3).
      const wants = new Map(model.parameters().map(({ name }) => [name, f32(join(dir, `grad_${name}.f32`))]));
      const torch32 = new Map(model.parameters().map(({ name }) => [name, f32(join(dir, `grad32_${name}.f32`))]));
      const globalMax = Math.max(...[...wants.values()].flatMap((w) => Array.from(w, Math.abs)));
      let compared = 0;
      let worst = 0;
      let worstZero = 0;
      let zeroCount = 0;
      for (const { name, item } of model.parameters()) {
        const want = wants.get(name)!;
        const got = await item.grad!.toArray();
        const wantMax = Math.max(...Array.from(want, Math.abs));
        const zero = wantMax <= 1e-9 * globalMax;
        const scale = zero ? globalMax : Math.max(1e-3 * globalMax, wantMax);
        let err = 0;
        let peerErr = 0;
        const peer = torch32.get(name)!;
        for (let i = 0; i < want.length; i++) {
          err = Math.max(err, Number.isNaN(got[i]!) ? Infinity : Math.abs(got[i]! - want[i]!) / scale);
          peerErr = Math.max(peerErr, Math.abs(peer[i]! - want[i]!) / scale);
        }
        if (process.env.PARITY_REPORT) console.log(`${name}: ours ${err.toExponential(2)} torch32 ${peerErr.toExponential(2)}`);
        if (zero) {
          worstZero = Math.max(worstZero, err);
          zeroCount++;
          expect(err, `${config.arch} grad ${name} (zero in exact arithmetic): max |got| / largest gradient (seed ${seed})`).toBeLessThan(
            1e-4,
          );
        } else {
          worst = Math.max(worst, err);
          const bound = Math.max(2e-3, 3 * peerErr);
          expect(
            err,
            `${config.arch} grad ${name}: max |error| / scale, PyTorch float32's ${peerErr.toExponential(2)} (seed ${seed})`,
          ).toBeLessThan(bound);
        }
        compared++;
      }
      const zeros = zeroCount > 0 ? ` (${zeroCount} zero in exact arithmetic: within ${worstZero.toExponential(2)} of the largest)` : '';
      console.log(`${config.arch}: ${compared} parameter gradients within ${worst.toExponential(2)} of scale of PyTorch float64${zeros}`);
      expect(compared).toBeGreaterThan(10);
    });
  }
});
