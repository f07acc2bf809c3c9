import { describe, it, beforeAll, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Gpu } from '../../src/gpu/gpu.js';
import { Tensor, type Shape5 } from '../../src/nn/tensor.js';
import { upsample3d, upsample3dBackward, type UpsampleMode } from '../../src/nn/ops/upsample.js';
import { batchNorm3dTrain, batchNorm3dBackward, channelVectorShape } from '../../src/nn/ops/batchnorm.js';
import { maxPool3d, maxPool3dBackward } from '../../src/nn/ops/maxpool.js';
import { bceWithLogits } from '../../src/nn/ops/bce.js';
import { adamState, adamStep } from '../../src/nn/ops/adam.js';
import { rmspropState, rmspropStep } from '../../src/nn/ops/rmsprop.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng, uniform } from '../helpers/random.js';
import { expectClose } from '../helpers/compare.js';

/**
 * The same random data through our kernels and through PyTorch (Debian's python3-torch at
 * /usr/bin/python3, run once for all cases): semantics, not just our own reading of them.
 */
const PYTHON = '/usr/bin/python3';
const hasTorch = (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasTorch) console.warn(`torch-parity: skipped, ${PYTHON} cannot import torch (apt-get install python3-torch to run it)`);

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();
const size = (s: Shape5): number => s.reduce((a, b) => a * b, 1);
const list = (a: Float32Array): number[] => Array.from(a);
const vec = (a: Float32Array): Tensor => Tensor.fromArray(gpu, channelVectorShape(a.length), a);

type Result = Record<string, number[] | number>;

function runTorch(cases: object[]): Result[] {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch-ops-peer.py');
  const out = execFileSync(PYTHON, [script], { input: JSON.stringify(cases), maxBuffer: 64 << 20 });
  return JSON.parse(out.toString()) as Result[];
}

