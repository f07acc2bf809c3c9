import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The repository's own modules `file` imports (static, dynamic and re-exports), as paths relative
 * to the repository; with `runtime`, only those loaded when it runs (not `import type`/`export type`).
 */
export function localImports(file: string, opts: { runtime?: boolean } = {}): string[] {
  const text = readFileSync(join(REPO, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:(import|export)\s+(type\s+)?[^;]*?from\s*|[^\n]*?\bimport\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
    if (opts.runtime && m[2]) continue;
    const target = resolve(dirname(join(REPO, file)), m[3]!).replace(/\.js$/, '.ts');
    if (existsSync(target)) out.push(relative(REPO, target));
  }
  return out;
}

/** Every module reachable from `entry` through local imports (see localImports), `entry` included. */
export function importClosure(entry: string, opts: { runtime?: boolean } = {}): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...localImports(f, opts));
  }
  return seen;
}
