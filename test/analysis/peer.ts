import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PYTHON, pythonHas, REPO_ROOT } from '../io/helpers.js';
import type { Mask } from './shapes.js';

const SCRIPT = join(REPO_ROOT, 'test', 'analysis', 'peers.py');

export const HAS_SKIMAGE = pythonHas('numpy', 'scipy', 'skimage');
export const SKIP_NOTE = HAS_SKIMAGE ? '' : ` [SKIPPED: ${PYTHON} lacks numpy/scipy/skimage (Debian python3-skimage)]`;

/** Runs peers.py OP on the mask in `dir`; returns the raw bytes it wrote. */
export function peer(op: 'skeleton' | 'label26' | 'label6' | 'edt', m: Mask, dir: string, env: Record<string, string> = {}): Buffer {
  const src = join(dir, `in-${op}.raw`);
  const dst = join(dir, `out-${op}.raw`);
  writeFileSync(src, m.data);
  const r = spawnSync(PYTHON, [SCRIPT, op, src, dst, ...m.shape.map(String)], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`peers.py ${op} failed (${r.status}): ${r.stderr}`);
  return readFileSync(dst);
}
