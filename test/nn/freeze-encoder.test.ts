import { describe, it, expect, beforeAll } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { buildModel, PRESETS } from '../../src/nn/models/registry.js';
import type { SegmentationModel } from '../../src/nn/models/model.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

/** Freezes as `train --freeze-encoder` does and returns the layers (names less the parameter) now frozen and not. */
function freezeAndList(model: SegmentationModel): { frozen: string[]; trained: string[] } {
  for (const { item } of model.encoderParameters()) item.frozen = true;
  const layer = (name: string): string => name.replace(/\.(weight|bias)$/, '');
  const frozen = new Set<string>();
  const trained = new Set<string>();
  for (const { name, item } of model.parameters()) (item.frozen ? frozen : trained).add(layer(name));
  return { frozen: [...frozen], trained: [...trained] };
}

function release(model: SegmentationModel): void {
  for (const { item } of model.parameters()) item.value.release();
  for (const { item } of model.state()) item.release();
}

/** The module a layer sits in, down to `depth` dotted parts: 'high.enc0.0' → 'high.enc0' at 2. */
const modules = (names: string[], depth: number): string[] => [...new Set(names.map((n) => n.split('.').slice(0, depth).join('.')))].sort();

describe("--freeze-encoder freezes exactly both branches' encoders", () => {
  it('dual: the encoder levels of the high- and low-resolution U-Nets; not their decoders, the heads or the fusion', () => {
    const model = buildModel(gpu, PRESETS.dual!);
    const { frozen, trained } = freezeAndList(model);
    expect(modules(frozen, 2)).toEqual(['high.enc0', 'high.enc1', 'high.enc2', 'low.enc0', 'low.enc1']);
    expect(modules(trained, 2)).toEqual(['fuse.0', 'fuse.1', 'fuse.3', 'high.dec0', 'high.dec1', 'high_head', 'low.dec0', 'low_head']);
    // Every parameter of those modules, weights and batch-norm affines alike.
    for (const { name, item } of model.parameters()) expect(item.frozen, name).toBe(/^(high|low)\.enc\d\./.test(name));
    release(model);
  });

  it("mlmr: the low branch before its hourglass (bottlenecks and pools, 8× down) and the high branch's two bottlenecks before its hourglass", () => {
    const model = buildModel(gpu, PRESETS.mlmr!);
    const { frozen, trained } = freezeAndList(model);
    // low: bottleneck 0, pool 1, bottleneck 2, pool 3, bottleneck 4, pool 5, bottleneck 6, hourglass 7 (pools have no parameters).
    expect(modules(frozen, 2)).toEqual(['high.0', 'high.1', 'low.0', 'low.2', 'low.4', 'low.6']);
    expect(modules(trained, 2)).toEqual(['fuse.0', 'fuse.1', 'fuse.3', 'high.2', 'high.3', 'high_head', 'low.7', 'low_head']);
    for (const { name, item } of model.parameters()) expect(item.frozen, name).toBe(/^(high\.[01]|low\.[0246])\./.test(name));
    release(model);
  });
});
