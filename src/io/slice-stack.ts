import { type Box, type Vec3, boxVoxels } from '../volume/box.js';
import type { LengthUnit } from '../volume/voxel-size.js';
import { mapLimit } from './limit.js';
import type { HeaderReport } from './raw-volume.js';
import { allocateVoxels, checkBoxInside, type DType, type VolumeSource, type VoxelArray } from './volume.js';

/** A stack of equally sized 2D slices that can be read a rectangle at a time. */
export interface SliceSet {
  readonly count: number;
  readonly width: number;
  readonly height: number;
  readonly dtype: DType;
  /** Rows [y0, y1) and columns [x0, x1) of slice z, as a fresh array. */
  readSlice(z: number, y0: number, y1: number, x0: number, x1: number): Promise<VoxelArray>;
  close(): Promise<void>;
}

export interface StackPlacement {
  readonly voxelSize: Vec3;
  readonly unit: LengthUnit;
  readonly origin?: Vec3;
}

/** How a folder of slices is reported and placed when something beside it (a scanner's log) says more than the slices do. */
export interface SliceFolderOptions {
  /** Format name reported (default: the slices' own, e.g. 'tiff-stack'). */
  readonly format?: string;
  /** Voxel size from elsewhere; default: what the slices record, if anything. */
  readonly placement?: StackPlacement;
  readonly report?: HeaderReport;
}

/** A volume whose z axis runs over the slices of a SliceSet; slices are read in parallel. */
export class SliceStackSource implements VolumeSource {
  readonly shape: Vec3;
  readonly dtype: DType;
  readonly voxelSize: Vec3;
  readonly unit: LengthUnit;
  readonly origin: Vec3;
  readonly chunkShape: Vec3;
  readonly header?: Readonly<Record<string, string>>;
  readonly notes?: readonly string[];

  constructor(
    readonly format: string,
    readonly path: string,
    private readonly slices: SliceSet,
    placement: StackPlacement,
    report?: HeaderReport,
  ) {
    this.shape = [slices.count, slices.height, slices.width];
    this.dtype = slices.dtype;
    this.voxelSize = placement.voxelSize;
    this.unit = placement.unit;
    this.origin = placement.origin ?? [0, 0, 0];
    this.chunkShape = [1, slices.height, slices.width];
    if (report) {
      this.header = report.header;
      this.notes = report.notes;
    }
  }

  async readBox(box: Box): Promise<VoxelArray> {
    checkBoxInside(this.path, this.shape, box);
    const out = allocateVoxels(this.dtype, boxVoxels(box));
    const [z0, y0, x0] = box.offset;
    const [nz, ny, nx] = box.shape;
    if (out.length === 0) return out;
    const zs = Array.from({ length: nz }, (_, i) => z0 + i);
    await mapLimit(zs, 4, async (z, i) => {
      const plane = await this.slices.readSlice(z, y0, y0 + ny, x0, x0 + nx);
      out.set(plane as never, i * ny * nx);
    });
    return out;
  }

  close(): Promise<void> {
    return this.slices.close();
  }
}
