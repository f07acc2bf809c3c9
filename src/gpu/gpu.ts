import { BufferPool } from './buffer-pool.js';
import { foldWorkgroups } from './dispatch.js';
import { GpuError } from './errors.js';
import { adapterKey, type ChoiceStore, KernelChoices } from './kernel-choices.js';
import { kernelKey, type KernelSpec } from './kernel-spec.js';
import { expandIncludes } from './shader-include.js';
import type { ShaderSource } from './shader-source.js';
import { PackedParams, type ParamsStruct, wgslStructFields } from './uniforms.js';

/**
 * A storage buffer, a window of one, or small uniform data copied into a fresh uniform buffer:
 * raw bytes, or a kernel's parameter struct packed by name (checked against the spec's layout).
 */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number } | ArrayBufferView | PackedParams;

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  isFallbackAdapter: boolean;
}

// UNIFORM too: packed conv weights are written as storage and read as a uniform buffer (conv3d_uniform.wgsl).
const STORAGE = 0x80 | 0x40 | 0x04 | 0x08; // STORAGE | UNIFORM | COPY_SRC | COPY_DST
const UNIFORM = 0x40 | 0x08; // UNIFORM | COPY_DST
const MAP_READ = 0x01 | 0x08; // MAP_READ | COPY_DST
const QUERY_RESOLVE = 0x200 | 0x04; // QUERY_RESOLVE | COPY_SRC

/** Packed parameters must be the spec's own layout, and a spec that declares one must bind it. */
function checkParams(spec: KernelSpec, bindings: readonly Binding[]): void {
  let bound = false;
  for (const b of bindings) {
    if (!(b instanceof PackedParams)) continue;
    if (!spec.params || b.layout.signature !== spec.params.signature) {
      throw new GpuError(
        'shader',
        `${kernelKey(spec)}: parameters packed as ${b.layout.signature} but the kernel declares ${spec.params ? spec.params.signature : 'none (its spec names no params layout)'}`,
      );
    }
    bound = true;
  }
  if (spec.params && !bound)
    throw new GpuError(
      'shader',
      `${kernelKey(spec)}: declares parameters ${spec.params.structName} but none were bound (pack them with its layout)`,
    );
}

/**
 * The shader's `struct NAME` must be the host's declaration field for field (name, type, place):
 * the host packs by name in its declared order, so any difference would misplace values.
 */
function checkStruct(shader: string, code: string, origin: (line: number) => string, params: ParamsStruct): void {
  const found = wgslStructFields(code, params.structName);
  if (!found) throw new GpuError('shader', `shader ${shader} has no struct ${params.structName}; its host declares:\n${params.wgsl}`);
  const host = params.fields;
  const i = found.fields.findIndex((f, k) => f !== host[k]);
  const at = i >= 0 ? i : found.fields.length !== host.length ? Math.min(found.fields.length, host.length) : -1;
  if (at < 0) return;
  throw new GpuError(
    'shader',
    `shader ${shader}: struct ${params.structName} at ${origin(found.line)} differs from its host's declaration at field ${at}: ` +
      `${found.fields[at] ?? 'nothing'} in the shader, ${host[at] ?? 'nothing'} on the host. The host packs by name in its declared order, ` +
      `so the two must agree field for field; the host declares:\n${params.wgsl}`,
  );
}

function isGpuBuffer(b: unknown): b is GPUBuffer {
  return typeof (b as GPUBuffer).mapAsync === 'function';
}

interface TimedPass {
  label: string;
}

/**
 * The one object through which everything touches WebGPU: pipelines built from `shaders/*.wgsl`
 * with override constants and cached, pooled buffers, batched command encoding, upload/readback,
 * and optional GPU timing with timestamp queries.
 */
export class Gpu {
  readonly limits: GPUSupportedLimits;
  readonly pool: BufferPool;
  readonly hasTimestamps: boolean;
  readonly hasF16: boolean;
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private readonly modules = new Map<string, Promise<GPUShaderModule>>();
  private encoder: GPUCommandEncoder | null = null;
  private pendingUniforms: GPUBuffer[] = [];
  private pendingDispatches = 0;
  private errors: string[] = [];
  private lost: string | null = null;
  private timing: {
    set: GPUQuerySet;
    passes: TimedPass[];
    capacity: number;
    total: number;
    byLabel: Map<string, number>;
    countByLabel: Map<string, number>;
  } | null = null;

