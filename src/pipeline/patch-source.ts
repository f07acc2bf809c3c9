import { openVolume } from '../io/open.js';
import type { VolumeSource } from '../io/volume.js';
import { makeBox, type Point, type Vec3 } from '../volume/box.js';
import { iterateBlocks, writeInRead } from '../volume/blocks.js';
import { skeletonizeBlock } from '../analysis/skeleton.js';
import type { PatchVolume } from '../nn/train/sampler.js';
import type { Normalisation } from '../nn/models/registry.js';

/**
 * The scan's own low and high percentiles from 64 cubes of 16³ at fixed pseudo-random places, so
 * every process (shards included) gets the same mapping for the same scan.
 */
export async function percentileMapping(src: VolumeSource, low: number, high: number): Promise<{ offset: number; scale: number }> {
  let state = 0x9e3779b9 ^ (src.shape[0] * 73856093) ^ (src.shape[1] * 19349663) ^ (src.shape[2] * 83492791);
  const rand = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const values: number[] = [];
  for (let k = 0; k < 64; k++) {
    const side = src.shape.map((s) => Math.min(16, s)) as unknown as Vec3;
    const at = src.shape.map((s, i) => Math.floor(rand() * (s - side[i]! + 1))) as unknown as Vec3;
    const data = await src.readBox(makeBox(at, side));
    for (let i = 0; i < data.length; i += 3) values.push(data[i]!);
  }
  values.sort((a, b) => a - b);
  const q = (p: number): number => values[Math.min(values.length - 1, Math.max(0, Math.round((p / 100) * (values.length - 1))))]!;
  const lo = q(low);
  const hi = q(high);
  return { offset: lo, scale: hi > lo ? hi - lo : 1 };
}

/**
 * Reads training/inference patches from a volume on disk without loading it: cubes of normalised
 * intensity at a pyramid scale (from the pyramid level when the file has it, else averaged from
 * full resolution on the fly — both are 2×2×2 means, so they agree) and cubes of root fraction
 * (averaged from the full-resolution mask). Outside the volume nothing is root, and the image goes
 * on as it is at its nearest face (or holds the offset, see `open`): a constant fill makes every face
 * the edge of a body, which a coarse level sees as a thick root where the scan's background differs
 * from the fill (the maize crown's air beside its darker corners).
 */
export class VolumePatches implements PatchVolume {
  private readonly levels = new Map<number, Promise<VolumeSource | null>>();

  private constructor(
    readonly name: string,
    readonly path: string,
    private readonly image: VolumeSource,
    private readonly label: VolumeSource | null,
    /** The intensity mapping this scan gets: (v − offset) / scale. */
    readonly intensity: { offset: number; scale: number },
    /** The pyramid level treated as full resolution (0 = the scan itself). */
    readonly baseLevel: number,
    private readonly faces: 'edge' | 'offset' = 'edge',
  ) {}

  /**
   * `faces`: what a patch holds beyond the volume's faces, the nearest voxel ('edge', what
   * `segment` and the reference trainer's banks read) or the normalised offset ('offset', what
   * `rhizoct train` and the viewer's fine-tuning still read: with 'edge' their few-step fine-tune of
   * the annotate end-to-end test learned nothing on its 64×96×112 scan, not yet understood;
   * bench/RESULTS.md, session 33).
   */
  static async open(
    path: string,
    norm: Normalisation,
    labelName: string | null = 'roots',
    baseLevel = 0,
    faces: 'edge' | 'offset' = 'edge',
  ): Promise<VolumePatches> {
    const image = await openVolume(path, baseLevel > 0 ? { level: baseLevel } : {});
    if (baseLevel > 0 && labelName)
      throw new Error(`${path}: training and evaluation read labels at full resolution only (got level ${baseLevel})`);
    const label = labelName ? await openVolume(path, { label: labelName }) : null;
    if (label && label.shape.some((s, i) => s !== image.shape[i])) {
      throw new Error(`${path}: labels/${labelName} has shape [${label.shape}] but the image has [${image.shape}]`);
    }
    const intensity =
      norm.method === 'percentile' ? await percentileMapping(image, norm.low, norm.high) : { offset: norm.offset, scale: norm.scale };
    return new VolumePatches(path.split('/').filter(Boolean).pop() ?? path, path, image, label, intensity, baseLevel, faces);
  }

