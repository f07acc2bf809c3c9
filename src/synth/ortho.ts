import type { Vec3 } from '../volume/box.js';
import type { RootSystem } from './architecture.js';
import { Canvas } from './figure.js';
import type { SceneFrame } from './scene.js';

/**
 * Planes through a root: XY at the middle depth, and XZ / YZ through the thickest root that
 * crosses that depth inside the field of view (the centre when none does).
 */
export function planesThroughRoot(sys: RootSystem, frame: SceneFrame): Vec3 {
  const [nz, ny, nx] = frame.shape;
  const [vz, vy, vx] = frame.voxelSize;
  const zMid = nz >> 1;
  let best: Vec3 = [zMid, ny >> 1, nx >> 1];
  let bestR = 0;
  for (const r of sys.roots) {
    for (let i = 0; i < r.points.length; i++) {
      const [x, y, z] = r.points[i]!;
      const ix = Math.round(x / vx);
      const iy = Math.round(y / vy);
      if (Math.abs(z / vz - zMid) > 1 || ix < 0 || iy < 0 || ix >= nx || iy >= ny) continue;
      if (r.radii[i]! > bestR) {
        bestR = r.radii[i]!;
        best = [zMid, iy, ix];
      }
    }
  }
  return best;
}

/**
 * Collects the three central orthogonal planes (xy at the middle z, xz at the middle y, yz at
 * the middle x) of an image and its mask while slabs stream past, for preview figures.
 */
export class OrthoPlanes {
  readonly mid: Vec3;
  readonly xy: { image: Uint16Array; mask: Uint8Array };
  readonly xz: { image: Uint16Array; mask: Uint8Array };
  readonly yz: { image: Uint16Array; mask: Uint8Array };

  /** `mid` picks the planes (z of XY, y of XZ, x of YZ); default the centre. */
  constructor(
    readonly shape: Vec3,
    mid?: Vec3,
  ) {
    const [nz, ny, nx] = shape;
    this.mid = mid ?? [nz >> 1, ny >> 1, nx >> 1];
    this.xy = { image: new Uint16Array(ny * nx), mask: new Uint8Array(ny * nx) };
    this.xz = { image: new Uint16Array(nz * nx), mask: new Uint8Array(nz * nx) };
    this.yz = { image: new Uint16Array(nz * ny), mask: new Uint8Array(nz * ny) };
  }

  /** Takes what it needs from a slab of whole slices starting at z0. */
  add(z0: number, image: Uint16Array, mask: Uint8Array): void {
    const [, ny, nx] = this.shape;
    const depth = image.length / (ny * nx);
    const [mz, my, mx] = this.mid;
    for (let dz = 0; dz < depth; dz++) {
      const z = z0 + dz;
      const base = dz * ny * nx;
      if (z === mz) {
        this.xy.image.set(image.subarray(base, base + ny * nx));
        this.xy.mask.set(mask.subarray(base, base + ny * nx));
      }
      const row = base + my * nx;
      this.xz.image.set(image.subarray(row, row + nx), z * nx);
      this.xz.mask.set(mask.subarray(row, row + nx), z * nx);
      for (let y = 0; y < ny; y++) {
        this.yz.image[z * ny + y] = image[base + y * nx + mx]!;
        this.yz.mask[z * ny + y] = mask[base + y * nx + mx]!;
      }
    }
  }

  /**
   * A figure: the three planes side by side, grey values mapped linearly from [lo, hi] to
   * 0..255, and below them the same with the root mask in red. `maxSide` bounds the drawn size.
   */
  figure(lo: number, hi: number, title: string, maxSide = 320): Canvas {
    const [nz, ny, nx] = this.shape;
    const planes = [
      { ...this.xy, w: nx, h: ny, name: `XY (Z=${this.mid[0]})` },
      { ...this.xz, w: nx, h: nz, name: `XZ (Y=${this.mid[1]})` },
      { ...this.yz, w: ny, h: nz, name: `YZ (X=${this.mid[2]})` },
    ];
    const big = Math.max(nx, ny, nz);
    const scale = Math.max(1, Math.floor(maxSide / big));
    const shrink = Math.max(1, Math.ceil(big / maxSide));
    const size = (n: number): number => (scale > 1 ? n * scale : Math.ceil(n / shrink));
    const pad = 8;
    const top = 22;
    const W = pad + planes.reduce((a, p) => a + size(p.w) + pad, 0);
    const rowH = Math.max(...planes.map((p) => size(p.h)));
    const c = new Canvas(W, top + 2 * (rowH + 14) + pad);
    c.text(title, pad, 6);
    let x = pad;
    for (const p of planes) {
      const w = size(p.w);
      const h = size(p.h);
      const g = new Uint8Array(w * h);
      const m = new Uint8Array(w * h);
      for (let j = 0; j < h; j++) {
        for (let i = 0; i < w; i++) {
          const sj = scale > 1 ? Math.floor(j / scale) : Math.min(p.h - 1, j * shrink);
          const si = scale > 1 ? Math.floor(i / scale) : Math.min(p.w - 1, i * shrink);
          const v = p.image[sj * p.w + si]!;
          g[j * w + i] = Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo)) * 255)));
          m[j * w + i] = p.mask[sj * p.w + si]!;
        }
      }
      c.text(p.name, x, top);
      c.grey(g, w, h, x, top + 10, 1);
      c.grey(g, w, h, x, top + 10 + rowH + 14, 1, m);
      x += w + pad;
    }
    return c;
  }
}
