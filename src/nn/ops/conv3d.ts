import type { Binding, Gpu } from '../../gpu/gpu.js';
import { GpuError } from '../../gpu/errors.js';
import { defineParams } from '../../gpu/uniforms.js';
import { Tensor, shapeStr, type Shape5 } from '../tensor.js';
import { CHANNEL_REDUCE_PARAMS, channelSums } from './channel-sums.js';
import { groups, WG } from './grid.js';
import { sampleOf } from './per-sample.js';

export interface ConvGeometry {
  kernel: number;
  stride: number;
  padding: number;
}

export function convOutSize(n: number, g: ConvGeometry): number {
  return Math.floor((n + 2 * g.padding - g.kernel) / g.stride) + 1;
}

/** ConvTranspose3d output size (PyTorch's formula, dilation 1). */
export function convTransposeOutSize(n: number, g: ConvGeometry, outputPadding = 0): number {
  return (n - 1) * g.stride - 2 * g.padding + g.kernel + outputPadding;
}

export function checkGeometry(g: ConvGeometry): void {
  if (!(g.kernel >= 1 && g.kernel <= 3 && g.stride >= 1 && g.stride <= 2 && g.padding >= 0 && g.padding < g.kernel)) {
    throw new RangeError(`unsupported conv geometry ${JSON.stringify(g)} (kernel 1..3, stride 1..2, 0 <= padding < kernel)`);
  }
}

/**
 * Which forward kernel runs 3×3×3 stride-1 padding-1 convolutions, and with which register block:
 * 'auto' (the default) times the candidates (`forwardCandidates`) for each layer shape on first use
 * on the adapter at hand and remembers the fastest there (`Gpu.choices`, a file in the cache folder
 * in Node); RHIZOCT_CONV=register (conv3d.wgsl, register blocks, inputs and weights read from storage),
 * uniform (conv3d_uniform.wgsl, the same with the weights in a uniform buffer, where they fit) or
 * tiled (conv3d_tiled.wgsl, workgroup-shared input tiles) fixes one. Every variant sums the same
 * terms in the same order, so the choice changes the time, not the result.
 */
export const convKernel: { variant: 'auto' | ForwardKernel } = {
  variant: ((): 'auto' | ForwardKernel => {
    const v = typeof process !== 'undefined' ? process.env?.RHIZOCT_CONV : undefined;
    return v === 'tiled' || v === 'register' || v === 'uniform' ? v : 'auto';
  })(),
};

type ForwardKernel = 'register' | 'uniform' | 'tiled';

const TILED = { TX: 4, WX: 8, WY: 8 };

/**
 * A forward variant by name: `register-8x2` is conv3d.wgsl with TX 8, CB 2; `uniform-8x2`
 * conv3d_uniform.wgsl; `tiled-4x2` conv3d_tiled.wgsl.
 */
export interface ForwardVariant {
  kernel: ForwardKernel;
  TX: number;
  CB: number;
}

export const variantName = (v: ForwardVariant): string => `${v.kernel}-${v.TX}x${v.CB}`;

export function parseVariant(name: string): ForwardVariant {
  const m = /^(register|uniform|tiled)-(\d)x(\d)$/.exec(name);
  if (!m) throw new Error(`not a conv3d forward variant: ${name}`);
  return { kernel: m[1] as ForwardKernel, TX: Number(m[2]), CB: Number(m[3]) };
}

/** The most packed weight bytes conv3d_uniform.wgsl takes: its uniform array of 4096 vec4 (WebGPU's default uniform binding limit). */
export const UNIFORM_WEIGHT_BYTES = 65536;

/**
 * The forward variants worth timing for a 3×3×3 stride-1 padding-1 layer whose default block is
 * (TX, CB) and whose packed weights take `packedBytes`: the default first (it stays unless another
 * is clearly faster), the same block with its weights in a uniform buffer where they fit, a small
 * register block (more invocations, fewer registers each: what a GPU with many lanes may prefer),
 * and the tiled kernel. A variant's CB may not exceed the default's, for which the weights are
 * packed.
 */
