import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AbsolutePath, AsyncMutable, RangeQuery } from 'zarrita';
import { writeFileAtomic } from './atomic-write.js';

/**
 * A Zarr store on the local file system whose writes are atomic: each key is written to a
 * temporary file beside it and renamed into place (io/atomic-write), so a killed process leaves
 * either the old bytes or the new ones, never a torn chunk.
 */
export class AtomicFileStore implements AsyncMutable {
  private readonly made = new Set<string>();

  constructor(readonly root: string) {}

  private file(key: AbsolutePath): string {
    const rel = key.replace(/^\/+/, '');
    if (rel.split('/').some((p) => p === '..')) throw new RangeError(`store key ${key} leaves the store`);
    return join(this.root, rel);
  }

  async get(key: AbsolutePath): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.file(key)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async getRange(key: AbsolutePath, range: RangeQuery): Promise<Uint8Array | undefined> {
    let fh;
    try {
      fh = await open(this.file(key), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const size = (await fh.stat()).size;
      const [offset, length] = 'suffixLength' in range ? [size - range.suffixLength, range.suffixLength] : [range.offset, range.length];
      const buf = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
      await fh.read(buf, 0, buf.length, offset);
      return buf;
    } finally {
      await fh.close();
    }
  }

  async set(key: AbsolutePath, value: Uint8Array): Promise<void> {
    const fp = this.file(key);
    const dir = dirname(fp);
    if (!this.made.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.made.add(dir);
    }
    await writeFileAtomic(fp, value);
  }

  async delete(key: AbsolutePath): Promise<boolean> {
    try {
      await unlink(this.file(key));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }
}
