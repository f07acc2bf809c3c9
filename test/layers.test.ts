import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localImports, REPO } from './helpers/imports.js';

/**
 * The import order docs/architecture.md draws: which folders of src/ each folder may import
 * (besides itself). A folder is above everything it imports; nothing imports cli.
 */
const MAY_IMPORT: Record<string, readonly string[]> = {
  volume: [],
  gpu: [],
  io: ['volume'],
  nn: ['gpu', 'io', 'volume'],
  analysis: ['io', 'volume'],
  synth: ['gpu', 'io', 'volume'],
  pipeline: ['gpu', 'io', 'volume', 'nn', 'analysis', 'synth'],
  cli: ['gpu', 'io', 'volume', 'synth', 'pipeline'],
};

function sources(dir: string): string[] {
  return readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('layers: each folder of src/ imports only the folders below it (docs/architecture.md)', () => {
  it('every import of every module of src/ follows the order', () => {
    const folders = readdirSync(join(REPO, 'src'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.sort(), 'a new folder needs its place in the order (here and in docs/architecture.md)').toEqual(
      Object.keys(MAY_IMPORT).sort(),
    );
    const wrong: string[] = [];
    for (const file of sources('src')) {
      const from = file.split('/')[1]!;
      for (const target of localImports(file)) {
        const to = target.split('/')[1]!;
        if (to !== from && !MAY_IMPORT[from]!.includes(to)) wrong.push(`${file} imports ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