export function forwardCandidates(TX: number, CB: number, packedBytes: number): string[] {
  const names = weightCandidates(TX, CB, packedBytes);
  if (TX >= 4 && (TX !== 4 || CB !== 1)) names.push(variantName({ kernel: 'register', TX: 4, CB: 1 }));
  names.push(variantName({ kernel: 'tiled', TX: TILED.TX, CB }));
  return names;
}

/**
 * The variants of a kernel whose only alternative is where its weights live (the transposed
 * convolution, the convolution over [a, upsampled b]): the storage kernel, and where the packed
 * weights it reads (`packedBytes`) fit, the uniform-buffer one.
 */
export function weightCandidates(TX: number, CB: number, packedBytes: number): string[] {
  const names = [variantName({ kernel: 'register', TX, CB })];
  if (packedBytes <= UNIFORM_WEIGHT_BYTES) names.push(variantName({ kernel: 'uniform', TX, CB }));
  return names;
}

/** The least size of a layer's packed-weights buffer: 64 KiB where a uniform-buffer variant is offered, which binds that much of it. */
export const packedMinBytes = (offered: readonly string[]): number =>
  offered.some((v) => parseVariant(v).kernel === 'uniform') ? UNIFORM_WEIGHT_BYTES : 0;

/** The packed weights as a variant's kernel binds them: the whole buffer from storage, or its first 64 KiB as the uniform array. */
export const weightBinding = (kernel: ForwardKernel, packed: GPUBuffer): Binding =>
  kernel === 'uniform' ? { buffer: packed, offset: 0, size: UNIFORM_WEIGHT_BYTES } : packed;

/** Output channels padded to whole vec4 groups of the register block, as the forward weights are packed. */
export const paddedChannels = (cout: number, CB: number): number => Math.ceil(cout / (4 * CB)) * 4 * CB;

/** The forward variants of a 3×3×3 stride-1 padding-1 layer of `cin` → `cout` channels whose output is `width` voxels along x. */
export function forwardCandidatesFor(cin: number, cout: number, width: number): string[] {
  const { TX, CB } = blocking(cout, width);
  return forwardCandidates(TX, CB, cin * 27 * paddedChannels(cout, CB) * 4);
}

/** Register-block shape per invocation: TX outputs along x × CB·4 channels. */
export function blocking(channels: number, width: number): { TX: number; CB: number } {
  return { TX: width >= 8 ? 8 : width >= 4 ? 4 : 2, CB: channels > 4 ? 2 : 1 };
}

/**
 * The parameters of conv3d.wgsl, conv3d_tiled.wgsl and conv3d_transpose.wgsl (and of conv_block.wgsl),
 * declared once: `CONV_PARAMS.pack` fills them by name, and the Gpu refuses these kernels unless
 * their `struct Params` (shaders/conv_params.wgsl, which all three include) lists exactly these
 * fields in this order. `total` counts invocations (workgroups for the tiled kernel); the input
 * window starts at global depth `inD0`, the output window at `outD0`.
 */
export const CONV_PARAMS = defineParams('Params', {
  n: 'u32',
  cin: 'u32',
  cout: 'u32',
  coGroups: 'u32',
  inD: 'u32',
  inH: 'u32',
  inW: 'u32',
  inD0: 'i32',
  outD: 'u32',
  outH: 'u32',
  outW: 'u32',
  outD0: 'u32',
  tilesX: 'u32',
  total: 'u32',
  relu: 'u32',
  coVec: 'u32',
});

/** The parameters of conv3d_wgrad.wgsl (entries partial and reduce), checked against its `struct Params` likewise. */
export const WGRAD_PARAMS = defineParams('Params', {
  n: 'u32',
  cin: 'u32',
  cout: 'u32',
  coGroups: 'u32',
  inD: 'u32',
  inH: 'u32',
  inW: 'u32',
  chunks: 'u32',
  outD: 'u32',
  outH: 'u32',
  outW: 'u32',
  rowsPerChunk: 'u32',
  total: 'u32',
  accumulate: 'u32',
  wcount: 'u32',
});

