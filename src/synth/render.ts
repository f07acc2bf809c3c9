import type { Gpu } from '../gpu/gpu.js';
import { defineParams } from '../gpu/uniforms.js';
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

/**
 * The parameters of synth_scene.wgsl, declared once: `SCENE_PARAMS.pack` fills them by name, and
 * the Gpu refuses the kernel unless its `struct Params` lists exactly these fields in this order.
 * The box starts at global voxel (ox, oy, oz) and is nx × ny × nz (`total` voxels); the write box
 * (the chunk) starts at (wx0, wy0, wz0) inside it and is wx × wy × wz; bx × by × bz bins of
 * binSize voxels. The f32 fields from vsx on are the scene constants (`sceneConstants`), s1..s10
 * the seeds of the random fields.
 */
export const SCENE_PARAMS = defineParams('Params', {
  ox: 'i32',
  oy: 'i32',
  oz: 'i32',
  total: 'u32',
  nx: 'u32',
  ny: 'u32',
  nz: 'u32',
  seed: 'u32',
  wx0: 'u32',
  wy0: 'u32',
  wz0: 'u32',
  binSize: 'u32',
  wx: 'u32',
  wy: 'u32',
  wz: 'u32',
  _pad0: 'u32',
  bx: 'u32',
  by: 'u32',
  bz: 'u32',
  _pad1: 'u32',
  vsx: 'f32',
  vsy: 'f32',
  vsz: 'f32',
  corrNoise: 'f32',
  axisX: 'f32',
  axisY: 'f32',
  rin: 'f32',
  rout: 'f32',
  wallValue: 'f32',
  outsideValue: 'f32',
  rootGapThreshold: 'f32',
  rootGapWidth: 'f32',
  grainSize: 'f32',
  grainSpread: 'f32',
  gapHalf: 'f32',
  roundRadius: 'f32',
  grainValue: 'f32',
  grainValueSd: 'f32',
  heavyFraction: 'f32',
  heavyValue: 'f32',
  darkFraction: 'f32',
  darkValue: 'f32',
  grainTexture: 'f32',
  macroporeScale: 'f32',
  macroporeThreshold: 'f32',
  finesThreshold: 'f32',
  finesValue: 'f32',
  finesTexture: 'f32',
  finesScale: 'f32',
  waterFilm: 'f32',
  waterValue: 'f32',
  saturationScale: 'f32',
  saturationThreshold: 'f32',
  airValue: 'f32',
  steleBoost: 'f32',
  grainFill: 'f32',
  crackScale: 'f32',
  crackWidth: 'f32',
  crackThreshold: 'f32',
  steleStart: 'f32',
  s1: 'u32',
  s2: 'u32',
  s3: 'u32',
  s4: 'u32',
  s5: 'u32',
  s6: 'u32',
  s7: 'u32',
  s8: 'u32',
  s9: 'u32',
  s10: 'u32',
  steleEnd: 'f32',
  _pad4: 'u32',
});

/**
 * The parameters of synth_blur.wgsl (checked likewise): output dims ox × oy × oz (`total` voxels),
 * input dims ix, iy, the input stride along the blur axis and the number of taps (2R + 1).
 */
export const BLUR_PARAMS = defineParams('Params', {
  ox: 'u32',
  oy: 'u32',
  oz: 'u32',
  total: 'u32',
  ix: 'u32',
  iy: 'u32',
  stride: 'u32',
  taps: 'u32',
});

/**
 * The parameters of synth_finish.wgsl (checked likewise): the chunk is wx × wy × … (`count`
 * voxels, `words` of four) starting at global voxel (gx, gy, gz); s3 is S³, the subsamples per voxel.
 */
export const FINISH_PARAMS = defineParams('Params', {
  wx: 'u32',
  wy: 'u32',
  count: 'u32',
  words: 'u32',
  gx: 'i32',
  gy: 'i32',
  gz: 'i32',
  seed: 'u32',
  vsx: 'f32',
  vsy: 'f32',
  axisX: 'f32',
  axisY: 'f32',
  noise: 'f32',
  rings: 'f32',
  ringDensity: 'f32',
  cupping: 'f32',
  cupRadius: 'f32',
  gain: 'f32',
  offset: 'f32',
  s3: 'u32',
  maxValue: 'f32',
  gamma: 'f32',
  bias: 'f32',
  biasScale: 'f32',
});

