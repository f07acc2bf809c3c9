import type { AnnotateConfig, StoreRef } from '../../src/pipeline/viewer-config.js';
import { AnnotateApi } from './annotate-api.js';
import { type OmeImage, type SliceData, OmeImage as Ome } from './ome.js';
import {
  type Axis,
  brushLine,
  cellsToVoxels,
  fitView,
  pan,
  planeAxes,
  type PlaneView,
  rowsCols,
  screenToPlane,
  screenToVoxel,
  type Vec3,
  voxelToScreen,
  zoomAt,
} from './paint-geometry.js';
import { type Stroke, StrokeHistory, undoEdits } from './stroke-history.js';

/**
 * Painting corrections on the three slices at full resolution. Each slice view gets a canvas on
 * top of the vtk.js view while annotating; it draws the scan's level-0 slice at the cursor, the
 * segmentation overlay and the strokes, each of which can be hidden. A stroke is painted on the
 * page at once and sent to the server as it is drawn (every few hundred milliseconds and when the
 * button is released); the server answers with what the voxels held before, for undo.
 */

export type Tool = 'root' | 'not-root' | 'erase';
export const TOOL_VALUE: Record<Tool, number> = { root: 1, 'not-root': 2, erase: 0 };
const STROKE_RGB: Record<number, [number, number, number]> = { 1: [255, 40, 40], 2: [40, 140, 255] };
const FLUSH_MS = 300;

export interface Layers {
  scan: boolean;
  overlay: boolean;
  strokes: boolean;
}

export interface AnnotatorHooks {
  /** Grey window of the scan, in its values. */
  window(): { lo: number; hi: number };
  /** The cursor moved (shift+click, or a slice stepped): the page moves its sliders. */
  onCursor(voxel: Vec3): void;
  onStatus(text: string, error?: boolean): void;
  /** The cursor moved, or a slice view was zoomed, panned or shown: what is in view changed. */
  onView?(): void;
}

class Plane {
  readonly canvas: HTMLCanvasElement;
  view: PlaneView | undefined;
  k = 0;
  scan: SliceData | undefined;
  mask: SliceData | undefined;
  ann: Uint8Array | undefined;
  mouse: [number, number] | undefined;
  /** The slice at one pixel per voxel, scaled onto the canvas. */
  readonly image = document.createElement('canvas');

  constructor(
    readonly axis: Axis,
    readonly container: HTMLElement,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'paint';
    this.canvas.dataset.axis = String(axis);
    this.canvas.hidden = true;
    container.append(this.canvas);
  }

  size(): [number, number] {
    return [this.container.clientWidth, this.container.clientHeight];
  }
}

export class Annotator {
  readonly api: AnnotateApi;
  readonly planes: Plane[];
  readonly history = new StrokeHistory();
  tool: Tool = 'root';
  radius = 2;
  layers: Layers = { scan: true, overlay: true, strokes: true };
  enabled = false;
  cursor: Vec3 = [0, 0, 0];
  /** Voxels painted and acknowledged by the server, for the tests. */
  written = 0;
  private overlay: OmeImage | undefined;
  private annImage: OmeImage | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly shape: Vec3;
  private readonly spacing: Vec3;

  constructor(
    readonly cfg: AnnotateConfig,
    readonly scanRef: StoreRef,
    readonly scan: OmeImage,
    containers: HTMLElement[],
    private readonly hooks: AnnotatorHooks,
  ) {
    this.api = new AnnotateApi(cfg);
    const l0 = scan.levels[0]!;
    this.shape = l0.shape;
    this.spacing = l0.spacing;
    this.planes = containers.map((c, a) => new Plane(a as Axis, c));
    this.cursor = [Math.floor(this.shape[0] / 2), Math.floor(this.shape[1] / 2), Math.floor(this.shape[2] / 2)];
    for (const p of this.planes) this.listen(p);
  }

  /** Opens the annotation label (when it exists) and the overlay of `seg` (labels/roots), if given. */
  async open(seg: StoreRef | undefined): Promise<void> {
    if (this.cfg.exists)
      this.annImage = await Ome.open({ ...this.scanRef, zarrFormat: this.scan.zarrFormat }, `labels/${this.cfg.label}`, true);
    await this.setOverlay(seg);
  }