/** The parameters of conv3d_pack.wgsl (checked likewise): `outerPad` is the padded fastest axis, `total` the values written. */
export const PACK_PARAMS = defineParams('Params', { cout: 'u32', cin: 'u32', kk: 'u32', outerPad: 'u32', total: 'u32' });

const PACK_WG = 256;

/**
 * Packs W[co][ci][k³] for the forward kernel, [ci][k³][co padded to vec4·CB], or for the transposed
 * one, [co][k³][ci padded] (returns a pooled buffer of at least `minBytes`: a uniform-buffer
 * variant binds 64 KiB of it).
 */
export async function packWeights(
  gpu: Gpu,
  layout: 'forward' | 'transpose',
  weight: Tensor,
  cout: number,
  cin: number,
  kk: number,
  padTo: number,
  minBytes = 0,
): Promise<GPUBuffer> {
  const total = (layout === 'forward' ? cin : cout) * kk * padTo;
  const dst = gpu.createBuffer(Math.max(total * 4, minBytes));
  const u = PACK_PARAMS.pack({ cout, cin, kk, outerPad: padTo, total });
  await gpu.run(
    { shader: 'conv3d_pack', entry: layout, constants: { WG: PACK_WG }, params: PACK_PARAMS },
    [weight.buffer, dst, u],
    Math.ceil(total / PACK_WG),
  );
  return dst;
}

/** The bias padded to `padTo` values for the forward kernels (a pooled buffer; unused when `bias` is null). */
export async function padBias(gpu: Gpu, bias: Tensor | null, count: number, padTo: number): Promise<GPUBuffer> {
  const dst = gpu.createBuffer(padTo * 4);
  if (!bias) return dst; // unused: HAS_BIAS is false
  const u = PACK_PARAMS.pack({ cout: count, cin: 0, kk: 0, outerPad: padTo, total: padTo });
  await gpu.run(
    { shader: 'conv3d_pack', entry: 'pad_bias', constants: { WG: PACK_WG }, params: PACK_PARAMS },
    [bias.buffer, dst, u],
    Math.ceil(padTo / PACK_WG),
  );
  return dst;
}

interface Windowed {
  kind: 'conv' | 'transpose';
  x: Tensor;
  y: Tensor;
  /** Channels reduced over (input channels of the kernel) and produced. */
  cin: number;
  cout: number;
  geometry: ConvGeometry;
  packed: GPUBuffer;
  bias: GPUBuffer;
  hasBias: boolean;
  relu: boolean;
  padTo: number;
  /** conv3d.wgsl (or conv3d_transpose.wgsl for kind 'transpose'), conv3d_uniform.wgsl or conv3d_tiled.wgsl. */
  kernel: ForwardKernel;
  CB: number;
  TX: number;
}

/** Input depth range [a, b) that output depths [d0, d1) read, clipped to the input. */
function inputDepths(kind: 'conv' | 'transpose', d0: number, d1: number, g: ConvGeometry, inD: number): [number, number] {
  if (kind === 'conv') {
    return [Math.max(0, d0 * g.stride - g.padding), Math.min(inD, (d1 - 1) * g.stride - g.padding + g.kernel)];
  }
  const a = Math.ceil((d0 + g.padding - g.kernel + 1) / g.stride);
  const b = Math.floor((d1 - 1 + g.padding) / g.stride) + 1;
  return [Math.max(0, a), Math.min(inD, b)];
}

