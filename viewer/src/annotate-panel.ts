import type { ViewerConfig } from '../../src/pipeline/viewer-config.js';
import type { JobsState } from './annotate-api.js';
import { Annotator, type Tool } from './annotate.js';
import type { OmeImage } from './ome.js';
import type { Axis, Vec3 } from './paint-geometry.js';
import { JobsPoller } from './jobs-poller.js';
import { describeRegion, formatRanges, type Ranges, regionInView } from './segment-region.js';

/**
 * The Annotate section of the panel: tools, brush, undo/redo, layers, keyboard shortcuts, and the
 * loop's Train and Segment buttons with live progress (polled from /api/jobs).
 */

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => {
  const el = document.querySelector<T>(sel);
  if (!el) throw new Error(`page is missing ${sel}`);
  return el;
};

export interface PanelHooks {
  window(): { lo: number; hi: number };
  /** Level-0 voxel the page's sliders should move to. */
  onCursor(voxel: Vec3): void;
  /** A new segmentation to show as overlay everywhere (after Segment). */
  onSegmentation(url: string): Promise<void>;
  onError(msg: string): void;
}

function fmtTime(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

export function describeJobs(j: JobsState): string {
  const lines: string[] = [];
  const t = j.train;
  if (t) {
    const head = t.phase === 'running' ? `Training ${t.name}` : t.phase === 'done' ? `Trained ${t.name}` : `Training ${t.name} failed`;
    const parts = [`step ${t.step}${t.steps ? `/${t.steps}` : ''}`];
    if (t.loss !== undefined) parts.push(`loss ${t.loss.toFixed(3)}`);
    if (t.valDice !== undefined)
      parts.push(`held-out Dice ${t.valDice.toFixed(3)}${t.bestDice !== undefined ? ` (best ${t.bestDice.toFixed(3)})` : ''}`);
    parts.push(fmtTime(t.seconds));
    lines.push(`${head}: ${parts.join(', ')}${t.error ? `\n${t.error}` : ''}`);
  }
  const s = j.segment;
  if (s) {
    const what = s.region ? ` (region ${formatRanges(s.region)})` : ' (whole scan)';
    const head =
      s.phase === 'running'
        ? `Segmenting with ${s.model}${what}`
        : s.phase === 'done'
          ? `Segmented with ${s.model}${what}`
          : `Segmenting with ${s.model}${what} failed`;
    lines.push(
      `${head}: ${s.total ? `${Math.round((100 * s.done) / s.total)}%, ` : ''}${fmtTime(s.seconds)}${s.error ? `\n${s.error}` : ''}`,
    );
  }
  const c = j.overlay?.coverage;
  if (c) {
    const n = c.regions.length;
    lines.push(
      `Overlay (${j.overlay!.model}) holds ${n} region${n === 1 ? '' : 's'}, ${c.chunks.segmented} of ${c.chunks.total} chunks; the rest of the scan is not segmented yet (no overlay there, which is not "no root")`,
    );
  }
  lines.push(`Segment uses: ${j.current}${j.models.length ? ` · models: ${j.models.join(', ')}` : ''}`);
  return lines.join('\n');
}

export async function setupAnnotation(cfg: ViewerConfig, scan: OmeImage, hooks: PanelHooks): Promise<Annotator | undefined> {
  const a = cfg.annotate;
  if (!a) return undefined;
  $('#annotate-section').hidden = false;
  const containers = ['#view-z', '#view-y', '#view-x'].map((s) => $(s));
  const status = $('#job-status');
  let onView = (): void => undefined;
  const annotator = new Annotator(a, cfg.scan, scan, containers, {
    window: hooks.window,
    onCursor: hooks.onCursor,
    onStatus: (text, error) => {
      if (error) hooks.onError(text);
    },
    onView: () => onView(),
  });
  await annotator.open(cfg.seg ?? (scan.labels.includes('roots') ? { ...cfg.scan, zarrFormat: scan.zarrFormat } : undefined));

  const on = $<HTMLInputElement>('#annotate-on');
  on.addEventListener('change', () => annotator.setEnabled(on.checked));
  const toolButtons = Array.from(document.querySelectorAll<HTMLButtonElement>('#tools [data-tool]'));
  const setTool = (t: Tool): void => {
    annotator.tool = t;
    for (const b of toolButtons) b.classList.toggle('active', b.dataset.tool === t);
  };
  for (const b of toolButtons) b.addEventListener('click', () => setTool(b.dataset.tool as Tool));
  setTool('root');
  const brush = $<HTMLInputElement>('#brush');
  const setRadius = (r: number): void => {
    annotator.radius = Math.max(0, Math.min(30, r));
    brush.value = String(annotator.radius);
    $('#brush-val').textContent = `${annotator.radius} voxel${annotator.radius === 1 ? '' : 's'}`;
    annotator.redraw();
  };
  brush.addEventListener('input', () => setRadius(Number(brush.value)));
  setRadius(annotator.radius);
  const fail = (err: unknown): void => hooks.onError((err as Error).message);
  $('#undo').addEventListener('click', () => void annotator.undo().catch(fail));
  $('#redo').addEventListener('click', () => void annotator.redo().catch(fail));
  for (const k of ['scan', 'overlay', 'strokes'] as const) {
    const box = $<HTMLInputElement>(`#layer-${k}`);
    box.addEventListener('change', () => {
      annotator.layers[k] = box.checked;
      annotator.redraw();
    });
  }
  let hovered: Axis = 0;
  for (const p of annotator.planes) p.canvas.addEventListener('pointerenter', () => (hovered = p.axis));

  window.addEventListener('keydown', (e) => {
    const t = e.target as HTMLElement | null;
    if (
      t &&
      (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA') &&
      (t as HTMLInputElement).type !== 'checkbox' &&
      (t as HTMLInputElement).type !== 'range'
    )
      return;
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (ctrl && key === 'z') {
      e.preventDefault();
      void (e.shiftKey ? annotator.redo() : annotator.undo()).catch(fail);
    } else if (ctrl && key === 'y') {
      e.preventDefault();
      void annotator.redo().catch(fail);
    } else if (ctrl || e.altKey) {
      return;
    } else if (key === 'a') {
      on.checked = !on.checked;
      annotator.setEnabled(on.checked);
    } else if (key === '1') setTool('root');
    else if (key === '2') setTool('not-root');
    else if (key === 'e') setTool('erase');
    else if (key === '[') setRadius(annotator.radius - 1);
    else if (key === ']') setRadius(annotator.radius + 1);
    else if (key === ',' && annotator.enabled) annotator.step(hovered, -1);
    else if (key === '.' && annotator.enabled) annotator.step(hovered, 1);
  });

  if (a.jobs) onView = setupLoop(annotator, status, hooks, cfg.title);
  return annotator;
}

/** What Segment runs over now: the region in view, or undefined for the whole scan. */
export function segmentRegion(annotator: Annotator, scope: string): Ranges | undefined {
  if (scope === 'whole') return undefined;
  const shape = annotator.scan.levels[0]!.shape;
  return regionInView(shape, annotator.cursor, annotator.viewsShown());
}

/** Sets up Train and Segment; returns what to call when the view changes (the region line). */
function setupLoop(annotator: Annotator, status: HTMLElement, hooks: PanelHooks, title: string): () => void {
  $('#loop').hidden = false;
  const name = $<HTMLInputElement>('#model-name');
  const minutes = $<HTMLInputElement>('#train-minutes');
  const trainBtn = $<HTMLButtonElement>('#train');
  const segBtn = $<HTMLButtonElement>('#segment');
  const scope = $<HTMLSelectElement>('#segment-scope');
  const regionLine = $('#segment-region');
  const shape = annotator.scan.levels[0]!.shape;
  const showRegion = (): void => {
    const r = segmentRegion(annotator, scope.value);
    regionLine.textContent = describeRegion(
      r ?? [
        [0, shape[0]],
        [0, shape[1]],
        [0, shape[2]],
      ],
      shape,
      r === undefined,
    );
  };
  scope.addEventListener('change', showRegion);
  showRegion();
  const poller = new JobsPoller({
    fetchJobs: () => annotator.api.jobs(),
    render: (j, running) => {
      status.classList.toggle('error', j.train?.phase === 'failed' || j.segment?.phase === 'failed');
      status.textContent = describeJobs(j);
      trainBtn.disabled = running;
      segBtn.disabled = running;
      if (!name.value || j.models.includes(name.value)) name.value = nextName(title, j.models);
    },
    showOverlay: async (url) => {
      await hooks.onSegmentation(url);
      await annotator.setOverlay({ url });
    },
    onError: hooks.onError,
    every: (ms, tick) => {
      const timer = window.setInterval(tick, ms);
      return () => window.clearInterval(timer);
    },
  });
  // A refused Train or Segment request is shown where the jobs' state is.
  const refused = (err: unknown): void => {
    status.classList.add('error');
    status.textContent = (err as Error).message;
  };
  trainBtn.addEventListener('click', () => {
    void (async () => {
      await annotator.settled();
      await poller.answer(() => annotator.api.train(name.value.trim(), Number(minutes.value), testSteps()));
    })().catch(refused);
  });
  segBtn.addEventListener('click', () => {
    poller.answer(() => annotator.api.segment(undefined, segmentRegion(annotator, scope.value))).catch(refused);
  });
  void poller.poll();
  return showRegion;
}

/** `?trainSteps=N` caps training by steps (the browser test's tiny budget). */
function testSteps(): number | undefined {
  const n = Number(new URLSearchParams(location.search).get('trainSteps'));
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function nextName(title: string, models: string[]): string {
  const base = `${
    title
      .replace(/\.(ome\.)?zarr$/i, '')
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '') || 'model'
  }-annotated`;
  for (let i = 1; ; i++) if (!models.includes(`${base}-${i}`)) return `${base}-${i}`;
}