describe.skipIf(!hasTorch)(`kernels match PyTorch 1.13 on the same data (seed ${seed})`, () => {
  it('trilinear and nearest upsampling, batch norm training, max-pool, BCE, Adam, RMSprop', async () => {
    const r = rng(seed);
    const cases: object[] = [];
    const checks: ((res: Result) => Promise<void>)[] = [];

    const ups: { shape: Shape5; factor: number; mode: UpsampleMode }[] = [
      { shape: [1, 3, 3, 4, 5], factor: 2, mode: 'trilinear' },
      { shape: [2, 2, 2, 3, 2], factor: 8, mode: 'trilinear' },
      { shape: [1, 2, 3, 1, 2], factor: 3, mode: 'trilinear' },
      { shape: [1, 2, 3, 2, 5], factor: 2, mode: 'nearest' },
      { shape: [1, 1, 2, 3, 2], factor: 8, mode: 'nearest' },
    ];
    for (const u of ups) {
      const x = uniform(size(u.shape), r);
      const dy = uniform(size(u.shape) * u.factor ** 3, r);
      cases.push({ op: 'upsample', shape: u.shape, factor: u.factor, mode: u.mode, x: list(x), dy: list(dy) });
      checks.push(async (res) => {
        const label = `${u.mode} ×${u.factor} ${JSON.stringify(u.shape)} vs torch, seed ${seed}`;
        const y = await upsample3d(Tensor.fromArray(gpu, u.shape, x), u.factor, u.mode);
        expectClose(await y.toArray(), res.y as number[], `forward ${label}`, 1e-6, 1e-5);
        const dx = await upsample3dBackward(Tensor.fromArray(gpu, y.shape, dy), u.shape, u.factor, u.mode);
        expectClose(await dx.toArray(), res.dx as number[], `backward ${label}`, 1e-5, 1e-5);
      });
    }

    for (const bs of [
      [2, 5, 3, 4, 5],
      [3, 3, 1, 2, 3],
    ] as Shape5[]) {
      const c = bs[1];
      const x = uniform(size(bs), r, -2, 2).map((v) => v + 3);
      const dy = uniform(size(bs), r);
      const h = { gamma: uniform(c, r, 0.5, 1.5), beta: uniform(c, r), rm: uniform(c, r), rv: uniform(c, r, 0.5, 2) };
      cases.push({
        op: 'batchnorm',
        shape: bs,
        eps: 1e-5,
        momentum: 0.1,
        x: list(x),
        dy: list(dy),
        gamma: list(h.gamma),
        beta: list(h.beta),
        rm: list(h.rm),
        rv: list(h.rv),
      });
      checks.push(async (res) => {
        const label = `batch norm ${JSON.stringify(bs)} vs torch, seed ${seed}`;
        const bn = { gamma: vec(h.gamma), beta: vec(h.beta), runningMean: vec(h.rm), runningVar: vec(h.rv), eps: 1e-5, momentum: 0.1 };
        const xt = Tensor.fromArray(gpu, bs, x);
        const { y, saved } = await batchNorm3dTrain(xt, bn);
        expectClose(await y.toArray(), res.y as number[], `y ${label}`, 2e-5, 2e-5);
        expectClose(await bn.runningMean.toArray(), res.rm as number[], `running mean ${label}`, 1e-6, 1e-5);
        expectClose(await bn.runningVar.toArray(), res.rv as number[], `running var ${label}`, 1e-6, 1e-5);
        const grads = { dgamma: vec(new Float32Array(c)), dbeta: vec(new Float32Array(c)) };
        const dx = await batchNorm3dBackward(Tensor.fromArray(gpu, bs, dy), xt, bn, saved, grads);
        expectClose(await dx.toArray(), res.dx as number[], `dx ${label}`, 5e-5, 1e-4);
        expectClose(await grads.dgamma.toArray(), res.dgamma as number[], `dgamma ${label}`, 1e-4, 1e-4);
        expectClose(await grads.dbeta.toArray(), res.dbeta as number[], `dbeta ${label}`, 1e-4, 1e-5);
      });
    }

    {
      const ms: Shape5 = [1, 3, 5, 7, 9];
      const x = uniform(size(ms), r);
      const dy = uniform(size([1, 3, 2, 3, 4]), r);
      cases.push({ op: 'maxpool', shape: ms, x: list(x), dy: list(dy) });
      checks.push(async (res) => {
        const { y, argmax } = await maxPool3d(Tensor.fromArray(gpu, ms, x));
        expectClose(await y.toArray(), res.y as number[], `max-pool vs torch, seed ${seed}`, 0, 0);
        const dx = await maxPool3dBackward(Tensor.fromArray(gpu, y.shape, dy), argmax, ms);
        expectClose(await dx.toArray(), res.dx as number[], `max-pool backward vs torch, seed ${seed}`, 0, 0);
      });
    }

    {
      const bsh: Shape5 = [2, 1, 5, 6, 7];
      const z = uniform(size(bsh), r, -8, 8);
      const tg = uniform(size(bsh), r, 0, 1).map((v) => (v > 0.6 ? 1 : 0));
      const w = uniform(size(bsh), r, 0, 2);
      cases.push({ op: 'bce', z: list(z), t: list(tg), w: list(w) });
      checks.push(async (res) => {
        const { loss, grad } = await bceWithLogits(Tensor.fromArray(gpu, bsh, z), Tensor.fromArray(gpu, bsh, tg), {
          weight: Tensor.fromArray(gpu, bsh, w),
        });
        expectClose([loss], [res.loss as number], `BCE loss vs torch, seed ${seed}`, 1e-6, 1e-5);
        expectClose(await grad.toArray(), res.grad as number[], `BCE grad vs torch, seed ${seed}`, 1e-9, 1e-5);
      });
    }

    const os: Shape5 = [1, 1, 3, 5, 7];
    const optims = [
      { kind: 'adam', opts: { lr: 1e-2, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 1e-2 } },
      { kind: 'rmsprop', opts: { lr: 2.5e-4, alpha: 0.99, eps: 1e-8, weight_decay: 0, momentum: 0.9 } },
      { kind: 'rmsprop', opts: { lr: 1e-2, alpha: 0.9, eps: 1e-6, weight_decay: 1e-3, momentum: 0, centered: true } },
    ];
    for (const o of optims) {
      const p0 = uniform(size(os), r);
      const grads = [0, 1, 2, 3].map(() => uniform(size(os), r));
      cases.push({ op: 'optim', kind: o.kind, opts: o.opts, p: list(p0), grads: grads.map(list) });
      checks.push(async (res) => {
        const p = Tensor.fromArray(gpu, os, p0);
        const oo = o.opts as unknown as Record<string, number | number[] | boolean>;
        if (o.kind === 'adam') {
          const st = await adamState(p);
          const [b1, b2] = oo.betas as number[];
          for (const [i, g] of grads.entries())
            await adamStep(p, Tensor.fromArray(gpu, os, g), st, i + 1, {
              lr: oo.lr as number,
              beta1: b1!,
              beta2: b2!,
              eps: oo.eps as number,
              weightDecay: oo.weight_decay as number,
            });
        } else {
          const ro = {
            lr: oo.lr as number,
            alpha: oo.alpha as number,
            eps: oo.eps as number,
            weightDecay: oo.weight_decay as number,
            momentum: oo.momentum as number,
            centered: (oo.centered as boolean | undefined) ?? false,
          };
          const st = await rmspropState(p, ro);
          for (const g of grads) await rmspropStep(p, Tensor.fromArray(gpu, os, g), st, ro);
        }
        expectClose(await p.toArray(), res.p as number[], `${o.kind} ${JSON.stringify(o.opts)} vs torch.optim, seed ${seed}`, 1e-6, 1e-5);
      });
    }

    const results = runTorch(cases);
    expect(results.length).toBe(checks.length);
    for (const [i, check] of checks.entries()) await check(results[i]!);
  });
});
