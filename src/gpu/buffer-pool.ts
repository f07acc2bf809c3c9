import { GpuError } from './errors.js';

/**
 * Reuses GPU buffers by (usage, size bucket). Buckets grow by 2^(1/4) so a reused buffer wastes
 * at most ~19%. A released buffer may still be read by work not yet submitted; the pool only
 * hands it out again in encoding order, which the queue keeps, so that is safe for kernels.
 * A buffer has one owner, who releases it once: releasing a buffer already back in the pool
 * throws, since the pool would otherwise hand the same buffer to two owners.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  /** The buffers now in `free`, to refuse a second release. */
  private readonly idle = new Set<GPUBuffer>();
  private bytesHeld = 0;
  private bytesLive = 0;
  peakBytesLive = 0;
  /** Buffers created because no idle one of the bucket was free (profiling). */
  created = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  static bucket(bytes: number): number {
    const min = 256;
    if (bytes <= min) return min;
    const k = Math.ceil(Math.log2(bytes) * 4 - 1e-9);
    const size = Math.ceil(2 ** (k / 4) / 256) * 256;
    return size >= bytes ? size : Math.ceil(bytes / 256) * 256;
  }

  acquire(bytes: number, usage: GPUBufferUsageFlags, label?: string): GPUBuffer {
    let size = BufferPool.bucket(bytes);
    if (size > this.maxBufferSize) size = Math.ceil(bytes / 4) * 4;
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    const reused = list?.pop();
    if (reused) {
      this.idle.delete(reused);
      this.bytesHeld -= size;
      this.noteLive(size);
      return reused;
    }
    const buf = this.device.createBuffer({ size, usage, label: label ?? `pool ${size}` });
    this.created++;
    this.noteLive(size);
    return buf;
  }

  release(buf: GPUBuffer): void {
    if (this.idle.has(buf)) {
      throw new GpuError(
        'double-release',
        `buffer "${buf.label}" (${buf.size} bytes) released twice: it is already back in the pool. Each buffer has one owner that releases it once; ` +
          'look for a second release() of the same buffer, or of a tensor wrapping it, on this path',
      );
    }
    this.idle.add(buf);
    const key = `${buf.usage}:${buf.size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buf);
    this.bytesHeld += buf.size;
    this.bytesLive -= buf.size;
  }

  /** Destroys every idle buffer (call between jobs to give memory back). */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.idle.clear();
    this.bytesHeld = 0;
  }

  stats(): { live: number; idle: number; peakLive: number } {
    return { live: this.bytesLive, idle: this.bytesHeld, peakLive: this.peakBytesLive };
  }

  private noteLive(size: number): void {
    this.bytesLive += size;
    if (this.bytesLive > this.peakBytesLive) this.peakBytesLive = this.bytesLive;
  }
}