  /** Running counts of host-side work, for profiling (bench/profile.ts); never reset by the Gpu. */
  readonly counters = { dispatches: 0, submits: 0, uploads: 0, readbacks: 0 };
  /** The fastest variant of a kernel per shape on this adapter, timed on first use and remembered. */
  readonly choices: KernelChoices;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
    private readonly shaderSource: ShaderSource,
    choiceStore: ChoiceStore | null = null,
  ) {
    this.choices = new KernelChoices(adapterKey(adapter), choiceStore);
    this.limits = device.limits;
    this.pool = new BufferPool(device, device.limits.maxBufferSize);
    this.hasTimestamps = device.features.has('timestamp-query');
    this.hasF16 = device.features.has('shader-f16');
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.errors.push(ev.error.message);
    };
    void device.lost.then((info) => {
      this.lost = `${info.reason}: ${info.message}`;
    });
  }

  get maxBinding(): number {
    return this.limits.maxStorageBufferBindingSize;
  }

  /** Compiles (once) the pipeline for a kernel spec. */
  kernel(spec: KernelSpec): Promise<GPUComputePipeline> {
    const key = kernelKey(spec);
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.buildPipeline(spec);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  private module(name: string, params: ParamsStruct | undefined): Promise<GPUShaderModule> {
    const key = params ? `${name}:${params.signature}` : name;
    let m = this.modules.get(key);
    if (!m) {
      m = (async () => {
        const { code, origin } = await expandIncludes(name, this.shaderSource);
        if (params) checkStruct(name, code, origin, params);
        const module = this.device.createShaderModule({ code, label: name });
        const info = await module.getCompilationInfo();
        const errs = info.messages.filter((msg) => msg.type === 'error');
        if (errs.length > 0) {
          const text = errs.map((e) => `${origin(e.lineNum)}:${e.linePos}: ${e.message}`).join('\n');
          throw new GpuError('shader', `WGSL compile failed:\n${text}`);
        }
        return module;
      })();
      this.modules.set(key, m);
      m.catch(() => this.modules.delete(key));
    }
    return m;
  }

  private async buildPipeline(spec: KernelSpec): Promise<GPUComputePipeline> {
    const module = await this.module(spec.shader, spec.params);
    const constants: Record<string, number> = {};
    for (const [k, v] of Object.entries(spec.constants ?? {})) constants[k] = Number(v);
    try {
      return await this.device.createComputePipelineAsync({
        label: kernelKey(spec),
        layout: 'auto',
        compute: { module, entryPoint: spec.entry ?? 'main', constants },
      });
    } catch (e) {
      throw new GpuError('shader', `pipeline ${kernelKey(spec)}: ${(e as Error).message}`);
    }
  }

  /** A pooled storage buffer of at least `bytes` (contents undefined). Give it back with `release`. */
  createBuffer(bytes: number, label?: string): GPUBuffer {
    if (bytes > this.limits.maxBufferSize) {
      throw new GpuError('too-large', `buffer of ${bytes} bytes exceeds this device's maxBufferSize ${this.limits.maxBufferSize}`);
    }
    const buf = this.pool.acquire(Math.max(4, bytes), STORAGE, label);
    if (this.poison) this.fillNaN(buf);
    return buf;
  }

  /**
   * Test mode: every buffer handed out by createBuffer starts as NaN, so an element a kernel
   * forgets to write shows up instead of passing on stale pool contents.
   */
  poison = false;

  private fillNaN(buf: GPUBuffer): void {
    this.flush();
    const chunk = new Float32Array(Math.min(buf.size / 4, 1 << 22)).fill(Number.NaN);
    for (let off = 0; off < buf.size; off += chunk.byteLength) {
      const n = Math.min(chunk.byteLength, buf.size - off);
      this.device.queue.writeBuffer(buf, off, chunk.buffer, 0, n);
    }
  }

  release(buf: GPUBuffer): void {
    this.pool.release(buf);
  }

  /**
   * Encodes one dispatch into the pending command buffer. `workgroups` is a linear count that is
   * folded into a legal grid, or an explicit grid.
   */
  async run(spec: KernelSpec, bindings: Binding[], workgroups: number | [number, number, number], label?: string): Promise<void> {
    checkParams(spec, bindings);
    const pipeline = await this.kernel(spec);
    const grid = typeof workgroups === 'number' ? foldWorkgroups(workgroups, this.limits.maxComputeWorkgroupsPerDimension) : workgroups;
    if (grid[0] * grid[1] * grid[2] === 0) return;
    // Draining flushes, so it must come before this dispatch's uniforms are staged.
    if (this.timing && this.timing.passes.length >= this.timing.capacity) await this.drainTiming();
    const entries: GPUBindGroupEntry[] = bindings.map((b, i) => ({ binding: i, resource: this.resource(b) }));
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const desc: GPUComputePassDescriptor = {};
    if (this.timing) {
      const i = this.timing.passes.length;
      desc.timestampWrites = { querySet: this.timing.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
      this.timing.passes.push({ label: label ?? spec.shader });
    }
    const pass = (this.encoder ??= this.device.createCommandEncoder()).beginComputePass(desc);
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    pass.end();
    this.counters.dispatches++;
    // Dawn's software path has per-submit cost; lavapipe dislikes very long command buffers too.
    if (++this.pendingDispatches >= 64) this.flush();
  }

  private resource(binding: Binding): GPUBindingResource {
    const b = binding instanceof PackedParams ? binding.bytes : binding;
    if (ArrayBuffer.isView(b)) {
      const size = Math.max(16, Math.ceil(b.byteLength / 16) * 16);
      const buf = this.pool.acquire(size, UNIFORM, 'uniforms');
      this.device.queue.writeBuffer(buf, 0, b.buffer, b.byteOffset, b.byteLength);
      this.pendingUniforms.push(buf);
      return { buffer: buf, offset: 0, size };
    }
    if (isGpuBuffer(b)) return { buffer: b };
    const offset = b.offset ?? 0;
    return { buffer: b.buffer, offset, size: b.size ?? b.buffer.size - offset };
  }

  /** Copies between buffers in the pending command stream (sizes and offsets multiples of 4). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    const encoder = (this.encoder ??= this.device.createCommandEncoder());
    encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submits pending work; uniform buffers it used go back to the pool only now (see BufferPool). */
  flush(): void {
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.counters.submits++;
    }
    for (const u of this.pendingUniforms) this.pool.release(u);
    this.pendingUniforms = [];
    this.pendingDispatches = 0;
    this.throwIfFailed();
  }

  /** Submits pending work and waits for the device to finish it. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.lost) throw new GpuError('device-lost', `GPU device lost (${this.lost})`);
    if (this.errors.length > 0) {
      const msg = this.errors.join('\n');
      this.errors = [];
      throw new GpuError('validation', `WebGPU error: ${msg}`);
    }
  }

  /** Writes host data into a buffer (a new pooled one unless given); pending work is submitted first. */
  upload(data: ArrayBufferView, dst?: GPUBuffer, dstOffset = 0): GPUBuffer {
    this.flush();
    this.counters.uploads++;
    const buf = dst ?? this.createBuffer(data.byteLength);
    let padded = data;
    if (data.byteLength % 4 !== 0) {
      const copy = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
      copy.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      padded = copy;
    }
    const chunk = 64 << 20;
    for (let off = 0; off < padded.byteLength; off += chunk) {
      const n = Math.min(chunk, padded.byteLength - off);
      this.device.queue.writeBuffer(buf, dstOffset + off, padded.buffer, padded.byteOffset + off, n);
    }
    return buf;
  }

  /** Reads `bytes` from a buffer back to the host. */
  async readback(src: GPUBuffer, bytes: number, srcOffset = 0): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    this.counters.readbacks++;
    const staging = this.pool.acquire(size, MAP_READ, 'readback');
    this.copy(src, srcOffset, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(1 /* GPUMapMode.READ */, 0, size);
    } catch (e) {
      this.throwIfFailed();
      throw e;
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.pool.release(staging);
    this.throwIfFailed();
    return out;
  }

  async readF32(src: GPUBuffer, count: number, offsetElems = 0): Promise<Float32Array> {
    return new Float32Array(await this.readback(src, count * 4, offsetElems * 4));
  }

  /** Resolves the timestamps recorded so far into the running totals and empties the query set. */
  private async drainTiming(): Promise<void> {
    const t = this.timing;
    if (!t || t.passes.length === 0) return;
    const passes = t.passes;
    t.passes = [];
    this.flush();
    const resolve = this.pool.acquire(16 * passes.length, QUERY_RESOLVE, 'timestamps');
    const encoder = this.device.createCommandEncoder();
    encoder.resolveQuerySet(t.set, 0, 2 * passes.length, resolve, 0);
    this.device.queue.submit([encoder.finish()]);
    const stamps = new BigUint64Array(await this.readback(resolve, 16 * passes.length));
    this.pool.release(resolve);
    passes.forEach((p, i) => {
      const ns = Number((stamps[2 * i + 1] ?? 0n) - (stamps[2 * i] ?? 0n));
      const v = ns > 0 ? ns : 0;
      t.total += v;
      t.byLabel.set(p.label, (t.byLabel.get(p.label) ?? 0) + v);
      t.countByLabel.set(p.label, (t.countByLabel.get(p.label) ?? 0) + 1);
    });
  }

  /**
   * Runs `fn` with a timestamp on every dispatch it encodes and returns GPU nanoseconds, in total
   * and by label (null where the device has no timestamp queries, or when already timing).
   */
  async timed<T>(
    fn: () => Promise<T>,
  ): Promise<{ result: T; gpuNs: number | null; byLabel: Map<string, number>; countByLabel: Map<string, number> }> {
    if (!this.hasTimestamps || this.timing) return { result: await fn(), gpuNs: null, byLabel: new Map(), countByLabel: new Map() };
    this.flush();
    // WebGPU allows 4096 queries per set: two per pass; a full set is drained and reused.
    const capacity = 2048;
    const set = this.device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
    this.timing = { set, passes: [], capacity, total: 0, byLabel: new Map(), countByLabel: new Map() };
    const t = this.timing;
    let result: T;
    try {
      result = await fn();
      await this.drainTiming();
    } finally {
      this.timing = null;
      this.flush();
      set.destroy();
    }
    return { result, gpuNs: t.total, byLabel: t.byLabel, countByLabel: t.countByLabel };
  }

  destroy(): void {
    this.pool.trim();
    this.device.destroy();
  }
}
