import type { Gpu } from '../gpu/gpu.js';
import { uniforms } from '../gpu/uniforms.js';
import { type Box, type Vec3, boxVoxels, growBox } from '../volume/box.js';
import { fbmQuantile, fieldStream, vnoiseQuantile } from './noise-field.js';
import type { SynthParams } from './params.js';
import { subSeed } from './random.js';
import type { SceneFrame } from './scene.js';
import { type SegmentIndex, type SegmentSet, binSegments, segmentsTouching } from './segments.js';

/** Voxels per side of the bins that sort primitives for the rasteriser. */
const BIN = 8;
const SCENE_WG = 64;
const BLUR_WG = 256;
const FINISH_WG = 64;
/** Largest (chunk + halo) box one pass handles: its f32 values must fit a 128 MiB binding. */
export const MAX_BOX_VOXELS = 32 * 1024 * 1024;

export interface ChunkResult {
  readonly box: Box;
  readonly image: Uint16Array;
  /** 1 = root, 0 = not. */
  readonly mask: Uint8Array;
  /** Sum over voxels of root subsamples (root volume = this / S³ voxels). */
  readonly coverageSamples: number;
  readonly maskVoxels: number;
}

/** Blur radius in voxels for a PSF sd: the Gaussian is cut at 3 sd. */
export function blurRadius(sigma: number): number {
  return sigma > 0 ? Math.ceil(3 * sigma) : 0;
}

export function gaussianTaps(sigma: number): Float32Array {
  const r = blurRadius(sigma);
  const w = new Float32Array(2 * r + 1);
  if (r === 0) {
    w[0] = 1;
    return w;
  }
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += w[i + r] = Math.exp((-0.5 * i * i) / (sigma * sigma));
  for (let i = 0; i < w.length; i++) w[i]! /= sum;
  return w;
}

/**
 * Renders chunks of one synthetic scan on the GPU. Each chunk is computed with a halo of the
 * blur radius, so its voxels do not depend on the chunking; the scene itself is a function of
 * global coordinates (procedural soil, hashed noise, primitives in mm).
 */
export class ChunkRenderer {
  readonly halo: Vec3;
  private readonly taps: Float32Array;
  private weights: GPUBuffer | null = null;
  private readonly sceneFields: number[];

  constructor(
    private readonly gpu: Gpu,
    private readonly frame: SceneFrame,
    private readonly params: SynthParams,
    private readonly seed: number,
    private readonly segments: SegmentSet,
    private readonly index?: SegmentIndex,
  ) {
    const r = blurRadius(params.scan.psfSigma);
    this.halo = [r, r, r];
    this.taps = gaussianTaps(params.scan.psfSigma);
    this.sceneFields = this.sceneConstants();
  }

  private get gpuSeed(): number {
    return subSeed(this.seed, 'gpu');
  }

  /** The scene uniforms that do not change between chunks (see Params in synth_scene.wgsl). */
  private sceneConstants(): number[] {
    const p = this.params;
    const s = p.soil;
    const f = this.frame;
    const big = 1e30;
    return [
      f.voxelSize[2],
      f.voxelSize[1],
      f.voxelSize[0],
      p.scan.correlatedNoise,
      f.axis[0],
      f.axis[1],
      Number.isFinite(f.rin) ? f.rin : big,
      Number.isFinite(f.rout) ? f.rout : big,
      p.container.wallValue,
      p.container.outsideValue,
      p.root.gapFraction > 0 ? vnoiseQuantile(1 - p.root.gapFraction) : 10,
      p.root.gapFraction > 0 ? p.root.gapWidth : 0,
      s.grainSize,
      s.grainSizeSpread,
      s.gap,
      1 + 0.6 * (1 - s.roundness),
      s.grainValue,
      s.grainValueSd,
      s.heavyFraction,
      s.heavyValue,
      s.darkFraction,
      s.darkValue,
      s.grainTexture,
      s.macroporeScale,
      s.macroporeFraction > 0 ? fbmQuantile(1 - s.macroporeFraction) : 10,
      s.finesFraction > 0 ? fbmQuantile(s.finesFraction) : -10,
      s.finesValue,
      s.finesTexture,
      s.finesScale,
      s.waterFilm,
      s.waterValue,
      s.saturationScale,
      s.saturation > 0 ? fbmQuantile(1 - s.saturation) : 10,
      s.airValue,
      p.root.steleBoost,
      s.grainFill,
    ];
  }

