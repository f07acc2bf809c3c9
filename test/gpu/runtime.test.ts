import { describe, it, expect, beforeAll } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { foldWorkgroups } from '../../src/gpu/dispatch.js';
import { BufferPool } from '../../src/gpu/buffer-pool.js';
import { kernelKey } from '../../src/gpu/kernel-spec.js';
import { isGpuError } from '../../src/gpu/errors.js';
import { acquireGpu } from '../../src/gpu/acquire.js';
import { fillBuffer } from '../../src/nn/ops/fill.js';
import { testGpu } from '../helpers/gpu.js';
import { freshSeed, rng } from '../helpers/random.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const seed = freshSeed();

describe('dispatch folding', () => {
  it(`covers every workgroup exactly once within the limit (seeded, seed ${seed})`, () => {
    const r = rng(seed);
    const counts = [0, 1, 65535, 65536, 65535 * 2 + 1, 65535 ** 2, 65535 ** 2 + 7];
    for (let i = 0; i < 300; i++) counts.push(Math.floor(r() ** 3 * 2 ** 40));
    for (const count of counts) {
      for (const max of [65535, 1000, 7]) {
        if (count > max ** 3) continue;
        const g = foldWorkgroups(count, max);
        const label = JSON.stringify({ count, max, g });
        expect(
          g.every((v) => v <= max),
          label,
        ).toBe(true);
        const cap = g[0] * g[1] * g[2];
        expect(cap >= count, label).toBe(true);
        // Slack below one row of the grid: so few idle groups that the shader's guard is cheap.
        expect(cap - count < g[0] * g[1] || count === 0, label).toBe(true);
      }
    }
  });

  it('a kernel dispatched over more than 65,535 workgroups writes every element', async () => {
    const n = 65_535 * 256 + 1000; // 65,539 groups of 256
    const buf = gpu.createBuffer(n * 4);
    await fillBuffer(gpu, buf, n, 2.5);
    const out = await gpu.readF32(buf, n);
    let bad = 0;
    for (let i = 0; i < n; i++) if (out[i] !== 2.5) bad++;
    expect(bad).toBe(0);
    gpu.release(buf);
  });
});

describe('buffer pool and pipeline cache', () => {
  it('buckets grow by at most ~19% and reuse released buffers', () => {
    for (let b = 1; b < 1e9; b = Math.ceil(b * 1.37) + 3) {
      const s = BufferPool.bucket(b);
      expect(s).toBeGreaterThanOrEqual(b);
      expect(s % 256).toBe(0);
      if (b > 4096) expect(s / b).toBeLessThan(1.2);
    }
    const a = gpu.createBuffer(1000);
    gpu.release(a);
    const b = gpu.createBuffer(990);
    expect(b).toBe(a);
    gpu.release(b);
  });

  it('keys pipelines by shader, entry and sorted constants', async () => {
    expect(kernelKey({ shader: 's', constants: { B: 1, A: true } })).toBe(
      kernelKey({ shader: 's', entry: 'main', constants: { A: 1, B: 1 } }),
    );
    const p1 = await gpu.kernel({ shader: 'fill', constants: { WG: 64 } });
    const p2 = await gpu.kernel({ shader: 'fill', constants: { WG: 64 } });
    expect(p1).toBe(p2);
  });

  it('reports a WGSL compile error naming the shader', async () => {
    const bad = await acquireGpu({ shaderSource: async () => 'fn main( {' });
    await expect(bad.kernel({ shader: 'broken' })).rejects.toSatisfy(
      (e: unknown) => isGpuError(e, 'shader') && /shaders\/broken\.wgsl/.test((e as Error).message),
    );
    bad.destroy();
  });

  it('measures GPU time with timestamp queries where the device has them', async () => {
    const buf = gpu.createBuffer(1 << 20);
    const t = await gpu.timed(() => fillBuffer(gpu, buf, 1 << 18, 1));
    if (gpu.hasTimestamps) {
      expect(t.gpuNs).toBeGreaterThan(0);
      expect(t.byLabel.get('fill')).toBeGreaterThan(0);
    } else {
      expect(t.gpuNs).toBeNull();
    }
    gpu.release(buf);
  });
});
