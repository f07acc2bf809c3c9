import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';

/**
 * The temporary name beside `path` that an atomic write of it uses: the same folder (so the
 * rename stays on one file system and is atomic), `.tmp-` then the process id and random bytes,
 * so two processes (shards on different nodes share pids) or two writes in one process never
 * share a temporary file.
 */
export function atomicTempName(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Writes a whole file atomically: `write` fills a temporary file beside `path` (it gets the
 * temporary's name), which is then renamed onto `path`, so a reader or a killed process sees the
 * old file or the new one, never half of one. If `write` or the rename fails, the temporary is
 * removed and the error passes on. No fsync: none of the callers asks for durability across a
 * power loss, only for never seeing a torn file after a crash of the process.
 */
export async function withAtomicFile<T>(path: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = atomicTempName(path);
  try {
    const result = await write(tmp);
    await rename(tmp, path);
    return result;
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Writes `data` to `path` atomically (see withAtomicFile). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await withAtomicFile(path, (tmp) => writeFile(tmp, data));
}
