import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { atomicTempName, withAtomicFile, writeFileAtomic } from '../../src/io/atomic-write.js';
import { tempDir } from './helpers.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = await tempDir('rhizoct-atomic-');
  try {
    await fn(dir);
  } finally {
    await cleanup();
  }
}

describe('atomic whole-file writes', () => {
  it('writes the file and leaves no temporary beside it', () =>
    withDir(async (dir) => {
      const p = join(dir, 'a.json');
      await writeFileAtomic(p, '{"x": 1}\n');
      await writeFileAtomic(p, new Uint8Array([1, 2, 3])); // replaces a file that is there
      expect([...(await readFile(p))]).toEqual([1, 2, 3]);
      expect(await readdir(dir)).toEqual(['a.json']);
    }));

  it('a write that fails leaves no file and no temporary; one that replaced a file leaves the old one whole', () =>
    withDir(async (dir) => {
      const fresh = join(dir, 'fresh.bin');
      await expect(
        withAtomicFile(fresh, async (tmp) => {
          await writeFile(tmp, 'half');
          throw new Error('disk on fire');
        }),
      ).rejects.toThrow('disk on fire');
      expect(await readdir(dir)).toEqual([]);

      const old = join(dir, 'old.txt');
      await writeFileAtomic(old, 'old and whole');
      await expect(
        withAtomicFile(old, async (tmp) => {
          await writeFile(tmp, 'new but ');
          throw new Error('killed');
        }),
      ).rejects.toThrow('killed');
      expect(await readFile(old, 'utf8')).toBe('old and whole');
      expect(await readdir(dir)).toEqual(['old.txt']);
    }));

  it('a rename that fails (the target is a folder) removes the temporary and reports the error', () =>
    withDir(async (dir) => {
      const target = join(dir, 'taken');
      await mkdir(join(target, 'inside'), { recursive: true });
      await expect(writeFileAtomic(target, 'text')).rejects.toThrow();
      expect(await readdir(dir)).toEqual(['taken']);
    }));

  it('a write into a missing folder fails and creates nothing', () =>
    withDir(async (dir) => {
      await expect(writeFileAtomic(join(dir, 'no', 'such', 'f.txt'), 'text')).rejects.toThrow(/ENOENT/);
      expect(await readdir(dir)).toEqual([]);
    }));

  it('temporaries are beside the target, marked .tmp-, and unique per write, so concurrent writers never share one', () =>
    withDir(async (dir) => {
      const p = join(dir, 'c.bin');
      const names = new Set(Array.from({ length: 200 }, () => atomicTempName(p)));
      expect(names.size).toBe(200);
      for (const n of names) expect(n.startsWith(`${p}.tmp-${process.pid}-`)).toBe(true);
      const writers = Array.from({ length: 8 }, (_, i) => writeFileAtomic(p, new Uint8Array(1 << 16).fill(i)));
      await Promise.all(writers);
      const got = await readFile(p);
      expect(got.length).toBe(1 << 16);
      expect(
        got.every((v) => v === got[0]),
        'one writer whole, not a mix',
      ).toBe(true);
      expect(await readdir(dir)).toEqual(['c.bin']);
    }));
});