  async render(box: Box): Promise<ChunkResult> {
    const gpu = this.gpu;
    const H = growBox(box, this.halo);
    const nH = boxVoxels(H);
    const nW = boxVoxels(box);
    if (nH > MAX_BOX_VOXELS)
      throw new RangeError(`chunk with halo has ${nH} voxels; the most one pass handles is ${MAX_BOX_VOXELS} (use smaller chunks)`);
    const S = this.params.scan.supersample;

    const ids = segmentsTouching(this.segments, H, this.index?.candidates(box));
    const binned = binSegments(this.segments, ids, H, BIN);
    const segBuf = gpu.upload(binned.segs);
    const offBuf = gpu.upload(binned.offsets);
    const listBuf = gpu.upload(binned.list);
    const a = gpu.createBuffer(nH * 4, 'synth value');
    const b = gpu.createBuffer(nH * 4, 'synth value 2');
    const code = gpu.createBuffer(nW * 4, 'synth code');
    const words = Math.ceil(nW / 4);
    const image = gpu.createBuffer(words * 8, 'synth image');
    const mask = gpu.createBuffer(words * 4, 'synth mask');
    const stats = gpu.upload(new Uint32Array(4));
    this.weights ??= gpu.upload(this.taps);
    try {
      const [hz, hy, hx] = H.shape;
      const [r] = this.halo;
      const sceneU = uniforms(
        { i32: H.offset[2] },
        { i32: H.offset[1] },
        { i32: H.offset[0] },
        nH,
        hx,
        hy,
        hz,
        this.gpuSeed,
        r,
        r,
        r,
        BIN,
        box.shape[2],
        box.shape[1],
        box.shape[0],
        0,
        binned.bins[2],
        binned.bins[1],
        binned.bins[0],
        0,
        ...this.sceneFields.map((x) => ({ f32: x })),
        ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => fieldStream(this.gpuSeed, k)),
        0,
        0,
        0,
      );
      await gpu.run(
        { shader: 'synth_scene', constants: { WG: SCENE_WG, S } },
        [segBuf, offBuf, listBuf, a, code, sceneU],
        Math.ceil(nH / SCENE_WG),
        'synth scene',
      );
      let src = a;
      if (r > 0) {
        const [wz, wy, wx] = box.shape;
        const pass = async (from: GPUBuffer, to: GPUBuffer, out: Vec3, inX: number, inY: number, stride: number): Promise<void> => {
          const n = out[0] * out[1] * out[2];
          await gpu.run(
            { shader: 'synth_blur', constants: { WG: BLUR_WG } },
            [from, to, this.weights!, uniforms(out[2], out[1], out[0], n, inX, inY, stride, this.taps.length)],
            Math.ceil(n / BLUR_WG),
            'synth blur',
          );
        };
        await pass(a, b, [hz, hy, wx], hx, hy, 1);
        await pass(b, a, [hz, wy, wx], wx, hy, wx);
        await pass(a, b, [wz, wy, wx], wx, wy, wx * wy);
        src = b;
      }
      const f = this.frame;
      const cupRadius = Number.isFinite(f.rout) ? f.rout : 0.5 * Math.hypot(f.extent[0], f.extent[1]);
      const sc = this.params.scan;
      const finishU = uniforms(
        box.shape[2],
        box.shape[1],
        nW,
        words,
        { i32: box.offset[2] },
        { i32: box.offset[1] },
        { i32: box.offset[0] },
        this.gpuSeed,
        { f32: f.voxelSize[2] },
        { f32: f.voxelSize[1] },
        { f32: f.axis[0] },
        { f32: f.axis[1] },
        { f32: sc.noise },
        { f32: sc.rings },
        { f32: sc.ringDensity },
        { f32: sc.cupping },
        { f32: cupRadius },
        { f32: sc.gain },
        { f32: sc.offset },
        S * S * S,
        { f32: sc.maxValue },
        { f32: sc.gamma },
        { f32: sc.bias },
        { f32: sc.biasScale },
      );
      await gpu.run(
        { shader: 'synth_finish', constants: { WG: FINISH_WG } },
        [src, code, image, mask, stats, finishU],
        Math.ceil(words / FINISH_WG),
        'synth finish',
      );
      const [img, msk, st] = await Promise.all([gpu.readback(image, nW * 2), gpu.readback(mask, nW), gpu.readback(stats, 8)]);
      const s = new Uint32Array(st);
      return { box, image: new Uint16Array(img), mask: new Uint8Array(msk), coverageSamples: s[0]!, maskVoxels: s[1]! };
    } finally {
      for (const buf of [segBuf, offBuf, listBuf, a, b, code, image, mask, stats]) gpu.release(buf);
    }
  }

  dispose(): void {
    if (this.weights) this.gpu.release(this.weights);
    this.weights = null;
  }
}