/** The scene parameters that do not change between chunks: the f32 fields of SCENE_PARAMS. */
type SceneConstants = {
  [K in keyof typeof SCENE_PARAMS.types as (typeof SCENE_PARAMS.types)[K] extends 'f32' ? K : never]: number;
};

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
  private readonly sceneFields: SceneConstants;

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

  /** The scene parameters that do not change between chunks (see Params in synth_scene.wgsl). */
  private sceneConstants(): SceneConstants {
    const p = this.params;
    const s = p.soil;
    const f = this.frame;
    const big = 1e30;
    return {
      vsx: f.voxelSize[2],
      vsy: f.voxelSize[1],
      vsz: f.voxelSize[0],
      corrNoise: p.scan.correlatedNoise,
      axisX: f.axis[0],
      axisY: f.axis[1],
      rin: Number.isFinite(f.rin) ? f.rin : big,
      rout: Number.isFinite(f.rout) ? f.rout : big,
      wallValue: p.container.wallValue,
      outsideValue: p.container.outsideValue,
      rootGapThreshold: p.root.gapFraction > 0 ? vnoiseQuantile(1 - p.root.gapFraction) : 10,
      rootGapWidth: p.root.gapFraction > 0 ? p.root.gapWidth : 0,
      grainSize: s.grainSize,
      grainSpread: s.grainSizeSpread,
      gapHalf: s.gap,
      roundRadius: 1 + 0.6 * (1 - s.roundness),
      grainValue: s.grainValue,
      grainValueSd: s.grainValueSd,
      heavyFraction: s.heavyFraction,
      heavyValue: s.heavyValue,
      darkFraction: s.darkFraction,
      darkValue: s.darkValue,
      grainTexture: s.grainTexture,
      macroporeScale: s.macroporeScale,
      macroporeThreshold: s.macroporeFraction > 0 ? fbmQuantile(1 - s.macroporeFraction) : 10,
      finesThreshold: s.finesFraction > 0 ? fbmQuantile(s.finesFraction) : -10,
      finesValue: s.finesValue,
      finesTexture: s.finesTexture,
      finesScale: s.finesScale,
      waterFilm: s.waterFilm,
      waterValue: s.waterValue,
      saturationScale: s.saturationScale,
      saturationThreshold: s.saturation > 0 ? fbmQuantile(1 - s.saturation) : 10,
      airValue: s.airValue,
      steleBoost: p.root.steleBoost,
      grainFill: s.grainFill,
      crackScale: s.crackScale,
      crackWidth: s.crackWidth,
      crackThreshold: s.crackFraction > 0 ? fbmQuantile(s.crackFraction) : -10,
      steleStart: p.root.steleDepth[0],
      steleEnd: p.root.steleDepth[1],
    };
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
      const seed = this.gpuSeed;
      const sceneU = SCENE_PARAMS.pack({
        ox: H.offset[2],
        oy: H.offset[1],
        oz: H.offset[0],
        total: nH,
        nx: hx,
        ny: hy,
        nz: hz,
        seed,
        wx0: r,
        wy0: r,
        wz0: r,
        binSize: BIN,
        wx: box.shape[2],
        wy: box.shape[1],
        wz: box.shape[0],
        bx: binned.bins[2],
        by: binned.bins[1],
        bz: binned.bins[0],
        ...this.sceneFields,
        s1: fieldStream(seed, 1),
        s2: fieldStream(seed, 2),
        s3: fieldStream(seed, 3),
        s4: fieldStream(seed, 4),
        s5: fieldStream(seed, 5),
        s6: fieldStream(seed, 6),
        s7: fieldStream(seed, 7),
        s8: fieldStream(seed, 8),
        s9: fieldStream(seed, 9),
        s10: fieldStream(seed, 10),
      });
      await gpu.run(
        { shader: 'synth_scene', constants: { WG: SCENE_WG, S }, params: SCENE_PARAMS },
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
            { shader: 'synth_blur', constants: { WG: BLUR_WG }, params: BLUR_PARAMS },
            [
              from,
              to,
              this.weights!,
              BLUR_PARAMS.pack({ ox: out[2], oy: out[1], oz: out[0], total: n, ix: inX, iy: inY, stride, taps: this.taps.length }),
            ],
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
      const finishU = FINISH_PARAMS.pack({
        wx: box.shape[2],
        wy: box.shape[1],
        count: nW,
        words,
        gx: box.offset[2],
        gy: box.offset[1],
        gz: box.offset[0],
        seed: this.gpuSeed,
        vsx: f.voxelSize[2],
        vsy: f.voxelSize[1],
        axisX: f.axis[0],
        axisY: f.axis[1],
        noise: sc.noise,
        rings: sc.rings,
        ringDensity: sc.ringDensity,
        cupping: sc.cupping,
        cupRadius,
        gain: sc.gain,
        offset: sc.offset,
        s3: S * S * S,
        maxValue: sc.maxValue,
        gamma: sc.gamma,
        bias: sc.bias,
        biasScale: sc.biasScale,
      });
      await gpu.run(
        { shader: 'synth_finish', constants: { WG: FINISH_WG }, params: FINISH_PARAMS },
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
