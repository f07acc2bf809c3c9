import { createReadStream, type ReadStream } from 'node:fs';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { CorruptDataError, TruncatedError } from './errors.js';

export interface GzipCursorOptions {
  /** Byte of the file where the compressed stream starts (after an uncompressed header); default 0. */
  readonly start?: number;
  /** 'gzip' (default; .gz files, NRRD's gzip encoding) or 'zlib' (MetaImage's compressed data). */
  readonly format?: 'gzip' | 'zlib';
}

/**
 * Reads byte ranges of the decompressed content of a gzip (or zlib) stream by streaming it
 * forwards. Reading forwards costs one pass; asking for bytes behind the cursor restarts the
 * stream. Only one read-ahead chunk is held, so memory stays small whatever the file's size.
 */
export class GzipCursor {
  private rs?: ReadStream;
  private gz?: Gunzip | Inflate;
  private it?: AsyncIterator<Buffer>;
  /** Decompressed offset of buf[0]. */
  private pos = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** Restarts so far; lets tests see that forward reads do not rewind. */
  restarts = 0;

  private readonly from: number;
  private readonly kind: 'gzip' | 'zlib';

  constructor(
    readonly path: string,
    opts: GzipCursorOptions = {},
  ) {
    this.from = opts.start ?? 0;
    this.kind = opts.format ?? 'gzip';
  }

  private start(): void {
    this.stop();
    this.rs = createReadStream(this.path, { highWaterMark: 1 << 20, start: this.from });
    this.gz = this.kind === 'zlib' ? createInflate({ chunkSize: 1 << 20 }) : createGunzip({ chunkSize: 1 << 20 });
    const gz = this.gz;
    this.rs.on('error', (e) => gz.destroy(e));
    this.rs.pipe(gz);
    this.it = gz[Symbol.asyncIterator]();
    this.pos = 0;
    this.buf = Buffer.alloc(0);
  }

  private stop(): void {
    this.rs?.destroy();
    this.gz?.destroy();
    this.rs = undefined;
    this.gz = undefined;
    this.it = undefined;
  }

  /** Moves to the next decompressed chunk; false at the end of the stream. */
  private async pull(what: string): Promise<boolean> {
    try {
      const r = await this.it!.next();
      if (r.done) return false;
      this.pos += this.buf.length;
      this.buf = r.value;
      return true;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'Z_BUF_ERROR' || /unexpected end/i.test(e.message)) {
        throw new TruncatedError(this.path, `${this.kind} stream ends early while reading ${what}`, { cause: err });
      }
      throw new CorruptDataError(
        this.path,
        `${this.kind} stream is corrupt near decompressed byte ${this.pos + this.buf.length} (${e.message})`,
        { cause: err },
      );
    }
  }

  /** Copies decompressed bytes [offset, offset + dst.length) into `dst`. */
  async readInto(offset: number, dst: Uint8Array, what: string): Promise<void> {
    const n = await this.readAvailable(offset, dst, what);
    if (n < dst.length) {
      throw new TruncatedError(
        this.path,
        `decompressed data ends at byte ${offset + n}, but ${what} needs bytes up to ${offset + dst.length}`,
      );
    }
  }

  /** Like readInto, but stops quietly at the end of the data; returns the bytes copied. */
  async readAvailable(offset: number, dst: Uint8Array, what: string): Promise<number> {
    if (!this.it || offset < this.pos) {
      if (this.it) this.restarts++;
      this.start();
    }
    let done = 0;
    while (done < dst.length) {
      const want = offset + done;
      const end = this.pos + this.buf.length;
      if (want >= end) {
        if (!(await this.pull(what))) return done;
        continue;
      }
      const from = want - this.pos;
      const n = Math.min(dst.length - done, this.buf.length - from);
      dst.set(this.buf.subarray(from, from + n), done);
      done += n;
    }
    return done;
  }

  async read(offset: number, length: number, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.readInto(offset, out, what);
    return out;
  }

  /** Streams to the end, throwing if the gzip data is truncated or corrupt; returns the decompressed size. */
  async drain(what: string): Promise<number> {
    if (!this.it) this.start();
    while (await this.pull(what));
    return this.pos + this.buf.length;
  }

  close(): void {
    this.stop();
  }
}