  /** Shows `seg`'s labels/roots at level 0 as the overlay (after Segment, the new one). */
  async setOverlay(seg: StoreRef | undefined): Promise<void> {
    this.overlay = undefined;
    if (seg) {
      const img = await Ome.open(seg, 'labels/roots', true);
      const s = img.levels[0]!.shape;
      if (s.join() === this.shape.join()) this.overlay = img;
      else
        this.hooks.onStatus(
          `the segmentation's level 0 is ${s.join('×')}, the scan's ${this.shape.join('×')}: no overlay while annotating`,
          true,
        );
    }
    if (this.enabled) await Promise.all(this.planes.map((p) => this.load(p)));
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    for (const p of this.planes) p.canvas.hidden = !on;
    if (on) void this.setCursor(this.cursor);
    else this.hooks.onView?.();
  }

  /** The full-resolution slice views shown now, as zoomed and panned (none while not annotating). */
  viewsShown(): { axis: Axis; view: PlaneView; width: number; height: number }[] {
    if (!this.enabled) return [];
    return this.planes.flatMap((p) => (p.view ? [{ axis: p.axis, view: p.view, width: p.size()[0], height: p.size()[1] }] : []));
  }

  /** Moves the three slices to pass through `voxel`. */
  async setCursor(voxel: Vec3): Promise<void> {
    this.cursor = voxel.map((v, a) => Math.max(0, Math.min(this.shape[a]! - 1, Math.round(v)))) as Vec3;
    this.hooks.onView?.();
    if (!this.enabled) return;
    await Promise.all(this.planes.map((p) => (p.k !== this.cursor[p.axis] || !p.scan ? this.load(p) : Promise.resolve(this.draw(p)))));
  }

  /** Reads the plane's slice at the cursor: scan, overlay and strokes, at full resolution. */
  private async load(p: Plane): Promise<void> {
    const k = this.cursor[p.axis];
    const [scan, mask, ann] = await Promise.all([
      this.scan.readSlice(0, p.axis, k),
      this.overlay?.readSlice(0, p.axis, k),
      this.annImage?.readSlice(0, p.axis, k),
    ]);
    p.k = k;
    p.scan = scan;
    p.mask = mask;
    p.ann = ann ? Uint8Array.from(ann.data) : new Uint8Array(scan.rows * scan.cols);
    this.draw(p);
  }

  resize(): void {
    for (const p of this.planes) {
      p.view = undefined;
      this.draw(p);
    }
    this.hooks.onView?.();
  }

  private ensureView(p: Plane): PlaneView {
    const [w, h] = p.size();
    const dpr = window.devicePixelRatio || 1;
    if (p.canvas.width !== Math.round(w * dpr) || p.canvas.height !== Math.round(h * dpr)) {
      p.canvas.width = Math.round(w * dpr);
      p.canvas.height = Math.round(h * dpr);
    }
    if (!p.view) {
      p.view = fitView(p.axis, this.shape, this.spacing, w, h);
      this.hooks.onView?.();
    }
    return p.view;
  }

