import { acquireGpu } from '../gpu/acquire.js';
import type { Gpu } from '../gpu/gpu.js';
import { defineParams } from '../gpu/uniforms.js';
import { allocateVoxels, bytesPerVoxel, type DType, dtypeOf, type VoxelArray } from '../io/volume.js';
import { type Box, type Vec3, boxVoxels, makeBox, voxelCount } from '../volume/box.js';
import { copyBox } from '../volume/copy.js';
import { halveShape } from '../volume/pyramid.js';

/** How a 2×2×2 block becomes one voxel: images use the mean, label images max or mode. */
export type DownsampleMethod = 'mean' | 'max' | 'mode';
export const DOWNSAMPLE_METHODS: readonly DownsampleMethod[] = ['mean', 'max', 'mode'];

const MODE: Record<DownsampleMethod, number> = { mean: 0, max: 1, mode: 2 };
const DTYPE: Record<DType, number> = { uint8: 0, uint16: 1, int16: 2, float32: 3 };
/** downsample2x.wgsl's parameters: input and output shapes (z, y, x) and the output's 32-bit words. */
const DOWNSAMPLE_PARAMS = defineParams('Params', {
  in_z: 'u32',
  in_y: 'u32',
  in_x: 'u32',
  out_z: 'u32',
  out_y: 'u32',
  out_x: 'u32',
  out_words: 'u32',
});

export interface DownsamplerOptions {
  /** Input bytes per dispatch (default 64 MiB, never above the device's binding limit). */
  readonly pieceBytes?: number;
  /** Invocations per workgroup (default 256). */
  readonly workgroupSize?: number;
}

/** Halves volumes on the GPU with shaders/downsample2x.wgsl. */
export class GpuDownsampler {
  /** Bytes of input sent to the GPU per dispatch; kept under the binding limit. */
  readonly pieceBytes: number;

  private constructor(
    readonly gpu: Gpu,
    private readonly ownsGpu: boolean,
    opts: DownsamplerOptions,
  ) {
    this.pieceBytes = Math.min(opts.pieceBytes ?? 64 << 20, gpu.maxBinding);
    this.workgroupSize = opts.workgroupSize ?? 256;
  }

  readonly workgroupSize: number;

  /** Uses `gpu` when given (the caller keeps it), else acquires a device of its own. */
  static async create(gpu?: Gpu, opts: DownsamplerOptions = {}): Promise<GpuDownsampler> {
    return new GpuDownsampler(gpu ?? (await acquireGpu({ timestamps: false })), gpu === undefined, opts);
  }

  /**
   * Returns the volume of shape ceil(shape / 2) whose voxels reduce the 2×2×2 blocks of
   * `input` (shape `shape`), in the input's type. Large inputs go to the GPU in pieces of
   * even depth and height, so every output voxel's block lies in one piece.
   */
  async downsample(input: VoxelArray, shape: Vec3, method: DownsampleMethod): Promise<VoxelArray> {
    const dtype = dtypeOf(input);
    if (input.length !== voxelCount(shape))
      throw new RangeError(`input holds ${input.length} voxels, shape ${shape.join('×')} has ${voxelCount(shape)}`);
    const outShape = halveShape(shape);
    const out = allocateVoxels(dtype, voxelCount(outShape));
    if (out.length === 0) return out;
    const bpv = bytesPerVoxel(dtype);
    const [nz, ny, nx] = shape;
    const rowBytes = nx * bpv;
    if (2 * rowBytes > this.pieceBytes) throw new RangeError(`rows of ${nx} voxels are too long to downsample on this device`);
    // Whole slices per piece where they fit, else bands of rows.
    let h = ny;
    let d = 2 * Math.floor(this.pieceBytes / (2 * ny * rowBytes));
    if (d < 2) {
      d = 2;
      h = 2 * Math.max(1, Math.floor(this.pieceBytes / (4 * rowBytes)));
    }
    const whole = makeBox([0, 0, 0], shape);
    const outWhole = makeBox([0, 0, 0], outShape);
    for (let z = 0; z < nz; z += d) {
      for (let y = 0; y < ny; y += h) {
        const piece = makeBox([z, y, 0], [Math.min(d, nz - z), Math.min(h, ny - y), nx]);
        const data = h === ny ? input.subarray(z * ny * nx, (z + piece.shape[0]) * ny * nx) : gather(input, whole, piece, dtype);
        const res = await this.run(data as VoxelArray, piece.shape, dtype, method);
        const outPiece: Box = makeBox([z / 2, y / 2, 0], halveShape(piece.shape));
        copyBox(res, outPiece, out, outWhole);
      }
    }
    return out;
  }

  private async run(data: VoxelArray, shape: Vec3, dtype: DType, method: DownsampleMethod): Promise<VoxelArray> {
    const gpu = this.gpu;
    const os = halveShape(shape);
    const per = 4 / bytesPerVoxel(dtype);
    const nOut = voxelCount(os);
    const words = Math.ceil(nOut / per);
    const src = gpu.upload(data);
    const dst = gpu.createBuffer(words * 4, 'downsample2x out');
    try {
      const params = DOWNSAMPLE_PARAMS.pack({
        in_z: shape[0],
        in_y: shape[1],
        in_x: shape[2],
        out_z: os[0],
        out_y: os[1],
        out_x: os[2],
        out_words: words,
      });
      await gpu.run(
        {
          shader: 'downsample2x',
          entry: 'main',
          constants: { MODE: MODE[method], DTYPE: DTYPE[dtype], WG: this.workgroupSize },
          params: DOWNSAMPLE_PARAMS,
        },
        [src, dst, params],
        Math.ceil(words / this.workgroupSize),
        'downsample2x',
      );
      const bytes = await gpu.readback(dst, nOut * bytesPerVoxel(dtype));
      const out = allocateVoxels(dtype, nOut);
      new Uint8Array(out.buffer).set(new Uint8Array(bytes));
      return out;
    } finally {
      gpu.release(src);
      gpu.release(dst);
    }
  }

  destroy(): void {
    if (this.ownsGpu) this.gpu.destroy();
  }
}

function gather(input: VoxelArray, whole: Box, piece: Box, dtype: DType): VoxelArray {
  const out = allocateVoxels(dtype, boxVoxels(piece));
  copyBox(input, whole, out, piece);
  return out;
}
