import { GpuError, INSTALL_HINT } from './errors.js';
import { fileShaderSource } from './shader-source-node.js';
import type { ShaderSource } from './shader-source.js';

let cached: GPU | null = null;

/** Dawn's `navigator.gpu` equivalent in Node, created once per process. */
export async function nodeGpuApi(): Promise<GPU> {
  if (cached) return cached;
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    throw new GpuError(
      'no-webgpu',
      `cannot load the npm package "webgpu" (Dawn): ${(e as Error).message}. Run npm install. ${INSTALL_HINT}`,
    );
  }
  Object.assign(globalThis, mod.globals);
  cached = mod.create([]);
  return cached;
}

export async function defaultShaderSource(): Promise<ShaderSource> {
  return fileShaderSource();
}
