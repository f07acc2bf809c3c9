import { readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ShaderSource } from './shader-source.js';

/** The package root: the nearest folder above this module whose package.json names rhizoct. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rhizoct') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the rhizoct package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function fileShaderSource(dir = join(packageRoot(), 'shaders')): ShaderSource {
  return async (name) => {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`bad shader name ${JSON.stringify(name)}`);
    const path = join(dir, `${name}.wgsl`);
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      throw new Error(`shader ${name}: cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
  };
}
