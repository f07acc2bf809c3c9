import type { Box, Vec3 } from '../volume/box.js';
import type { RangeFile } from './file-range.js';
import type { GzipCursor } from './gzip-cursor.js';

/** A run of bytes in the file (`offset`, `length`) and where it goes in the box's buffer (`at`). */
export interface Span {
  offset: number;
  length: number;
  at: number;
}

/**
 * Byte ranges of a box's rows in a file whose voxels are stored x fastest, then y, then z (shape
 * z, y, x) from byte `dataOffset`; adjacent rows are merged into one range.
 */
export function boxSpans(shape: Vec3, dataOffset: number, bytesPerVoxel: number, box: Box): Span[] {
  const [, ny, nx] = shape;
  const [z0, y0, x0] = box.offset;
  const [bz, by, bx] = box.shape;
  const spans: Span[] = [];
  let at = 0;
  for (let z = z0; z < z0 + bz; z++) {
    for (let y = y0; y < y0 + by; y++) {
      const offset = dataOffset + ((z * ny + y) * nx + x0) * bytesPerVoxel;
      const length = bx * bytesPerVoxel;
      const last = spans[spans.length - 1];
      if (last && last.offset + last.length === offset) last.length += length;
      else spans.push({ offset, length, at });
      at += length;
    }
  }
  return spans;
}

/**
 * Reads byte ranges of voxel data: by range from an uncompressed file, or forwards through a
 * compressed stream, whose single cursor serialises the reads.
 */
export class VoxelBytes {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly raw: RangeFile | undefined,
    private readonly gz: GzipCursor | undefined,
  ) {}

  get compressed(): boolean {
    return this.gz !== undefined;
  }

  /** The bytes of `spans`, `total` in all, each placed at its `at`. */
  async read(spans: readonly Span[], total: number): Promise<Uint8Array> {
    const bytes = new Uint8Array(total);
    if (this.raw) {
      for (const s of spans) bytes.set(await this.raw.read(s.offset, s.length, 'voxel data'), s.at);
      return bytes;
    }
    const gz = this.gz!;
    const job = this.queue.then(async () => {
      for (const s of spans) await gz.readInto(s.offset, bytes.subarray(s.at, s.at + s.length), 'voxel data');
    });
    this.queue = job.catch(() => undefined);
    await job;
    return bytes;
  }

  async close(): Promise<void> {
    await this.raw?.close();
    this.gz?.close();
  }
}