  get shape(): Point {
    return [...this.image.shape] as Point;
  }

  get source(): VolumeSource {
    return this.image;
  }

  async close(): Promise<void> {
    await this.image.close();
    await this.label?.close();
    for (const l of this.levels.values()) await (await l)?.close();
  }

  private level(scale: number): Promise<VolumeSource | null> {
    let p = this.levels.get(scale);
    if (!p) {
      const lvl = Math.round(Math.log2(scale));
      p =
        this.image.format === 'ome-zarr' && 2 ** lvl === scale
          ? openVolume(this.path, { level: this.baseLevel + lvl }).then(
              (v) => (v.shape.every((s, i) => s === Math.ceil(this.image.shape[i]! / scale)) ? v : null),
              () => null,
            )
          : Promise.resolve(null);
      this.levels.set(scale, p);
    }
    return p;
  }

  /**
   * Reads the cube of side n (in cells of `scale`) starting at cell `start`. Outside the volume:
   * `pad`, or with 'edge' the nearest voxel of the volume (the scan goes on as it is at its faces,
   * so no face reads as the edge of a body).
   */
  private async readCells(src: VolumeSource, start: Vec3, n: number, pad: number | 'edge'): Promise<Float32Array> {
    const out = new Float32Array(n * n * n);
    const lo = start.map((s, i) => Math.min(src.shape[i]! - 1, Math.max(0, s)));
    const hi = start.map((s, i) => Math.max(1, Math.min(src.shape[i]!, s + n)));
    if (pad !== 'edge') {
      out.fill(pad);
      if (start.some((s, i) => s >= src.shape[i]! || s + n <= 0)) return out;
    }
    const shape: Vec3 = [hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!];
    const data = await src.readBox(makeBox(lo as unknown as Vec3, shape));
    const at = (a: number, c: number): number => Math.min(shape[a]! - 1, Math.max(0, start[a]! + c - lo[a]!));
    for (let z = 0; z < n; z++) {
      const dz = start[0]! + z - lo[0]!;
      if (pad !== 'edge' && (dz < 0 || dz >= shape[0])) continue;
      for (let y = 0; y < n; y++) {
        const dy = start[1]! + y - lo[1]!;
        if (pad !== 'edge' && (dy < 0 || dy >= shape[1])) continue;
        const row = (at(0, z) * shape[1] + at(1, y)) * shape[2];
        const o = (z * n + y) * n;
        for (let x = 0; x < n; x++) {
          const dx = start[2]! + x - lo[2]!;
          if (dx >= 0 && dx < shape[2]) out[o + x] = data[row + dx]!;
          else if (pad === 'edge') out[o + x] = data[row + at(2, x)]!;
        }
      }
    }
    return out;
  }

  /** Averages s³ cells of a full-resolution read into one. */
  private async readAveraged(src: VolumeSource, scale: number, centre: Point, n: number, pad: number | 'edge'): Promise<Float32Array> {
    const start = centre.map((c) => (Math.floor(c / scale) - Math.floor(n / 2)) * scale) as unknown as Vec3;
    const m = n * scale;
    const full = await this.readCells(src, start, m, pad);
    if (scale === 1) return full;
    const out = new Float32Array(n * n * n);
    for (let z = 0; z < m; z++)
      for (let y = 0; y < m; y++)
        for (let x = 0; x < m; x++) {
          const o = (Math.floor(z / scale) * n + Math.floor(y / scale)) * n + Math.floor(x / scale);
          out[o]! += full[(z * m + y) * m + x]!;
        }
    const inv = 1 / scale ** 3;
    for (let i = 0; i < out.length; i++) out[i]! *= inv;
    return out;
  }

