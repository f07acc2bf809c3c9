import { acquireGpu, type AcquireOptions } from '../gpu/acquire.js';
import type { Gpu } from '../gpu/gpu.js';
import { Tensor } from '../nn/tensor.js';
import { conv3d, forwardCandidatesFor } from '../nn/ops/conv3d.js';

export interface GpuReport {
  adapter: Gpu['adapter'];
  features: { timestampQuery: boolean; shaderF16: boolean };
  limits: Record<string, number>;
  /** The worst error over every forward variant, and each variant's own (a driver may miscompile one). */
  selfCheck: { conv3dMaxAbsError: number; variants: { variant: string; maxAbsError: number }[]; passed: boolean };
  /** The forward variants this adapter has remembered (timed on first use of a layer shape), and where. */
  kernelChoices: { where: string | null; remembered: Record<string, string> };
  conv3dGflops: { shape: string; gflops: number; ms: number };
}

/** Direct sum for one output voxel: the self-check's oracle, independent of the kernels. */
function convAt(x: Float32Array, w: Float32Array, cin: number, d: number, co: number, z: number, y: number, xx: number): number {
  let s = 0;
  for (let ci = 0; ci < cin; ci++)
    for (let kd = 0; kd < 3; kd++)
      for (let kh = 0; kh < 3; kh++)
        for (let kw = 0; kw < 3; kw++) {
          const iz = z - 1 + kd,
            iy = y - 1 + kh,
            ix = xx - 1 + kw;
          if (iz < 0 || iy < 0 || ix < 0 || iz >= d || iy >= d || ix >= d) continue;
          s += x[((ci * d + iz) * d + iy) * d + ix]! * w[(((co * cin + ci) * 3 + kd) * 3 + kh) * 3 + kw]!;
        }
  return s;
}

/** Describes the WebGPU device, checks a convolution against a direct sum, and times one. */
export async function gpuCheck(opts: AcquireOptions = {}): Promise<GpuReport> {
  const gpu = await acquireGpu(opts);
  try {
    const limits: Record<string, number> = {};
    for (const k of [
      'maxStorageBufferBindingSize',
      'maxBufferSize',
      'maxComputeWorkgroupStorageSize',
      'maxComputeInvocationsPerWorkgroup',
      'maxComputeWorkgroupsPerDimension',
      'maxStorageBuffersPerShaderStage',
    ]) {
      limits[k] = (gpu.limits as unknown as Record<string, number>)[k] ?? 0;
    }
    const cin = 5,
      cout = 7,
      d = 11;
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
    const x = Float32Array.from({ length: cin * d ** 3 }, rand);
    const w = Float32Array.from({ length: cout * cin * 27 }, rand);
    const variants: { variant: string; maxAbsError: number }[] = [];
    for (const variant of forwardCandidatesFor(cin, cout, d)) {
      const y = await conv3d(Tensor.fromArray(gpu, [1, cin, d, d, d], x), Tensor.fromArray(gpu, [cout, cin, 3, 3, 3], w), null, {
        kernel: 3,
        stride: 1,
        padding: 1,
        variant,
      });
      const got = await y.toArray();
      let err = 0;
      for (let co = 0; co < cout; co++)
        for (let z = 0; z < d; z++)
          for (let yy = 0; yy < d; yy++)
            for (let xx = 0; xx < d; xx++) {
              const v = got[((co * d + z) * d + yy) * d + xx]!;
              err = Math.max(err, Number.isFinite(v) ? Math.abs(v - convAt(x, w, cin, d, co, z, yy, xx)) : Infinity);
            }
      variants.push({ variant, maxAbsError: err });
    }
    const err = Math.max(...variants.map((v) => v.maxAbsError));
    const c = 16,
      s = 32;
    const xt = Tensor.fromArray(gpu, [1, c, s, s, s], new Float32Array(c * s ** 3).fill(0.5));
    const wt = Tensor.fromArray(gpu, [c, c, 3, 3, 3], new Float32Array(c * c * 27).fill(0.01));
    await (await conv3d(xt, wt, null, { kernel: 3, stride: 1, padding: 1 })).toArray();
    const t0 = performance.now();
    const yt = await conv3d(xt, wt, null, { kernel: 3, stride: 1, padding: 1 });
    await gpu.sync();
    const ms = performance.now() - t0;
    yt.release();
    return {
      adapter: gpu.adapter,
      features: { timestampQuery: gpu.hasTimestamps, shaderF16: gpu.hasF16 },
      limits,
      selfCheck: { conv3dMaxAbsError: err, variants, passed: err < 1e-3 },
      kernelChoices: { where: gpu.choices.where, remembered: { ...gpu.choices.all() } },
      conv3dGflops: { shape: `16→16 ch, ${s}³, k3`, gflops: (2 * c * c * 27 * s ** 3) / ms / 1e6, ms },
    };
  } finally {
    gpu.destroy();
  }
}
