import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

/**
 * Vitest global setup: the browser tests serve dist/viewer, so it is built once from the current
 * sources before any test file runs (a build inside a test file would swap the files under a page
 * another file is loading).
 */
export default function setup(): void {
  const repo = resolve(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [join(repo, 'viewer', 'build.mjs')], { cwd: repo, stdio: 'pipe' });
}
