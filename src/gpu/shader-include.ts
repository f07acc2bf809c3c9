import type { ShaderSource } from './shader-source.js';

/** WGSL text with `// #include name` lines replaced, and where each of its lines came from. */
export interface ExpandedShader {
  readonly code: string;
  /** `shaders/file.wgsl:line` for line `n` (1-based) of `code`. */
  origin(n: number): string;
}

const INCLUDE = /^\s*\/\/\s*#include\s+([A-Za-z0-9_-]+)\s*$/;

/**
 * WGSL has no includes: a line `// #include name` (a comment, so the file stays valid WGSL for
 * other tools) is replaced by shaders/name.wgsl, whose own includes are expanded in turn. Each
 * file goes in once per module; a file that includes itself, directly or not, is an error.
 */
export async function expandIncludes(name: string, source: ShaderSource): Promise<ExpandedShader> {
  const lines: string[] = [];
  const from: string[] = [];
  const done = new Set<string>();
  const expand = async (file: string, chain: string[]): Promise<void> => {
    if (chain.includes(file)) throw new Error(`shader ${name}: ${[...chain, file].join(' → ')} includes itself`);
    if (done.has(file)) return;
    done.add(file);
    const text = await source(file);
    const own = text.split('\n');
    for (let i = 0; i < own.length; i++) {
      const m = INCLUDE.exec(own[i]!);
      if (m) await expand(m[1]!, [...chain, file]);
      else {
        lines.push(own[i]!);
        from.push(`shaders/${file}.wgsl:${i + 1}`);
      }
    }
  };
  await expand(name, []);
  return { code: lines.join('\n'), origin: (n) => from[n - 1] ?? `shaders/${name}.wgsl (expanded line ${n})` };
}