async function dispatchWindow(
  gpu: Gpu,
  w: Windowed,
  xBuf: GPUBuffer,
  inD0: number,
  inD: number,
  yBuf: GPUBuffer,
  outD0: number,
  outD: number,
): Promise<void> {
  const [n, , , inH, inW] = w.x.shape;
  const [, , , outH, outW] = w.y.shape;
  const coVec = w.padTo / 4;
  const coGroups = coVec / w.CB;
  const g = w.geometry;
  const shape = { n, cin: w.cin, cout: w.cout, coGroups, inD, inH, inW, inD0, outD, outH, outW, outD0, relu: w.relu ? 1 : 0, coVec };
  if (w.kernel === 'tiled') {
    const tilesX = Math.ceil(outW / (TILED.WX * w.TX));
    const workgroups = tilesX * Math.ceil(outH / TILED.WY) * outD * n * coGroups;
    const ut = CONV_PARAMS.pack({ ...shape, tilesX, total: workgroups });
    await gpu.run(
      { shader: 'conv3d_tiled', entry: 'forward', constants: { ...TILED, TX: w.TX, CB: w.CB, HAS_BIAS: w.hasBias }, params: CONV_PARAMS },
      [xBuf, w.packed, w.bias, yBuf, ut],
      workgroups,
      'conv3d',
    );
    return;
  }
  const tilesX = Math.ceil(outW / w.TX);
  const perGroup = tilesX * outH * outD * n;
  const total = perGroup * coGroups;
  const u = CONV_PARAMS.pack({ ...shape, tilesX, total });
  const spec =
    w.kind === 'conv'
      ? {
          shader: w.kernel === 'uniform' ? 'conv3d_uniform' : 'conv3d',
          entry: 'forward',
          constants: { K: g.kernel, S: g.stride, P: g.padding, TX: w.TX, CB: w.CB, WG, HAS_BIAS: w.hasBias },
          params: CONV_PARAMS,
        }
      : {
          shader: w.kernel === 'uniform' ? 'conv3d_transpose_uniform' : 'conv3d_transpose',
          entry: 'main',
          constants: { K: g.kernel, S: g.stride, P: g.padding, TX: w.TX, CB: w.CB, WG, HAS_BIAS: w.hasBias },
          params: CONV_PARAMS,
        };
  // Each channel group gets whole workgroups, so its weight addresses are uniform in each.
  const workgroups = groups(perGroup, WG) * coGroups;
  await gpu.run(
    spec,
    [xBuf, weightBinding(w.kernel, w.packed), w.bias, yBuf, u],
    workgroups,
    `${w.kind === 'conv' ? 'conv3d' : 'conv3d_transpose'} k${g.kernel} ${w.cin}→${w.cout} @${outH}`,
  );
}

/**
 * Runs a conv-like kernel over whole tensors, or slab by slab over output depth when either tensor
 * is split over several bindings: each slab's input depths (with the receptive-field halo) are
 * gathered into one binding, computed, and scattered back.
 */
async function runWindowed(gpu: Gpu, w: Windowed): Promise<void> {
  const { x, y } = w;
  if (!x.isSplit && !y.isSplit) {
    await dispatchWindow(gpu, w, x.buffer, 0, x.d, y.buffer, 0, y.d);
    return;
  }
  const [n, cin, inD, inH, inW] = x.shape;
  const [, cout, outD, outH, outW] = y.shape;
  const limit = gpu.maxBinding;
  let slab = outD;
  const fits = (s: number): boolean => {
    const [a, b] = inputDepths(w.kind, 0, s, w.geometry, inD);
    return n * cout * s * outH * outW * 4 <= limit && n * cin * Math.max(1, b - a + w.geometry.kernel) * inH * inW * 4 <= limit;
  };
  while (slab > 1 && !fits(slab)) slab = Math.ceil(slab / 2);
  if (!fits(slab)) throw new GpuError('too-large', `conv on ${shapeStr(x.shape)}: one output depth plane set does not fit one binding`);
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  for (let d0 = 0; d0 < outD; d0 += slab) {
    const d1 = Math.min(outD, d0 + slab);
    const [a, b] = inputDepths(w.kind, d0, d1, w.geometry, inD);
    const inCount = Math.max(1, b - a);
    const tmpIn = gpu.createBuffer(n * cin * inCount * inPlane * 4);
    const tmpOut = gpu.createBuffer(n * cout * (d1 - d0) * outPlane * 4);
    if (b > a) {
      for (let i = 0; i < n * cin; i++) x.copyPlanesTo(i * inD + a, b - a, tmpIn, i * inCount * inPlane * 4);
    }
    await dispatchWindow(gpu, w, tmpIn, a, b > a ? b - a : 0, tmpOut, d0, d1 - d0);
    for (let i = 0; i < n * cout; i++) y.copyPlanesFrom(tmpOut, i * (d1 - d0) * outPlane * 4, i * outD + d0, d1 - d0);
    gpu.flush();
    gpu.release(tmpIn);
    gpu.release(tmpOut);
  }
}

