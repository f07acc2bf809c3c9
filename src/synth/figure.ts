import { encode } from 'fast-png';

/**
 * A small RGB raster for the figures (orthogonal slices, histograms) and PNG output through
 * fast-png. Text uses a built-in 5×7 bitmap font (upper case, digits, a little punctuation).
 */
export class Canvas {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: [number, number, number] = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(background, i * 3);
  }

  set(x: number, y: number, rgb: readonly [number, number, number]): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(rgb, (y * this.width + x) * 3);
  }

  rect(x: number, y: number, w: number, h: number, rgb: readonly [number, number, number]): void {
    for (let j = Math.max(0, y); j < Math.min(this.height, y + h); j++)
      for (let i = Math.max(0, x); i < Math.min(this.width, x + w); i++) this.set(i, j, rgb);
  }

  line(x0: number, y0: number, x1: number, y1: number, rgb: readonly [number, number, number]): void {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let i = 0; i <= n; i++) this.set(Math.round(x0 + ((x1 - x0) * i) / n), Math.round(y0 + ((y1 - y0) * i) / n), rgb);
  }

  /**
   * Draws a grey image (values 0..255, row-major w×h) at (x, y), scaled by an integer factor;
   * `tint` (same size, 0/1) colours masked pixels with a translucent red when given.
   */
  grey(img: Uint8Array, w: number, h: number, x: number, y: number, scale = 1, tint?: Uint8Array): void {
    for (let j = 0; j < h * scale; j++) {
      for (let i = 0; i < w * scale; i++) {
        const k = Math.floor(j / scale) * w + Math.floor(i / scale);
        const g = img[k]!;
        if (tint && tint[k])
          this.set(x + i, y + j, [Math.min(255, Math.round(g * 0.55 + 115)), Math.round(g * 0.55), Math.round(g * 0.55)]);
        else this.set(x + i, y + j, [g, g, g]);
      }
    }
  }

  text(s: string, x: number, y: number, rgb: readonly [number, number, number] = [0, 0, 0], scale = 1): void {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = FONT[ch] ?? FONT['?']!;
      for (let r = 0; r < 7; r++) {
        for (let c = 0; c < 5; c++) if ((g[r]! >> (4 - c)) & 1) this.rect(cx + c * scale, y + r * scale, scale, scale, rgb);
      }
      cx += 6 * scale;
    }
  }

  png(): Uint8Array {
    return encode({ width: this.width, height: this.height, data: this.data, channels: 3, depth: 8 });
  }
}

export function textWidth(s: string, scale = 1): number {
  return s.length * 6 * scale;
}

/**
 * Plots histograms (each normalised to its own peak, or to a shared one) as lines in a box,
 * with an x axis from `lo` to `hi` labelled by `ticks`.
 */
export function plotHistograms(
  c: Canvas,
  x: number,
  y: number,
  w: number,
  h: number,
  series: { counts: ArrayLike<number>; color: [number, number, number]; label: string }[],
  axis: { lo: number; hi: number; ticks: number[]; title: string },
): void {
  c.rect(x, y, w, 1, [0, 0, 0]);
  c.rect(x, y + h, w, 1, [0, 0, 0]);
  c.rect(x, y, 1, h, [0, 0, 0]);
  c.rect(x + w, y, 1, h + 1, [0, 0, 0]);
  for (const t of axis.ticks) {
    const px = x + Math.round(((t - axis.lo) / (axis.hi - axis.lo)) * w);
    c.rect(px, y + h, 1, 4, [0, 0, 0]);
    const lab = String(t);
    c.text(lab, px - textWidth(lab) / 2, y + h + 6);
  }
  c.text(axis.title, x + w / 2 - textWidth(axis.title) / 2, y + h + 18);
  series.forEach((s, si) => {
    const n = s.counts.length;
    let peak = 0;
    for (let i = 0; i < n; i++) peak = Math.max(peak, s.counts[i]!);
    let px0 = -1;
    let py0 = -1;
    for (let i = 0; i < n; i++) {
      const px = x + Math.round(((i + 0.5) / n) * w);
      const py = y + h - Math.round((peak > 0 ? s.counts[i]! / peak : 0) * (h - 4));
      if (px0 >= 0) {
        c.line(px0, py0, px, py, s.color);
        c.line(px0, py0 + 1, px, py + 1, s.color);
      }
      px0 = px;
      py0 = py;
    }
    c.rect(x + 8, y + 8 + si * 12, 14, 3, s.color);
    c.text(s.label, x + 26, y + 6 + si * 12);
  });
}

