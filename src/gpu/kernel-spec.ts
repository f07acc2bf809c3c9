import type { ParamsStruct } from './uniforms.js';

/**
 * What identifies a compute pipeline: the shader file, its entry point, its override constants,
 * and, for a kernel whose parameters are declared on the host (gpu/uniforms defineParams), that
 * declaration, which the shader's struct is checked against.
 */
export interface KernelSpec {
  shader: string;
  entry?: string;
  constants?: Record<string, number | boolean>;
  params?: ParamsStruct;
}

/** The cache key is derived from the same object the pipeline is built from, so they cannot diverge. */
export function kernelKey(spec: KernelSpec): string {
  const c = spec.constants ?? {};
  const consts = Object.keys(c)
    .sort()
    .map((k) => `${k}=${Number(c[k])}`)
    .join(',');
  return `${spec.shader}:${spec.entry ?? 'main'}:${consts}${spec.params ? `:${spec.params.signature}` : ''}`;
}
