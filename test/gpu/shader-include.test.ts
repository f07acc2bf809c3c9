import { describe, expect, it } from 'vitest';
import { expandIncludes } from '../../src/gpu/shader-include.js';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileShaderSource, packageRoot } from '../../src/gpu/shader-source-node.js';

const files: Record<string, string> = {
  main: 'alias T = f32;\n// #include a\nfn main_fn() {}\n  //   #include b  \n',
  a: '// #include b\nfn a() {}',
  b: 'fn b() {}',
  loop1: '// #include loop2',
  loop2: 'x\n// #include loop1',
};
const source = async (name: string): Promise<string> => {
  const t = files[name];
  if (t === undefined) throw new Error(`no ${name}`);
  return t;
};

describe('WGSL includes', () => {
  it('replaces `// #include name` lines by the file, nested, each file once, and maps lines back to their file', async () => {
    const e = await expandIncludes('main', source);
    expect(e.code.split('\n')).toEqual(['alias T = f32;', 'fn b() {}', 'fn a() {}', 'fn main_fn() {}', '']);
    expect([1, 2, 3, 4].map((n) => e.origin(n))).toEqual([
      'shaders/main.wgsl:1',
      'shaders/b.wgsl:1',
      'shaders/a.wgsl:2',
      'shaders/main.wgsl:3',
    ]);
  });

  it('refuses a file that includes itself, naming the chain', async () => {
    await expect(expandIncludes('loop1', source)).rejects.toThrow('loop1 → loop2 → loop1 includes itself');
  });

  it('every include in shaders/ names a fragment that exists', async () => {
    const src = fileShaderSource();
    const names = readdirSync(join(packageRoot(), 'shaders'))
      .filter((f) => f.endsWith('.wgsl'))
      .map((f) => f.slice(0, -5));
    let included = 0;
    for (const k of names) {
      const raw = await src(k);
      const e = await expandIncludes(k, src);
      expect(
        e.code.split('\n').some((l) => /^\s*\/\/\s*#include\s+\S+\s*$/.test(l)),
        k,
      ).toBe(false);
      if (e.code !== raw) included++;
    }
    expect(included).toBeGreaterThanOrEqual(11);
  });
});
