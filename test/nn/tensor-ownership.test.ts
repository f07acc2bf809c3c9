import { describe, it, expect, beforeAll } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { isGpuError } from '../../src/gpu/errors.js';
import { Tensor } from '../../src/nn/tensor.js';
import { buildModel } from '../../src/nn/models/registry.js';
import { SMALL_CONFIGS } from './small-configs.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

/** The error `fn` throws (failing the test when it throws nothing). */
function thrown(fn: () => void): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw, got none');
}

describe('tensor and buffer ownership', () => {
  it('a second release of a tensor throws, naming the tensor and where it was first released', () => {
    const t = Tensor.fromArray(gpu, [1, 2, 3, 4, 5], new Float32Array(120));
    t.release();
    const e = thrown(() => t.release());
    expect(isGpuError(e, 'double-release')).toBe(true);
    expect(e.message).toContain('tensor [1, 2, 3, 4, 5] released twice');
    expect(e.message, 'a hint on what to look for').toContain('retain()');
    expect(e.message, 'the first release site').toMatch(/first released at:\n.*tensor-ownership\.test\.ts/);
  });

  it('each owner releases once: retain() adds an owner, the release after the last one throws', () => {
    const t = Tensor.empty(gpu, [1, 1, 2, 2, 2]);
    t.retain().retain();
    t.release();
    t.release();
    expect(t.isReleased).toBe(false);
    t.release();
    expect(t.isReleased).toBe(true);
    expect(
      isGpuError(
        thrown(() => t.release()),
        'double-release',
      ),
    ).toBe(true);
  });

  it('a second release of a pooled buffer throws, and the pool never holds it twice', () => {
    const a = gpu.createBuffer(4096, 'twice');
    gpu.release(a);
    const e = thrown(() => gpu.release(a));
    expect(isGpuError(e, 'double-release')).toBe(true);
    expect(e.message).toContain('buffer "twice"');
    expect(e.message).toContain('released twice');
    // Had the second release been accepted, the next two buffers of this size would be the same one.
    const b = gpu.createBuffer(4096);
    const c = gpu.createBuffer(4096);
    expect(b).not.toBe(c);
    gpu.release(b);
    gpu.release(c);
  });

  it('a split tensor gives each piece back once', () => {
    const t = Tensor.empty(gpu, [1, 1, 8, 4, 4], 4 * 4 * 4 * 3); // three planes per piece
    expect(t.pieces.length).toBe(3);
    t.release();
    expect(
      isGpuError(
        thrown(() => t.release()),
        'double-release',
      ),
    ).toBe(true);
  });

  it.each(SMALL_CONFIGS.map((c) => [c.arch, c] as const))(
    '%s: a training forward, backward and clear() release nothing twice',
    async (_arch, config) => {
      const model = buildModel(gpu, config, 3);
      const g = model.geometry;
      const filled = (side: number, v: number): Tensor =>
        Tensor.fromArray(gpu, [1, 1, side, side, side], new Float32Array(side ** 3).fill(v));
      const inputs = (): { high: Tensor; low: Tensor } => ({ high: filled(g.highInput, 0.3), low: filled(g.lowInput, 0.1) });
      const x = inputs();
      const out = await model.forward(x, 'train');
      const like = (t: Tensor): Tensor => Tensor.fromArray(gpu, t.shape, new Float32Array(t.size).fill(1e-3));
      const d = { low: like(out.low), high: like(out.high), fused: like(out.fused) };
      await model.backward(d);
      for (const t of [x.high, x.low, out.low, out.high, out.fused, d.low, d.high, d.fused]) t.release();
      // A second forward whose backward never comes: clear() drops what it kept, once, and again is a no-op.
      const y = inputs();
      const again = await model.forward(y, 'train');
      model.clear();
      model.clear();
      for (const t of [y.high, y.low, again.low, again.high, again.fused]) t.release();
      for (const { item } of model.parameters()) {
        item.grad?.release();
        item.value.release();
      }
      for (const { item } of model.state()) item.release();
      await gpu.sync();
    },
  );
});
