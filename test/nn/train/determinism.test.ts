import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../../src/gpu/gpu.js';
import { bceWithLogits } from '../../../src/nn/ops/bce.js';
import { buildModel, type ModelConfig } from '../../../src/nn/models/registry.js';
import { Tensor, type Shape5 } from '../../../src/nn/tensor.js';
import { SMALL_CONFIGS } from '../small-configs.js';
import { testGpu } from '../../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../../helpers/random.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();
const CONFIGS = SMALL_CONFIGS;

/** One training step (forward in training mode, the three heads' BCE, backward) from fresh weights. */
async function step(config: ModelConfig): Promise<{ loss: number; grads: Map<string, Float32Array> }> {
  const r = rng(seed);
  const model = buildModel(gpu, config, seed);
  const g = model.geometry;
  const hs: Shape5 = [2, 1, g.highInput, g.highInput, g.highInput];
  const ls: Shape5 = [2, 1, g.lowInput, g.lowInput, g.lowInput];
  const x = uniform(
    hs.reduce((a, b) => a * b),
    r,
  );
  const xl = uniform(
    ls.reduce((a, b) => a * b),
    r,
  );
  const out = await model.forward({ high: Tensor.fromArray(gpu, hs, x), low: Tensor.fromArray(gpu, ls, xl) }, 'train');
  const grads: Record<string, Tensor> = {};
  let loss = 0;
  for (const [k, w] of [
    ['low', 0.5],
    ['high', 1],
    ['fused', 1],
  ] as const) {
    const t = Tensor.fromArray(
      gpu,
      out[k].shape,
      Float32Array.from({ length: out[k].size }, () => (r() < 0.3 ? 1 : 0)),
    );
    const res = await bceWithLogits(out[k], t, { scale: w });
    loss += res.loss;
    grads[k] = res.grad;
  }
  await model.backward({ low: grads.low!, high: grads.high!, fused: grads.fused! });
  const all = new Map<string, Float32Array>();
  for (const { name, item } of model.parameters()) all.set(name, await item.grad!.toArray());
  return { loss, grads: all };
}

describe(`a training step is bit-reproducible (seed ${seed})`, () => {
  for (const config of CONFIGS) {
    it(`${config.arch}: the same weights and batch give the same loss and the same gradient bits`, async () => {
      const a = await step(config);
      const b = await step(config);
      expect(b.loss).toBe(a.loss);
      expect([...b.grads.keys()]).toEqual([...a.grads.keys()]);
      expect(
        [...a.grads.values()].every((g) => g.some((v) => v !== 0)),
        'every parameter receives a gradient',
      ).toBe(true);
      for (const [name, ga] of a.grads) {
        const gb = b.grads.get(name)!;
        const ua = new Uint32Array(ga.buffer, ga.byteOffset, ga.length);
        const ub = new Uint32Array(gb.buffer, gb.byteOffset, gb.length);
        let differ = 0;
        for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) differ++;
        expect(differ, `${config.arch} ${name}: gradient elements whose bits differ between two identical steps`).toBe(0);
      }
    });
  }
});
