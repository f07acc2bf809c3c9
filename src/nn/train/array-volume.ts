import type { PatchVolume, Point } from './sampler.js';

/**
 * A PatchVolume over in-memory arrays (normalised image, 0/1 mask), with coarser scales made by
 * averaging s³ cells. Outside the volume the image reads `pad` and the label 0. For small volumes
 * (tests, small training scans); large scans go through the pipeline's streaming adapter.
 */
export class ArrayPatchVolume implements PatchVolume {
  private readonly scales = new Map<number, { image: Float32Array; label: Float32Array; shape: Point }>();

  constructor(
    readonly name: string,
    readonly shape: Point,
    image: Float32Array,
    label: Float32Array,
    private readonly pad = 0,
  ) {
    const n = shape[0] * shape[1] * shape[2];
    if (image.length !== n || label.length !== n)
      throw new RangeError(`${name}: image/label sizes ${image.length}/${label.length} do not match shape ${shape}`);
    this.scales.set(1, { image, label, shape });
  }

  private level(s: number): { image: Float32Array; label: Float32Array; shape: Point } {
    let l = this.scales.get(s);
    if (l) return l;
    const base = this.scales.get(1)!;
    const shape = base.shape.map((v) => Math.ceil(v / s)) as Point;
    const image = new Float32Array(shape[0] * shape[1] * shape[2]);
    const label = new Float32Array(image.length);
    const [D, H, W] = base.shape;
    for (let z = 0; z < shape[0]; z++)
      for (let y = 0; y < shape[1]; y++)
        for (let x = 0; x < shape[2]; x++) {
          let si = 0;
          let sl = 0;
          for (let dz = 0; dz < s; dz++)
            for (let dy = 0; dy < s; dy++)
              for (let dx = 0; dx < s; dx++) {
                const zz = z * s + dz,
                  yy = y * s + dy,
                  xx = x * s + dx;
                const inside = zz < D && yy < H && xx < W;
                const i = (zz * H + yy) * W + xx;
                si += inside ? base.image[i]! : this.pad;
                sl += inside ? base.label[i]! : 0;
              }
          const o = (z * shape[1] + y) * shape[2] + x;
          image[o] = si / s ** 3;
          label[o] = sl / s ** 3;
        }
    l = { image, label, shape };
    this.scales.set(s, l);
    return l;
  }

  private read(which: 'image' | 'label', s: number, centre: Point, n: number): Float32Array {
    const l = this.level(s);
    const src = l[which];
    const out = new Float32Array(n * n * n);
    const start = centre.map((c) => Math.floor(c / s) - Math.floor(n / 2));
    const fillValue = which === 'image' ? this.pad : 0;
    for (let z = 0; z < n; z++)
      for (let y = 0; y < n; y++)
        for (let x = 0; x < n; x++) {
          const zz = start[0]! + z,
            yy = start[1]! + y,
            xx = start[2]! + x;
          const inside = zz >= 0 && yy >= 0 && xx >= 0 && zz < l.shape[0] && yy < l.shape[1] && xx < l.shape[2];
          out[(z * n + y) * n + x] = inside ? src[(zz * l.shape[1] + yy) * l.shape[2] + xx]! : fillValue;
        }
    return out;
  }

  async readImage(scale: number, centre: Point, size: number): Promise<Float32Array> {
    return this.read('image', scale, centre, size);
  }

  async readLabel(scale: number, centre: Point, size: number): Promise<Float32Array> {
    return this.read('label', scale, centre, size);
  }

  async rootPoints(): Promise<Point[]> {
    const { label, shape } = this.scales.get(1)!;
    const pts: Point[] = [];
    const every = Math.max(1, Math.floor(label.reduce((a, b) => a + (b >= 0.5 ? 1 : 0), 0) / 20000));
    let k = 0;
    for (let i = 0; i < label.length; i++) {
      if (label[i]! >= 0.5 && k++ % every === 0) {
        const x = i % shape[2];
        const y = Math.floor(i / shape[2]) % shape[1];
        const z = Math.floor(i / (shape[1] * shape[2]));
        pts.push([z, y, x]);
      }
    }
    return pts;
  }
}
