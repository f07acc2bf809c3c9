import { describe, expect, it } from 'vitest';
import { importClosure, localImports } from '../helpers/imports.js';

describe('inference does not depend on training code', () => {
  it('src/pipeline/segment.ts imports nothing from src/nn/train/', () => {
    const direct = localImports('src/pipeline/segment.ts');
    expect(direct).toContain('src/volume/cube-transform.ts');
    expect(direct.filter((f) => f.startsWith('src/nn/train/'))).toEqual([]);
  });

  it('nor does anything segment loads when it runs (type-only imports, erased, aside)', () => {
    const reached = [...importClosure('src/pipeline/segment.ts', { runtime: true })];
    expect(reached).toContain('src/nn/models/infer.ts'); // the walk does follow imports
    expect(reached.filter((f) => f.startsWith('src/nn/train/'))).toEqual([]);
  });
});