  /**
   * The finest source to average `scale` from: the pyramid level of that scale when the file has
   * it, else the coarsest level below it (so a deep context is averaged from a few voxels, not
   * from full resolution), else the scan itself.
   */
  private async sourceFor(scale: number): Promise<{ src: VolumeSource; scale: number }> {
    for (let s = scale; s > 1; s /= 2) {
      const lvl = Number.isInteger(Math.log2(s)) ? await this.level(s) : null;
      if (lvl) return { src: lvl, scale: s };
    }
    return { src: this.image, scale: 1 };
  }

  async readImage(scale: number, centre: Point, size: number): Promise<Float32Array> {
    const { offset, scale: s } = this.intensity;
    const pad = this.faces === 'edge' ? 'edge' : offset;
    const from = scale === 1 ? { src: this.image, scale: 1 } : await this.sourceFor(scale);
    const raw =
      from.scale === scale
        ? await this.readCells(from.src, centre.map((c) => Math.floor(c / scale) - Math.floor(size / 2)) as unknown as Vec3, size, pad)
        : await this.readAveraged(from.src, scale / from.scale, centre.map((c) => c / from.scale) as unknown as Point, size, pad);
    for (let i = 0; i < raw.length; i++) raw[i] = (raw[i]! - offset) / s;
    return raw;
  }

  async readLabel(scale: number, centre: Point, size: number): Promise<Float32Array> {
    if (!this.label) throw new Error(`${this.path}: no root labels to train or evaluate on`);
    const out = await this.readAveraged(this.label, scale, centre, size, 0);
    for (let i = 0; i < out.length; i++) out[i] = out[i]! > 0 ? Math.min(1, out[i]!) : 0;
    return out;
  }

  /** Root voxel positions, streamed slab by slab and subsampled to at most ~`max`. */
  async rootPoints(max = 50_000): Promise<Point[]> {
    if (!this.label) return [];
    const [D, H, W] = this.label.shape;
    const slab = Math.max(1, Math.floor((16 << 20) / (H * W)));
    const pts: Point[] = [];
    let seen = 0;
    for (let z0 = 0; z0 < D; z0 += slab) {
      const d = Math.min(slab, D - z0);
      const data = await this.label.readBox(makeBox([z0, 0, 0], [d, H, W]));
      for (let i = 0; i < data.length; i++) {
        if (data[i]! > 0) {
          seen++;
          const p: Point = [z0 + Math.floor(i / (H * W)), Math.floor(i / W) % H, i % W];
          keepSample(pts, max, seen, p);
        }
      }
    }
    return pts;
  }

  /**
   * Positions on the roots' centrelines (skeleton voxels, thinned in blocks with a halo, a
   * subsample if many): drawing patch centres from these weights each root by its length, so a
   * fine lateral is visited as often per millimetre as a tap root, which per voxel it is not.
   */
  async centrelinePoints(max = 50_000, block = 64, halo = 12): Promise<Point[]> {
    if (!this.label) return [];
    const pts: Point[] = [];
    let seen = 0;
    for (const b of iterateBlocks({
      shape: this.label.shape as Vec3,
      blockShape: [block, block, block],
      halo: [halo, halo, halo],
      edge: 'shrink',
    })) {
      const data = await this.label.readBox(b.read);
      const mask = Uint8Array.from(data as ArrayLike<number>, (v) => (v > 0 ? 1 : 0));
      if (!mask.includes(1)) continue;
      const skel = skeletonizeBlock(mask, b.read.shape, writeInRead(b));
      const [, wy, wx] = b.write.shape;
      for (let i = 0; i < skel.length; i++) {
        if (!skel[i]) continue;
        seen++;
        keepSample(pts, max, seen, [
          b.write.offset[0] + Math.floor(i / (wy * wx)),
          b.write.offset[1] + (Math.floor(i / wx) % wy),
          b.write.offset[2] + (i % wx),
        ]);
      }
    }
    return pts;
  }
}

/** Reservoir sampling: a uniform subsample of at most `max` of a stream whose length is not known in advance. */
function keepSample(pts: Point[], max: number, seen: number, p: Point): void {
  if (pts.length < max) pts.push(p);
  else {
    const j = Math.floor((((seen * 2654435761) >>> 0) / 4294967296) * seen);
    if (j < max) pts[j] = p;
  }
}
