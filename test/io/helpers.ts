import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PYTHON = '/usr/bin/python3';

const hasCache = new Map<string, boolean>();

/** True when /usr/bin/python3 imports every module named. */
export function pythonHas(...modules: string[]): boolean {
  const key = modules.join(',');
  if (!hasCache.has(key)) {
    const ok =
      existsSync(PYTHON) && spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8' }).status === 0;
    hasCache.set(key, ok);
  }
  return hasCache.get(key)!;
}

/** The reason a python-dependent test is skipped, for the test title. */
export function pythonSkipNote(...modules: string[]): string {
  return pythonHas(...modules) ? '' : ` [SKIPPED: ${PYTHON} lacks ${modules.join(', ')}]`;
}

/** Runs a Python script with arguments; throws with its stderr when it fails. Returns stdout. */
export function runPython(script: string, ...args: string[]): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'rhizoct-io-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The repository root (where package.json is). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** ../shared/data relative to the repository root, where the real scans live. */
export const SHARED_DATA = resolve(REPO_ROOT, '..', 'shared', 'data');

const commandCache = new Map<string, boolean>();

/** True when `name` runs from the PATH (test peers such as teem-unu). */
export function commandExists(name: string): boolean {
  if (!commandCache.has(name)) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    commandCache.set(name, r.status === 0);
  }
  return commandCache.get(name)!;
}

/** The reason a peer-dependent test is skipped, for the test title. */
export function commandSkipNote(name: string, pkg: string): string {
  return commandExists(name) ? '' : ` [SKIPPED: ${name} is not installed (Debian package ${pkg}; scripts/setup.sh --test installs it)]`;
}

/** Runs a command; throws with its stderr when it fails. Returns stdout (binary-safe as a Buffer). */
export function runCommand(cmd: string, args: readonly string[], opts: { cwd?: string } = {}): Buffer {
  const r = spawnSync(cmd, args, { maxBuffer: 256 << 20, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString()}`);
  return r.stdout;
}