export function checkWeight(weight: Tensor, cout: number, cin: number, k: number, what: string): void {
  const s = weight.shape;
  if (s[0] !== cout || s[1] !== cin || s[2] !== k || s[3] !== k || s[4] !== k) {
    throw new RangeError(`${what}: weight ${shapeStr(s)} does not match [${cout}, ${cin}, ${k}, ${k}, ${k}]`);
  }
}

/**
 * What a forward variant is remembered under: the layer's channels and input shape ("fwd2": the
 * candidates gained the uniform-buffer kernel, so choices made among the old ones are timed again).
 */
export const forwardKey = (cin: number, cout: number, input: Shape5): string => `conv3d fwd2 k3 ${cin}→${cout} ${shapeStr(input)}`;

/** What a transposed convolution's variant is remembered under: its channels, kernel, stride and input shape. */
export const transposeKey = (r: number, q: number, g: ConvGeometry, input: Shape5): string =>
  `conv3d transpose k${g.kernel} s${g.stride} p${g.padding} ${r}→${q} ${shapeStr(input)}`;

/** What picks a layer's variant (`pickVariant`). */
export interface VariantChoice {
  /** The op, for messages: "conv3d". */
  what: string;
  /** A variant asked for by name (a test, the self-check): it must be among `candidates`. */
  asked: string | undefined;
  /** What the choice is remembered under on this adapter. */
  key: string;
  candidates: string[];
  /** What runs where nothing is offered, or RHIZOCT_CONV asks for a kernel that is not. */
  fallback: ForwardVariant;
  /** Runs the layer whole with a variant (timing; the timing runs write the layer's output too, which the run that follows overwrites with the same values). */
  run: (v: ForwardVariant) => Promise<void>;
}

/**
 * The variant a layer runs: the one asked for by name, else the fallback where nothing is offered,
 * else the one RHIZOCT_CONV fixes (the fallback where its kernel is not offered), else the one this
 * adapter remembers under `key`, else the fastest of `candidates` timed now (each run whole, the
 * device drained before and after).
 */
export async function pickVariant(gpu: Gpu, c: VariantChoice): Promise<ForwardVariant> {
  if (c.asked !== undefined) {
    if (!c.candidates.includes(c.asked))
      throw new RangeError(`${c.what}: variant ${c.asked} is not offered for this layer (${c.candidates.join(', ') || 'none'})`);
    return parseVariant(c.asked);
  }
  if (c.candidates.length === 0) return c.fallback;
  if (convKernel.variant !== 'auto') return c.candidates.map(parseVariant).find((v) => v.kernel === convKernel.variant) ?? c.fallback;
  const name = await gpu.choices.choose(c.key, c.candidates, async (v) => {
    await gpu.sync();
    const t0 = performance.now();
    await c.run(parseVariant(v));
    await gpu.sync();
    return (performance.now() - t0) / 1000;
  });
  return parseVariant(name);
}

/** pickVariant for conv3d.wgsl's and conv3d_transpose.wgsl's families, run through runWindowed. */
function windowedVariant(w: Windowed, what: string, asked: string | undefined, key: string, candidates: string[]): Promise<ForwardVariant> {
  const gpu = w.x.gpu;
  return pickVariant(gpu, {
    what,
    asked,
    key,
    candidates,
    fallback: { kernel: 'register', TX: w.TX, CB: w.CB },
    run: (v) => runWindowed(gpu, { ...w, ...v }),
  });
}

/**
 * conv3d forward: x [N, Cin, D, H, W], weight [Cout, Cin, K, K, K] (PyTorch layout), bias as a
 * tensor of Cout values or null; optional fused ReLU. `variant` runs that forward variant (one of
 * `forwardCandidates` for the layer) instead of the chosen one, as the self-check does. Returns a new tensor.
 */