// 5×7 glyphs, one byte per row, bit 4 = leftmost column.
const FONT: Record<string, number[]> = {
  ' ': [0, 0, 0, 0, 0, 0, 0],
  A: [14, 17, 17, 31, 17, 17, 17],
  B: [30, 17, 17, 30, 17, 17, 30],
  C: [14, 17, 16, 16, 16, 17, 14],
  D: [30, 17, 17, 17, 17, 17, 30],
  E: [31, 16, 16, 30, 16, 16, 31],
  F: [31, 16, 16, 30, 16, 16, 16],
  G: [14, 17, 16, 23, 17, 17, 15],
  H: [17, 17, 17, 31, 17, 17, 17],
  I: [14, 4, 4, 4, 4, 4, 14],
  J: [7, 2, 2, 2, 2, 18, 12],
  K: [17, 18, 20, 24, 20, 18, 17],
  L: [16, 16, 16, 16, 16, 16, 31],
  M: [17, 27, 21, 21, 17, 17, 17],
  N: [17, 17, 25, 21, 19, 17, 17],
  O: [14, 17, 17, 17, 17, 17, 14],
  P: [30, 17, 17, 30, 16, 16, 16],
  Q: [14, 17, 17, 17, 21, 18, 13],
  R: [30, 17, 17, 30, 20, 18, 17],
  S: [15, 16, 16, 14, 1, 1, 30],
  T: [31, 4, 4, 4, 4, 4, 4],
  U: [17, 17, 17, 17, 17, 17, 14],
  V: [17, 17, 17, 17, 17, 10, 4],
  W: [17, 17, 17, 21, 21, 21, 10],
  X: [17, 17, 10, 4, 10, 17, 17],
  Y: [17, 17, 10, 4, 4, 4, 4],
  Z: [31, 1, 2, 4, 8, 16, 31],
  '0': [14, 17, 19, 21, 25, 17, 14],
  '1': [4, 12, 4, 4, 4, 4, 14],
  '2': [14, 17, 1, 2, 4, 8, 31],
  '3': [31, 2, 4, 2, 1, 17, 14],
  '4': [2, 6, 10, 18, 31, 2, 2],
  '5': [31, 16, 30, 1, 1, 17, 14],
  '6': [6, 8, 16, 30, 17, 17, 14],
  '7': [31, 1, 2, 4, 8, 8, 8],
  '8': [14, 17, 17, 14, 17, 17, 14],
  '9': [14, 17, 17, 15, 1, 2, 12],
  '.': [0, 0, 0, 0, 0, 12, 12],
  ',': [0, 0, 0, 0, 12, 4, 8],
  ':': [0, 12, 12, 0, 12, 12, 0],
  ';': [0, 12, 12, 0, 12, 4, 8],
  '-': [0, 0, 0, 31, 0, 0, 0],
  '(': [2, 4, 8, 8, 8, 4, 2],
  ')': [8, 4, 2, 2, 2, 4, 8],
  '/': [1, 1, 2, 4, 8, 16, 16],
  '%': [24, 25, 2, 4, 8, 19, 3],
  '=': [0, 0, 31, 0, 31, 0, 0],
  '<': [2, 4, 8, 16, 8, 4, 2],
  '>': [8, 4, 2, 1, 2, 4, 8],
  '+': [0, 4, 4, 31, 4, 4, 0],
  '?': [14, 17, 1, 2, 4, 0, 4],
  '×': [0, 17, 10, 4, 10, 17, 0],
  µ: [0, 17, 17, 17, 19, 29, 16],
  '³': [12, 2, 12, 2, 12, 0, 0],
  _: [0, 0, 0, 0, 0, 0, 31],
  "'": [4, 4, 8, 0, 0, 0, 0],
  '"': [10, 10, 0, 0, 0, 0, 0],
  '#': [10, 10, 31, 10, 31, 10, 10],
};
