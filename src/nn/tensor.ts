import type { Gpu } from '../gpu/gpu.js';
import { GpuError } from '../gpu/errors.js';

/** N, C, D, H, W. */
export type Shape5 = readonly [number, number, number, number, number];

/** A run of whole (H, W) planes of a tensor held in one GPU buffer. */
export interface Piece {
  buffer: GPUBuffer;
  /** Index of the first plane in the flattened (N·C·D) plane order. */
  firstPlane: number;
  planes: number;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * An f32 NCDHW tensor on the GPU. Small tensors live in one buffer; a tensor larger than one
 * storage binding (128 MiB on lavapipe) is split into pieces of whole planes, each bindable on its
 * own. Kernels bind `buffer` (one piece); layers that accept split tensors run by depth slabs.
 */
export class Tensor {
  private refs = 1;
  /** Where the last owner released it (stack formatted only if a second release needs it). */
  private releasedAt: Error | null = null;

  private constructor(
    readonly gpu: Gpu,
    readonly shape: Shape5,
    readonly pieces: readonly Piece[],
  ) {}

  static empty(gpu: Gpu, shape: Shape5, maxPieceBytes = gpu.maxBinding): Tensor {
    for (const s of shape) if (!Number.isInteger(s) || s <= 0) throw new RangeError(`bad tensor shape ${shapeStr(shape)}`);
    const plane = shape[3] * shape[4];
    const planes = shape[0] * shape[1] * shape[2];
    const perPiece = Math.floor(maxPieceBytes / (plane * 4));
    if (perPiece < 1) throw new GpuError('too-large', `one ${shape[3]}×${shape[4]} plane exceeds the ${maxPieceBytes}-byte binding limit`);
    const pieces: Piece[] = [];
    for (let first = 0; first < planes; first += perPiece) {
      const n = Math.min(perPiece, planes - first);
      pieces.push({ buffer: gpu.createBuffer(n * plane * 4), firstPlane: first, planes: n });
    }
    return new Tensor(gpu, shape, pieces);
  }

  static fromArray(gpu: Gpu, shape: Shape5, data: Float32Array, maxPieceBytes = gpu.maxBinding): Tensor {
    if (data.length !== numel(shape))
      throw new RangeError(`data has ${data.length} values, shape ${shapeStr(shape)} needs ${numel(shape)}`);
    const t = Tensor.empty(gpu, shape, maxPieceBytes);
    const plane = t.planeSize;
    for (const p of t.pieces) gpu.upload(data.subarray(p.firstPlane * plane, (p.firstPlane + p.planes) * plane), p.buffer);
    return t;
  }

  /** Wraps an existing single buffer (ownership passes to the tensor). */
  static wrap(gpu: Gpu, shape: Shape5, buffer: GPUBuffer): Tensor {
    return new Tensor(gpu, shape, [{ buffer, firstPlane: 0, planes: shape[0] * shape[1] * shape[2] }]);
  }

  get n(): number {
    return this.shape[0];
  }
  get c(): number {
    return this.shape[1];
  }
  get d(): number {
    return this.shape[2];
  }
  get h(): number {
    return this.shape[3];
  }
  get w(): number {
    return this.shape[4];
  }
  get planeSize(): number {
    return this.shape[3] * this.shape[4];
  }
  get size(): number {
    return numel(this.shape);
  }
  get bytes(): number {
    return this.size * 4;
  }
  get isSplit(): boolean {
    return this.pieces.length > 1;
  }

  /** The single buffer of an unsplit tensor. */
  get buffer(): GPUBuffer {
    this.checkLive();
    if (this.pieces.length !== 1) {
      throw new GpuError(
        'too-large',
        `tensor ${shapeStr(this.shape)} (${(this.bytes / 2 ** 20).toFixed(1)} MiB) is split over ${this.pieces.length} bindings; this operation needs it whole`,
      );
    }
    return this.pieces[0]!.buffer;
  }

  async toArray(): Promise<Float32Array> {
    this.checkLive();
    const out = new Float32Array(this.size);
    const plane = this.planeSize;
    for (const p of this.pieces) {
      out.set(await this.gpu.readF32(p.buffer, p.planes * plane), p.firstPlane * plane);
    }
    return out;
  }

  /**
   * Copies planes [first, first+count) of the flattened plane order into `dst` at byte offset
   * `dstOffset`, across piece boundaries, in the pending command stream.
   */
  copyPlanesTo(first: number, count: number, dst: GPUBuffer, dstOffset: number): void {
    const plane = this.planeSize * 4;
    for (const p of this.pieces) {
      const a = Math.max(first, p.firstPlane);
      const b = Math.min(first + count, p.firstPlane + p.planes);
      if (a >= b) continue;
      this.gpu.copy(p.buffer, (a - p.firstPlane) * plane, dst, dstOffset + (a - first) * plane, (b - a) * plane);
    }
  }

  /** The reverse of copyPlanesTo: fills planes [first, first+count) from `src` at `srcOffset`. */
  copyPlanesFrom(src: GPUBuffer, srcOffset: number, first: number, count: number): void {
    const plane = this.planeSize * 4;
    for (const p of this.pieces) {
      const a = Math.max(first, p.firstPlane);
      const b = Math.min(first + count, p.firstPlane + p.planes);
      if (a >= b) continue;
      this.gpu.copy(src, srcOffset + (a - first) * plane, p.buffer, (a - p.firstPlane) * plane, (b - a) * plane);
    }
  }

  /** Adds an owner (a layer keeping its input for backward); each owner calls release once. */
  retain(): this {
    this.checkLive();
    this.refs++;
    return this;
  }

  /**
   * Drops one owner; the last one gives the buffers back to the pool. A release after the last
   * one throws (naming the tensor and where it was first released): ignoring it would hide an
   * owner that thinks it still holds the tensor.
   */
  release(): void {
    if (this.refs <= 0) throw this.doubleRelease();
    if (--this.refs === 0) {
      this.releasedAt = new Error('first released here');
      Error.captureStackTrace?.(this.releasedAt, Tensor.prototype.release); // the caller's frame first
      for (const p of this.pieces) this.gpu.release(p.buffer);
    }
  }

  get isReleased(): boolean {
    return this.refs <= 0;
  }

  private checkLive(): void {
    if (this.refs <= 0) throw new Error(`tensor ${shapeStr(this.shape)} used after release${this.firstReleaseSite()}`);
  }

  private doubleRelease(): GpuError {
    return new GpuError(
      'double-release',
      `tensor ${shapeStr(this.shape)} released twice: its last owner already gave its buffers back. Each owner releases once; ` +
        `a second owner must retain() it first, and a caller must not release a tensor it handed on (or one a layer keeps for backward)${this.firstReleaseSite()}`,
    );
  }

  private firstReleaseSite(): string {
    const stack = this.releasedAt?.stack?.split('\n').slice(1).join('\n');
    return stack ? `\nfirst released at:\n${stack}` : '';
  }
}
