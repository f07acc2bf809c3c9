import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { gpuCheck } from '../../src/pipeline/gpu-check.js';
import { forwardCandidatesFor } from '../../src/nn/ops/conv3d.js';

describe('rhizoct gpu: the self-check', () => {
  it('checks every forward variant against the direct sum and says where kernel choices are kept', async () => {
    const r = await gpuCheck();
    expect(r.selfCheck.variants.map((v) => v.variant)).toEqual(forwardCandidatesFor(5, 7, 11));
    for (const v of r.selfCheck.variants) expect(v.maxAbsError, v.variant).toBeLessThan(1e-4);
    expect(r.selfCheck.passed).toBe(true);
    expect(r.selfCheck.conv3dMaxAbsError).toBe(Math.max(...r.selfCheck.variants.map((v) => v.maxAbsError)));
    expect(r.kernelChoices.where).toBe(join(process.env.RHIZOCT_CACHE_DIR!, 'kernel-choices.json'));
    expect(r.conv3dGflops.gflops).toBeGreaterThan(0);
  });
});
