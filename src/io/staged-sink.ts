import { createReadStream, createWriteStream } from 'node:fs';
import { access, type FileHandle, open, stat, unlink, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createDeflate, createGzip } from 'node:zlib';
import { type Box, boxVoxels, type Vec3 } from '../volume/box.js';
import { withAtomicFile } from './atomic-write.js';
import { OutOfBoundsError, OutputExistsError } from './errors.js';
import { bytesPerVoxel, checkBoxInside, type DType, dtypeOf, type VoxelArray, voxelBytes } from './volume.js';

/**
 * Voxels written in any order (box by box) into a temporary file beside the output, x
 * fastest, after `dataAt` bytes of header; the writers (NIfTI, NRRD, MetaImage) then
 * compress or move the file into place, so an interrupted run leaves nothing under the
 * output's name.
 */
export class StagedVoxels {
  private closed = false;

  private constructor(
    readonly path: string,
    readonly tmp: string,
    private readonly fh: FileHandle,
    readonly shape: Vec3,
    readonly dtype: DType,
    readonly dataAt: number,
  ) {}

  /**
   * Creates the temporary file for `path` with `header` at its start; refuses (unless
   * `overwrite`) when `path` or any of `outputs` already exists.
   */
  static async create(
    path: string,
    meta: { shape: Vec3; dtype: DType },
    opts: { overwrite?: boolean; header?: Uint8Array; outputs?: readonly string[] } = {},
  ): Promise<StagedVoxels> {
    if (!opts.overwrite) {
      for (const p of [path, ...(opts.outputs ?? [])]) {
        if (await exists(p)) throw new OutputExistsError(p, 'already exists (pass overwrite to replace it)');
      }
    }
    const tmp = `${path}.partial-${process.pid}`;
    const header = opts.header ?? new Uint8Array(0);
    const fh = await open(tmp, 'w+');
    try {
      if (header.length) await fh.write(header, 0, header.length, 0);
      await fh.truncate(header.length + boxVoxels({ offset: [0, 0, 0], shape: meta.shape }) * bytesPerVoxel(meta.dtype));
    } catch (err) {
      await fh.close();
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    return new StagedVoxels(path, tmp, fh, meta.shape, meta.dtype, header.length);
  }

  async writeBox(box: Box, data: VoxelArray): Promise<void> {
    checkBoxInside(this.path, this.shape, box);
    if (dtypeOf(data) !== this.dtype || data.length !== boxVoxels(box)) {
      throw new OutOfBoundsError(
        this.path,
        `writeBox got ${data.length} ${dtypeOf(data)} voxels for a box of ${boxVoxels(box)} ${this.dtype}`,
      );
    }
    const bytes = voxelBytes(data);
    const bpv = bytesPerVoxel(this.dtype);
    const [, ny, nx] = this.shape;
    const [z0, y0, x0] = box.offset;
    const [bz, by, bx] = box.shape;
    const rowBytes = bx * bpv;
    for (let z = 0; z < bz; z++) {
      if (bx === nx) {
        // Whole rows of a slice are contiguous on disk: one write per slice.
        const at = this.dataAt + ((z0 + z) * ny + y0) * nx * bpv;
        await this.fh.write(bytes, z * by * rowBytes, by * rowBytes, at);
        continue;
      }
      for (let y = 0; y < by; y++) {
        const at = this.dataAt + (((z0 + z) * ny + y0 + y) * nx + x0) * bpv;
        await this.fh.write(bytes, (z * by + y) * rowBytes, rowBytes, at);
      }
    }
  }

  /** Ends writing; the temporary file stays for the writer to finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  /** Closes and removes the temporary file. */
  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.fh.close().catch(() => undefined);
    }
    await unlink(this.tmp).catch(() => undefined);
  }
}

export async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/**
 * Writes `dest` as `head` followed by bytes [from, end) of `src`, compressed as `compress`
 * says (or copied), atomically (io/atomic-write). Returns the bytes written after `head` (the
 * compressed size).
 */
export async function assembleFile(
  dest: string,
  head: Uint8Array,
  src: string,
  from: number,
  compress: 'gzip' | 'zlib' | 'none',
): Promise<number> {
  return withAtomicFile(dest, async (tmp) => {
    await writeFile(tmp, head);
    const input = createReadStream(src, { start: from, highWaterMark: 1 << 20 });
    const output = createWriteStream(tmp, { flags: 'a' });
    if (compress === 'none') await pipeline(input, output);
    else await pipeline(input, compress === 'gzip' ? createGzip({ level: 6 }) : createDeflate({ level: 6 }), output);
    return (await stat(tmp)).size - head.length;
  });
}

/** Shortest decimal that reads back as the same double, without "-0". */
export function formatNumber(v: number): string {
  return Object.is(v, -0) || v === 0 ? '0' : String(v);
}