export async function conv3d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry & { relu?: boolean; variant?: string },
): Promise<Tensor> {
  checkGeometry(g);
  const gpu = x.gpu;
  const [n, cin, d, h, w] = x.shape;
  const cout = weight.shape[0];
  checkWeight(weight, cout, cin, g.kernel, 'conv3d');
  if (bias && bias.size !== cout) throw new RangeError(`conv3d: bias has ${bias.size} values, expected ${cout}`);
  const outShape: Shape5 = [n, cout, convOutSize(d, g), convOutSize(h, g), convOutSize(w, g)];
  if (outShape.some((s) => s <= 0)) throw new RangeError(`conv3d: input ${shapeStr(x.shape)} is smaller than the kernel`);
  const { TX, CB } = blocking(cout, outShape[4]);
  const padTo = paddedChannels(cout, CB);
  const kk = g.kernel ** 3;
  const offered = g.kernel === 3 && g.stride === 1 && g.padding === 1 ? forwardCandidatesFor(cin, cout, outShape[4]) : [];
  const packed = await packWeights(gpu, 'forward', weight, cout, cin, kk, padTo, packedMinBytes(offered));
  const biasBuf = await padBias(gpu, bias, cout, padTo);
  const y = Tensor.empty(gpu, outShape);
  const job: Windowed = {
    kind: 'conv',
    x,
    y,
    cin,
    cout,
    geometry: g,
    packed,
    bias: biasBuf,
    hasBias: bias !== null,
    relu: g.relu ?? false,
    padTo,
    kernel: 'register',
    CB,
    TX,
  };
  Object.assign(job, await windowedVariant(job, 'conv3d', g.variant, forwardKey(cin, cout, x.shape), offered));
  await runWindowed(gpu, job);
  gpu.release(packed);
  gpu.release(biasBuf);
  return y;
}

/**
 * Transposed conv: x [N, R, D, H, W] with weight [R, Q, K, K, K] (PyTorch ConvTranspose3d layout,
 * which is conv3d's [co][ci] read with co = R) gives [N, Q, D', H', W']. It is conv3d's
 * backward-data (pass conv3d's weight and the input shape as `outShape`) and learned upsampling.
 */
export async function convTranspose3d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  g: ConvGeometry & { relu?: boolean; outputPadding?: number; outShape?: readonly [number, number, number]; variant?: string },
): Promise<Tensor> {
  checkGeometry(g);
  const gpu = x.gpu;
  const [n, r, d, h, w] = x.shape;
  const q = weight.shape[1];
  checkWeight(weight, r, q, g.kernel, 'conv transpose');
  if (bias && bias.size !== q) throw new RangeError(`conv transpose: bias has ${bias.size} values, expected ${q}`);
  const op = g.outputPadding ?? 0;
  const spatial = g.outShape ?? [convTransposeOutSize(d, g, op), convTransposeOutSize(h, g, op), convTransposeOutSize(w, g, op)];
  const outShape: Shape5 = [n, q, spatial[0], spatial[1], spatial[2]];
  const { TX, CB } = blocking(q, outShape[4]);
  const padTo = paddedChannels(q, CB);
  const offered = weightCandidates(TX, CB, r * g.kernel ** 3 * padTo * 4);
  const packed = await packWeights(gpu, 'transpose', weight, r, q, g.kernel ** 3, padTo, packedMinBytes(offered));
  const biasBuf = await padBias(gpu, bias, q, padTo);
  const y = Tensor.empty(gpu, outShape);
  const job: Windowed = {
    kind: 'transpose',
    kernel: 'register',
    x,
    y,
    cin: r,
    cout: q,
    geometry: g,
    packed,
    bias: biasBuf,
    hasBias: bias !== null,
    relu: g.relu ?? false,
    padTo,
    CB,
    TX,
  };
  Object.assign(job, await windowedVariant(job, 'conv transpose', g.variant, transposeKey(r, q, g, x.shape), offered));
  await runWindowed(gpu, job);
  gpu.release(packed);
  gpu.release(biasBuf);
  return y;
}

/** conv3d backward-data: dX from dY and the conv's weight (a transposed conv). */
export async function conv3dBackwardData(dy: Tensor, weight: Tensor, xShape: Shape5, g: ConvGeometry): Promise<Tensor> {
  const { kernel, stride, padding } = g;
  return convTranspose3d(dy, weight, null, { kernel, stride, padding, outShape: [xShape[2], xShape[3], xShape[4]] });
}

