import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ChoiceStore, ChoiceTable } from './kernel-choices.js';

/** The folder rhizoct keeps per-machine caches in: $RHIZOCT_CACHE_DIR, else $XDG_CACHE_HOME/rhizoct, else ~/.cache/rhizoct. */
export function cacheDir(): string {
  return process.env.RHIZOCT_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'rhizoct');
}

function isTable(v: unknown): v is ChoiceTable {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every(
      (m) => typeof m === 'object' && m !== null && !Array.isArray(m) && Object.values(m).every((s) => typeof s === 'string'),
    )
  );
}

/**
 * Kernel choices in `kernel-choices.json` of the cache folder. A missing, unreadable or malformed
 * file reads as empty (the kernels are timed again and the file replaced); writes go to a
 * temporary file renamed into place, so two processes never leave a torn file. (src/gpu may not
 * import src/io, whose atomic writer this repeats in four lines.)
 */
export function fileChoiceStore(dir = cacheDir()): ChoiceStore {
  const path = join(dir, 'kernel-choices.json');
  return {
    where: path,
    read(): ChoiceTable {
      try {
        const v: unknown = JSON.parse(readFileSync(path, 'utf8'));
        return isTable(v) ? v : {};
      } catch {
        return {};
      }
    },
    write(table: ChoiceTable): void {
      mkdirSync(dir, { recursive: true });
      const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
      try {
        writeFileSync(tmp, JSON.stringify(table, null, 1) + '\n');
        renameSync(tmp, path);
      } catch (e) {
        try {
          unlinkSync(tmp);
        } catch {
          // never created
        }
        throw e;
      }
    },
  };
}
