import type { Histogram } from './levels.js';
import type { ColorPoint, OpacityPoint } from './presets.js';

/**
 * The editable opacity ramp: the scan's histogram (log counts) over the data range, the colour
 * map beneath it and the opacity points as handles. Drag a handle to move it, double-click
 * empty space to add one, double-click a handle to remove it. Values are data values.
 */
export class RampEditor {
  private points: OpacityPoint[] = [];
  private colors: ColorPoint[] = [];
  private hist: Histogram | undefined;
  private min = 0;
  private max = 1;
  private drag = -1;
  private readonly pad = 8;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onChange: (points: OpacityPoint[]) => void,
  ) {
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', () => (this.drag = -1));
    canvas.addEventListener('pointerleave', () => (this.drag = -1));
    canvas.addEventListener('dblclick', (e) => this.dblclick(e));
  }

  setDomain(min: number, max: number, hist?: Histogram): void {
    this.min = min;
    this.max = max > min ? max : min + 1;
    this.hist = hist;
    this.draw();
  }

  setColors(colors: ColorPoint[]): void {
    this.colors = colors;
    this.draw();
  }

  setPoints(points: OpacityPoint[]): void {
    this.points = points.map((p) => [p[0], p[1]] as OpacityPoint).sort((a, b) => a[0] - b[0]);
    this.draw();
  }

  getPoints(): OpacityPoint[] {
    return this.points.map((p) => [p[0], p[1]] as OpacityPoint);
  }

  private get w(): number {
    return this.canvas.width;
  }
  private get h(): number {
    return this.canvas.height;
  }
  private get plotH(): number {
    return this.h - 14;
  }

  private toX(v: number): number {
    return this.pad + ((v - this.min) / (this.max - this.min)) * (this.w - 2 * this.pad);
  }
  private toY(a: number): number {
    return this.pad + (1 - a) * (this.plotH - 2 * this.pad);
  }
  private fromX(x: number): number {
    return this.min + ((x - this.pad) / (this.w - 2 * this.pad)) * (this.max - this.min);
  }
  private fromY(y: number): number {
    return Math.min(1, Math.max(0, 1 - (y - this.pad) / (this.plotH - 2 * this.pad)));
  }

  private pos(e: MouseEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.w) / (r.width || 1), ((e.clientY - r.top) * this.h) / (r.height || 1)];
  }

  private hit(x: number, y: number): number {
    let best = -1;
    let bd = 10 * 10;
    this.points.forEach((p, i) => {
      const d = (this.toX(p[0]) - x) ** 2 + (this.toY(p[1]) - y) ** 2;
      if (d < bd) {
        bd = d;
        best = i;
      }
    });
    return best;
  }

  private down(e: PointerEvent): void {
    const [x, y] = this.pos(e);
    this.drag = this.hit(x, y);
    if (this.drag >= 0) this.canvas.setPointerCapture(e.pointerId);
  }

  private move(e: PointerEvent): void {
    if (this.drag < 0) return;
    const [x, y] = this.pos(e);
    const i = this.drag;
    const lo = i > 0 ? this.points[i - 1]![0] : this.min;
    const hi = i < this.points.length - 1 ? this.points[i + 1]![0] : this.max;
    const v = Math.min(hi, Math.max(lo, this.fromX(x)));
    this.points[i] = [v, this.fromY(y)];
    this.changed();
  }

  private dblclick(e: MouseEvent): void {
    const [x, y] = this.pos(e);
    const i = this.hit(x, y);
    if (i >= 0) {
      if (this.points.length > 2) this.points.splice(i, 1);
    } else {
      this.points.push([this.fromX(x), this.fromY(y)]);
      this.points.sort((a, b) => a[0] - b[0]);
    }
    this.changed();
  }

  private changed(): void {
    this.draw();
    this.onChange(this.getPoints());
  }

  draw(): void {
    const g = this.canvas.getContext('2d');
    if (!g) return;
    const { w, h } = this;
    g.clearRect(0, 0, w, h);
    g.fillStyle = '#1b1e24';
    g.fillRect(0, 0, w, h);
    if (this.hist) {
      const c = this.hist.counts;
      const peak = Math.log1p(Math.max(...c));
      g.fillStyle = '#4a5160';
      const bw = (this.toX(this.hist.max) - this.toX(this.hist.min)) / c.length;
      for (let b = 0; b < c.length; b++) {
        const bh = peak > 0 ? (Math.log1p(c[b]!) / peak) * (this.plotH - 2 * this.pad) : 0;
        g.fillRect(this.toX(this.hist.min) + b * bw, this.plotH - this.pad - bh, Math.max(1, bw), bh);
      }
    }
    // Colour bar.
    if (this.colors.length) {
      const grad = g.createLinearGradient(this.toX(this.min), 0, this.toX(this.max), 0);
      for (const [v, r, gg, b] of this.colors) {
        const t = (v - this.min) / (this.max - this.min);
        if (t >= 0 && t <= 1) grad.addColorStop(t, `rgb(${r * 255},${gg * 255},${b * 255})`);
      }
      g.fillStyle = grad;
      g.fillRect(this.pad, h - 11, w - 2 * this.pad, 8);
    }
    // Ramp.
    g.strokeStyle = '#f0f0f0';
    g.lineWidth = 1.5;
    g.beginPath();
    this.points.forEach((p, i) => {
      const x = this.toX(p[0]);
      const y = this.toY(p[1]);
      if (i === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    });
    g.stroke();
    g.fillStyle = '#ffb347';
    for (const p of this.points) {
      g.beginPath();
      g.arc(this.toX(p[0]), this.toY(p[1]), 4, 0, 2 * Math.PI);
      g.fill();
    }
  }
}
