/** What identifies a compute pipeline: the shader file, its entry point and its override constants. */
export interface KernelSpec {
  shader: string;
  entry?: string;
  constants?: Record<string, number | boolean>;
}

/** The cache key is derived from the same object the pipeline is built from, so they cannot diverge. */
export function kernelKey(spec: KernelSpec): string {
  const c = spec.constants ?? {};
  const consts = Object.keys(c)
    .sort()
    .map((k) => `${k}=${Number(c[k])}`)
    .join(',');
  return `${spec.shader}:${spec.entry ?? 'main'}:${consts}`;
}
