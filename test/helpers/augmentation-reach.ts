import { expect } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.js';
import { loadModel } from '../../src/nn/models/registry.js';
import type { IntensityRange } from '../../src/nn/train/augment.js';

/**
 * Checks that a trainer hands an augmentation option on: `trainTo(name, value)` trains a model into
 * a folder and returns it; the same seed and `plain` twice give the same first weights, `other`
 * other ones (a trainer that dropped the option would give the same).
 */
export async function expectOptionReachesAugmentation<T>(
  gpu: Gpu,
  trainTo: (name: string, value: T) => Promise<string>,
  plain: T,
  other: T,
  what: string,
): Promise<void> {
  const weights = async (name: string, value: T): Promise<number[]> => {
    const { model } = await loadModel(gpu, await trainTo(name, value));
    return [
      ...(await model
        .parameters()
        .find((p) => p.name === 'high.enc0.0.weight')!
        .item.value.toArray()),
    ];
  };
  const a = await weights('reach-a', plain);
  expect(await weights('reach-a2', plain), `${what}: deterministic for a seed`).toEqual(a);
  const b = await weights('reach-b', other);
  expect(
    b.some((v, i) => v !== a[i]),
    `${what}: ${JSON.stringify(other)} instead of ${JSON.stringify(plain)} changes what is trained (it would not if the option were dropped)`,
  ).toBe(true);
}

/** The intensity reach: none against a wide one. */
export function expectIntensityReachesAugmentation(
  gpu: Gpu,
  trainTo: (name: string, intensity: IntensityRange) => Promise<string>,
  what: string,
): Promise<void> {
  return expectOptionReachesAugmentation(gpu, trainTo, { gain: 1, bias: 0, gamma: 1 }, { gain: 3, bias: 0.5, gamma: 2 }, what);
}
