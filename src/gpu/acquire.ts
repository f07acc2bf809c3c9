import { GpuError, INSTALL_HINT } from './errors.js';
import { Gpu, type AdapterDescription } from './gpu.js';
import type { ChoiceStore } from './kernel-choices.js';
import type { ShaderSource } from './shader-source.js';
import { fetchShaderSource } from './shader-source.js';

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Pick an adapter whose description contains this text (e.g. "llvmpipe", "NVIDIA"). */
  adapterMatch?: string;
  shaderSource?: ShaderSource;
  /** Request `timestamp-query` when the adapter has it (default true). */
  timestamps?: boolean;
  /** Where kernel choices are remembered (default: a file in the cache folder in Node, none in a browser). */
  choiceStore?: ChoiceStore | null;
}

/** Limits worth asking for: everything the adapter allows for these. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxBindGroups',
  'maxUniformBufferBindingSize',
] as const;

/**
 * Acquires a WebGPU device in Node (Dawn through the npm package `webgpu`) or in a browser
 * (`navigator.gpu`) behind one call.
 */
export async function acquireGpu(opts: AcquireOptions = {}): Promise<Gpu> {
  const isBrowser = typeof window !== 'undefined' && typeof (globalThis as { navigator?: Navigator }).navigator?.gpu !== 'undefined';
  let gpuApi: GPU;
  let shaderSource = opts.shaderSource;
  let choiceStore = opts.choiceStore;
  if (isBrowser) {
    gpuApi = navigator.gpu;
    shaderSource ??= fetchShaderSource('shaders');
    choiceStore ??= null;
  } else {
    const node = await import('./node-webgpu.js');
    gpuApi = await node.nodeGpuApi();
    shaderSource ??= await node.defaultShaderSource();
    if (choiceStore === undefined) choiceStore = (await import('./kernel-choices-node.js')).fileChoiceStore();
  }
  const adapter = await pickAdapter(gpuApi, opts);
  const info = adapter.info;
  const wantTs = opts.timestamps !== false && adapter.features.has('timestamp-query');
  const features: GPUFeatureName[] = [];
  if (wantTs) features.push('timestamp-query');
  if (adapter.features.has('shader-f16')) features.push('shader-f16');
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
  const desc: AdapterDescription = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    backend: backendOf(info),
    isFallbackAdapter: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
  };
  return new Gpu(device, desc, shaderSource, choiceStore);
}

async function pickAdapter(gpuApi: GPU, opts: AcquireOptions): Promise<GPUAdapter> {
  const adapter = await gpuApi.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new GpuError('no-adapter', `No WebGPU adapter found. ${INSTALL_HINT}`);
  if (opts.adapterMatch) {
    const text = `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.device} ${adapter.info.description}`;
    if (!text.toLowerCase().includes(opts.adapterMatch.toLowerCase())) {
      const other = await gpuApi.requestAdapter({ powerPreference: 'low-power' });
      const t2 = other ? `${other.info.vendor} ${other.info.device} ${other.info.description}` : '';
      if (other && t2.toLowerCase().includes(opts.adapterMatch.toLowerCase())) return other;
      throw new GpuError('no-adapter', `no WebGPU adapter matches "${opts.adapterMatch}" (found: ${text.trim()})`);
    }
  }
  return adapter;
}

function backendOf(info: GPUAdapterInfo): string {
  const d = `${info.description} ${info.device} ${info.architecture}`.toLowerCase();
  if (d.includes('llvmpipe') || d.includes('lavapipe')) return 'vulkan (lavapipe, CPU)';
  if (d.includes('swiftshader')) return 'vulkan (SwiftShader, CPU)';
  return (info as { backendType?: string }).backendType ?? 'webgpu';
}
