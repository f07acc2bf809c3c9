import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { loadModel } from '../../src/nn/models/registry.js';
import type { IntensityRange } from '../../src/nn/train/augment.js';

/**
 * Checks that a trainer hands its intensity reach to the augmentation: `trainTo(name, intensity)`
 * trains a model into a folder and returns it; the same seed and reach twice give the same first
 * weights, a wider reach other ones (a trainer that dropped the option would give the same).
 */
export async function expectIntensityReachesAugmentation(
  gpu: Gpu,
  trainTo: (name: string, intensity: IntensityRange) => Promise<string>,
  what: string,
): Promise<void> {
  const weights = async (name: string, intensity: IntensityRange): Promise<number[]> => {
    const { model } = await loadModel(gpu, await trainTo(name, intensity));
    return [
      ...(await model
        .parameters()
        .find((p) => p.name === 'high.enc0.0.weight')!
        .item.value.toArray()),
    ];
  };
  const plain = { gain: 1, bias: 0, gamma: 1 };
  const a = await weights('reach-1', plain);
  expect(await weights('reach-1b', plain), `${what}: deterministic for a seed`).toEqual(a);
  const wide = await weights('reach-3', { gain: 3, bias: 0.5, gamma: 2 });
  expect(
    wide.some((v, i) => v !== a[i]),
    `${what}: a wider intensity reach changes what is trained (it would not if the option were dropped)`,
  ).toBe(true);
}
