import type { OmeZarrWriter } from '../io/zarr-write.js';
import { allocateVoxels, dtypeOf, type VoxelArray } from '../io/volume.js';
import { makeBox, type Vec3 } from '../volume/box.js';
import type { DownsampleMethod, GpuDownsampler } from './downsample.js';

interface LevelState {
  shape: Vec3;
  /** Chunk depth: rows are written once a whole chunk row (or the end) is buffered. */
  cz: number;
  buf: VoxelArray | undefined;
  /** z range of level rows held in buf. */
  z0: number;
  z1: number;
  /** Next z to write, and next (even) z to downsample. */
  written: number;
  reduced: number;
}

/**
 * Builds every level of a pyramid from level-0 slabs pushed in z order: each level keeps
 * only the rows not yet written or not yet halved (under two chunk rows), writes whole rows
 * of chunks, and sends even-depth runs through the downsampler to the next level. Memory is
 * a slab plus about two chunk rows per level, whatever the volume's depth.
 */
export class PyramidStream {
  private readonly levels: LevelState[];

  constructor(
    private readonly writer: OmeZarrWriter,
    private readonly downsampler: GpuDownsampler | undefined,
    private readonly method: DownsampleMethod,
    private readonly onWritten: (chunks: number, level: number) => void = () => undefined,
  ) {
    this.levels = writer.levelShapes.map((shape, l) => ({
      shape,
      cz: writer.grids[l]!.chunkShape[0],
      buf: undefined,
      z0: 0,
      z1: 0,
      written: 0,
      reduced: 0,
    }));
    if (this.levels.length > 1 && !downsampler) throw new RangeError('a pyramid of more than one level needs a downsampler');
  }

  /** Pushes level-0 rows [z0, z0 + depth) covering the whole y, x extent. */
  push(z0: number, data: VoxelArray): Promise<void> {
    return this.pushLevel(0, z0, data);
  }

  private async pushLevel(l: number, z0: number, data: VoxelArray): Promise<void> {
    const s = this.levels[l]!;
    const plane = s.shape[1] * s.shape[2];
    if (data.length % plane !== 0)
      throw new RangeError(`level ${l}: slab of ${data.length} voxels is not whole ${s.shape[1]}×${s.shape[2]} slices`);
    if (z0 !== s.z1) throw new RangeError(`level ${l}: slab starts at z ${z0}, expected ${s.z1}`);
    const depth = data.length / plane;
    if (z0 + depth > s.shape[0]) throw new RangeError(`level ${l}: slab ends at z ${z0 + depth}, past depth ${s.shape[0]}`);
    if (!s.buf || s.z1 === s.z0) {
      s.buf = data;
      s.z0 = z0;
    } else {
      const joined = allocateVoxels(dtypeOf(data), s.buf.length + data.length);
      joined.set(s.buf as never);
      joined.set(data as never, s.buf.length);
      s.buf = joined;
    }
    s.z1 = z0 + depth;
    const atEnd = s.z1 === s.shape[0];

    const writeTo = atEnd ? s.z1 : Math.floor(s.z1 / s.cz) * s.cz;
    if (writeTo > s.written) {
      const box = makeBox([s.written, 0, 0], [writeTo - s.written, s.shape[1], s.shape[2]]);
      const rows = s.buf.subarray((s.written - s.z0) * plane, (writeTo - s.z0) * plane) as VoxelArray;
      const n = await this.writer.writeLevelBox(l, box, rows);
      s.written = writeTo;
      this.onWritten(n, l);
    }

    if (l + 1 < this.levels.length) {
      const reduceTo = atEnd ? s.z1 : Math.floor(s.z1 / 2) * 2;
      if (reduceTo > s.reduced) {
        const rows = s.buf.subarray((s.reduced - s.z0) * plane, (reduceTo - s.z0) * plane) as VoxelArray;
        const half = await this.downsampler!.downsample(rows, [reduceTo - s.reduced, s.shape[1], s.shape[2]], this.method);
        const from = s.reduced / 2;
        s.reduced = reduceTo;
        await this.pushLevel(l + 1, from, half);
      }
    } else {
      s.reduced = s.z1;
    }

    const keepFrom = Math.min(s.written, s.reduced);
    if (keepFrom >= s.z1) {
      s.buf = undefined;
      s.z0 = s.z1;
    } else if (keepFrom > s.z0) {
      // A copy, so the rows already done are freed rather than kept alive by a view.
      s.buf = s.buf.slice((keepFrom - s.z0) * plane) as VoxelArray;
      s.z0 = keepFrom;
    }
  }

  /** Throws unless every level has been written to its last row. */
  finish(): void {
    this.levels.forEach((s, l) => {
      if (s.written !== s.shape[0]) throw new RangeError(`level ${l}: wrote rows up to z ${s.written} of ${s.shape[0]}`);
    });
  }
}
