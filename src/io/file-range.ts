import { open, type FileHandle } from 'node:fs/promises';
import { NotFoundError, TruncatedError } from './errors.js';

/** A file opened for reading byte ranges, which fail loudly when the file is too short. */
export class RangeFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<RangeFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(path, 'no such file');
      throw err;
    }
    const st = await fh.stat();
    return new RangeFile(path, fh, st.size);
  }

  /** Reads `length` bytes at `offset`; `what` names the part for the error message. */
  async read(offset: number, length: number, what: string): Promise<Uint8Array> {
    if (offset < 0 || offset + length > this.size) {
      throw new TruncatedError(this.path, `${what} spans bytes ${offset}..${offset + length} but the file has ${this.size} bytes`);
    }
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new TruncatedError(this.path, `${what}: unexpected end of file at byte ${offset + done}`);
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Opens `path`, runs `fn`, and closes the file whatever happens. */
export async function withRangeFile<T>(path: string, fn: (f: RangeFile) => Promise<T>): Promise<T> {
  const f = await RangeFile.open(path);
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}