const WGRAD_TARGET_INVOCATIONS = 1 << 15;

/**
 * conv3d backward-weight: dW[co, ci, k] = Σ dY[n, co, o] · X[n, ci, o·S − P + k], written into
 * `dw` (shape [Cout, Cin, K, K, K]) or added to it with `accumulate`.
 */
export async function conv3dBackwardWeight(x: Tensor, dy: Tensor, dw: Tensor, g: ConvGeometry, accumulate = false): Promise<void> {
  checkGeometry(g);
  const gpu = x.gpu;
  if (x.n > 1 && (x.isSplit || dy.isSplit)) {
    // dW sums over samples: one sample at a time, accumulating.
    for (let n = 0; n < x.n; n++) {
      const xn = sampleOf(x, n);
      const dyn = sampleOf(dy, n);
      await conv3dBackwardWeight(xn, dyn, dw, g, accumulate || n > 0);
      gpu.flush();
      xn.release();
      dyn.release();
    }
    return;
  }
  const [n, cin, inD, inH, inW] = x.shape;
  const [n2, cout, outD, outH, outW] = dy.shape;
  if (n2 !== n) throw new RangeError(`conv3d backward-weight: batch ${n} vs ${n2}`);
  checkWeight(dw, cout, cin, g.kernel, 'conv3d backward-weight');
  const k = g.kernel;
  // Rows are cut into chunks as when each invocation held 4 channels × one (kh) of a (ci, kd):
  // the partial sums, and so dW, stay those of that layout bit for bit, with fewer invocations.
  const perChunk = Math.ceil(cout / 4) * cin * k * k;
  const rows = n * outD * outH;
  const chunks = Math.max(1, Math.min(rows, Math.ceil(WGRAD_TARGET_INVOCATIONS / perChunk)));
  const rowsPerChunk = Math.ceil(rows / chunks);
  const usedChunks = Math.ceil(rows / rowsPerChunk);
  const wcount = cout * cin * k ** 3;
  const cb = cout >= 8 ? 8 : 4;
  const coGroups = Math.ceil(cout / cb);
  const total = usedChunks * coGroups * cin * k;
  const part = gpu.createBuffer(usedChunks * wcount * 4);
  const u = WGRAD_PARAMS.pack({
    n,
    cin,
    cout,
    coGroups,
    inD,
    inH,
    inW,
    chunks: usedChunks,
    outD,
    outH,
    outW,
    rowsPerChunk,
    total,
    accumulate: accumulate ? 1 : 0,
    wcount,
  });
  const constants = { K: k, S: g.stride, P: g.padding, WG, CB: cb };
  await gpu.run(
    { shader: 'conv3d_wgrad', entry: 'partial', constants, params: WGRAD_PARAMS },
    [x.buffer, dy.buffer, part, u],
    groups(total, WG),
    `conv3d_wgrad k${k} ${cin}→${cout} @${outH}`,
  );
  await gpu.run(
    { shader: 'conv3d_wgrad', entry: 'reduce', constants, params: WGRAD_PARAMS },
    [part, dw.buffer, u],
    groups(wcount, WG),
    'conv3d_wgrad',
  );
  gpu.release(part);
}

/** Bias gradient of a conv: per-channel sums of dY, into `db` (Cout values) or added to it. */
export async function conv3dBackwardBias(dy: Tensor, db: Tensor, accumulate = false): Promise<void> {
  const gpu = dy.gpu;
  const c = dy.c;
  const sums = gpu.createBuffer(c * 8);
  await channelSums(dy, dy, sums);
  const u = CHANNEL_REDUCE_PARAMS.pack({ n: 0, c, spatial: 0, chunks: 0, chunkLen: 0, accumulate: accumulate ? 1 : 0 });
  await gpu.run(
    { shader: 'channel_reduce', entry: 'take_first', constants: { WG }, params: CHANNEL_REDUCE_PARAMS },
    [sums, db.buffer, u],
    groups(c, WG),
  );
  gpu.release(sums);
}