  draw(p: Plane): void {
    if (!this.enabled || !p.scan) return;
    const v = this.ensureView(p);
    const { rows, cols, rowSize, colSize } = rowsCols(v);
    const img = new ImageData(cols, rows);
    const px = img.data;
    const { lo, hi } = this.hooks.window();
    const g = hi > lo ? 255 / (hi - lo) : 0;
    for (let i = 0; i < rows * cols; i++) {
      let r = 0;
      if (this.layers.scan) {
        r = (p.scan.data[i]! - lo) * g;
        r = r < 0 ? 0 : r > 255 ? 255 : r;
      }
      let gg = r;
      let b = r;
      if (this.layers.overlay && p.mask && p.mask.data[i]! > 0) {
        r += 0.45 * (255 - r);
        gg += 0.45 * (128 - gg);
        b += 0.45 * (0 - b);
      }
      const s = this.layers.strokes ? p.ann?.[i] : 0;
      const c = s ? STROKE_RGB[s] : undefined;
      if (c) {
        r += 0.75 * (c[0] - r);
        gg += 0.75 * (c[1] - gg);
        b += 0.75 * (c[2] - b);
      }
      px[4 * i] = r;
      px[4 * i + 1] = gg;
      px[4 * i + 2] = b;
      px[4 * i + 3] = 255;
    }
    const off = p.image;
    off.width = cols;
    off.height = rows;
    off.getContext('2d')!.putImageData(img, 0, 0);
    const ctx = p.canvas.getContext('2d')!;
    const dpr = p.canvas.width / Math.max(1, p.size()[0]);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, p.canvas.width, p.canvas.height);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, v.left, v.top, cols * colSize * v.scale, rows * rowSize * v.scale);
    // The other two slices through the cursor, as thin lines.
    const [ra, ca] = planeAxes(p.axis);
    const [cy, cx] = [v.top + (this.cursor[ra] + 0.5) * rowSize * v.scale, v.left + (this.cursor[ca] + 0.5) * colSize * v.scale];
    ctx.strokeStyle = 'rgba(255,255,0,0.35)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(v.left, cy);
    ctx.lineTo(v.left + cols * colSize * v.scale, cy);
    ctx.moveTo(cx, v.top);
    ctx.lineTo(cx, v.top + rows * rowSize * v.scale);
    ctx.stroke();
    if (p.mouse) {
      const R = Math.max(0.5, this.radius) * Math.min(rowSize, colSize) * v.scale;
      ctx.strokeStyle = this.tool === 'root' ? '#ff5050' : this.tool === 'not-root' ? '#50a0ff' : '#ffffff';
      ctx.beginPath();
      ctx.arc(p.mouse[0], p.mouse[1], R, 0, 2 * Math.PI);
      ctx.stroke();
    }
    ctx.fillStyle = '#cfd3da';
    ctx.font = '12px system-ui, sans-serif';
    ctx.fillText(`${['z', 'y', 'x'][p.axis]} ${p.k + 1}/${this.shape[p.axis]} · full resolution`, 8, p.size()[1] - 8);
  }

  private listen(p: Plane): void {
    let stroke: { value: number; last: [number, number]; cells: Set<number>; queued: number[]; record: Stroke; timer: number } | undefined;
    let panning: [number, number] | undefined;
    const flush = (): void => {
      if (!stroke || stroke.queued.length === 0) return;
      const voxels = cellsToVoxels(p.view!, p.k, stroke.queued);
      stroke.queued = [];
      const record = stroke.record;
      const value = stroke.value;
      const sent = this.api
        .edit([{ value, voxels }])
        .then((previous) => {
          record.voxels.push(...voxels);
          record.previous.push(...previous);
          this.written += previous.length;
          if (!this.annImage) void this.openLabel();
        })
        .catch((err: unknown) => {
          this.hooks.onStatus(`strokes not saved: ${(err as Error).message}`, true);
          void this.load(p);
        });
      this.track(sent);
    };
    // Canvas coordinates from the client position: offsetX/Y are not reliable under pointer capture.
    const xy = (e: MouseEvent): [number, number] => {
      const r = p.canvas.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    p.canvas.addEventListener('contextmenu', (e) => e.preventDefault());
    // The vtk.js view underneath listens on the same container and would take the pointer over.
    for (const type of ['pointerdown', 'pointermove', 'pointerup', 'mousedown', 'mousemove', 'mouseup', 'wheel'])
      p.canvas.addEventListener(type, (e) => e.stopPropagation());
    p.canvas.addEventListener('pointerdown', (e) => {
      if (!p.view || !p.scan) return;
      p.canvas.setPointerCapture(e.pointerId);
      if (e.button === 2 || e.button === 1) {
        panning = xy(e);
        return;
      }
      if (e.button !== 0) return;
      if (e.shiftKey) {
        const vox = screenToVoxel(p.view, p.k, ...xy(e));
        if (vox) {
          this.hooks.onCursor(vox);
          void this.setCursor(vox);
        }
        return;
      }
      const at = screenToPlane(p.view, ...xy(e));
      const value = TOOL_VALUE[this.tool];
      const record: Stroke = { voxels: [], value, previous: [] };
      stroke = { value, last: at, cells: new Set(), queued: [], record, timer: window.setInterval(flush, FLUSH_MS) };
      this.history.push(record);
      this.extend(p, stroke, at);
    });
    p.canvas.addEventListener('pointermove', (e) => {
      const m = xy(e);
      p.mouse = m;
      if (panning && p.view) {
        p.view = pan(p.view, m[0] - panning[0], m[1] - panning[1]);
        panning = m;
        this.hooks.onView?.();
      } else if (stroke && p.view) {
        this.extend(p, stroke, screenToPlane(p.view, m[0], m[1]));
      }
      this.draw(p);
    });
    const end = (): void => {
      panning = undefined;
      if (!stroke) return;
      window.clearInterval(stroke.timer);
      flush();
      stroke = undefined;
    };
    p.canvas.addEventListener('pointerup', end);
    p.canvas.addEventListener('pointercancel', end);
    p.canvas.addEventListener('pointerleave', () => {
      p.mouse = undefined;
      this.draw(p);
    });
    p.canvas.addEventListener(
      'wheel',
      (e) => {
        e.preventDefault();
        if (!p.view) return;
        p.view = zoomAt(p.view, ...xy(e), e.deltaY < 0 ? 1.25 : 0.8);
        this.draw(p);
        this.hooks.onView?.();
      },
      { passive: false },
    );
  }

  /** Adds the brush's path from the stroke's last point to `at`: painted here at once, queued for the server. */
  private extend(
    p: Plane,
    stroke: { value: number; last: [number, number]; cells: Set<number>; queued: number[] },
    at: [number, number],
  ): void {
    const cells = brushLine(p.view!, stroke.last, at, this.radius);
    stroke.last = at;
    for (const c of cells) {
      if (stroke.cells.has(c)) continue;
      stroke.cells.add(c);
      stroke.queued.push(c);
      p.ann![c] = stroke.value;
    }
    this.mirror(p, cellsToVoxels(p.view!, p.k, cells), stroke.value);
  }

  /** Shows voxels painted on one plane on the other two where they cross them. */
  private mirror(from: Plane | undefined, voxels: number[], value: number): void {
    for (const q of this.planes) {
      if (q === from || !q.ann || !q.view) continue;
      const [ra, ca] = planeAxes(q.axis);
      const cols = this.shape[ca];
      let changed = false;
      for (let i = 0; i < voxels.length; i += 3) {
        if (voxels[i + q.axis] !== q.k) continue;
        q.ann[voxels[i + ra]! * cols + voxels[i + ca]!] = value;
        changed = true;
      }
      if (changed) this.draw(q);
    }
  }

  private apply(edits: { value: number; voxels: number[] }[]): void {
    for (const e of edits) {
      for (const p of this.planes) {
        if (!p.ann) continue;
        const [ra, ca] = planeAxes(p.axis);
        const cols = this.shape[ca];
        for (let i = 0; i < e.voxels.length; i += 3)
          if (e.voxels[i + p.axis] === p.k) p.ann[e.voxels[i + ra]! * cols + e.voxels[i + ca]!] = e.value;
      }
    }
    for (const p of this.planes) this.draw(p);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Resolves when every write sent so far has been answered. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  async undo(): Promise<void> {
    await this.settled();
    const s = this.history.undo();
    if (!s) return;
    const edits = undoEdits(s);
    this.apply(edits);
    const sent = this.api.edit(edits).catch((err: unknown) => this.hooks.onStatus(`undo not saved: ${(err as Error).message}`, true));
    this.track(sent);
    await sent;
  }

  async redo(): Promise<void> {
    await this.settled();
    const s = this.history.redo();
    if (!s) return;
    const edits = [{ value: s.value, voxels: s.voxels }];
    this.apply(edits);
    const sent = this.api
      .edit(edits)
      .then((prev) => this.history.replacePrevious(s, prev))
      .catch((err: unknown) => this.hooks.onStatus(`redo not saved: ${(err as Error).message}`, true));
    this.track(sent);
    await sent;
  }

  /** After the first write the label exists: open it so slices read later show the strokes. */
  private async openLabel(): Promise<void> {
    this.annImage ??= await Ome.open({ ...this.scanRef, zarrFormat: this.scan.zarrFormat }, `labels/${this.cfg.label}`, true);
  }

  redraw(): void {
    for (const p of this.planes) this.draw(p);
  }

  /** Steps the slice of plane `axis` by `d` and tells the page. */
  step(axis: Axis, d: number): void {
    const c = [...this.cursor] as Vec3;
    c[axis] += d;
    void this.setCursor(c).then(() => this.hooks.onCursor(this.cursor));
  }

  /** For tests: the page pixel of voxel (z, y, x) on the plane along `axis` (relative to its canvas). */
  voxelToCanvas(axis: Axis, voxel: Vec3): [number, number] | undefined {
    const p = this.planes[axis]!;
    return p.view ? voxelToScreen(p.view, voxel) : undefined;
  }
}
