import type vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import { loadConfig, type ViewerConfig } from './config.js';
import {
  chooseLevels,
  chooseMaskLevel,
  DEFAULT_MAX_VOXELS,
  formatLength,
  formatVoxels,
  type Histogram,
  histogram,
  percentile,
  type Vec3,
} from './levels.js';
import type { Annotator } from './annotate.js';
import { setupAnnotation } from './annotate-panel.js';
import { type LoadedLevel, OmeImage } from './ome.js';
import { COLOR_MAPS, type OpacityPoint, PRESETS, presetByName, toDataRange } from './presets.js';
import { RampEditor } from './ramp-editor.js';
import { addDepth, depthArrayName, maskSurface, readVtp, type Rgb, scalarArrays, SliceView, View3D } from './scene.js';
import { type Axis, composeSlice, type Grid, nearestIndexMap, physicalToIndex } from './slices.js';
import { prepareMask } from './surface-grid.js';
import { renderTraits } from './traits.js';

/**
 * The page: loads the coarsest pyramid level first (something to look at at once), then the root
 * mask (overlay and surface), the traits, and last the finest level that fits the GPU.
 */

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => {
  const el = document.querySelector<T>(sel);
  if (!el) throw new Error(`page is missing ${sel}`);
  return el;
};

const DEFAULT_ROOT_COLOR: Rgb = [1, 0.5, 0];
const MASK_BUDGET = 2 ** 25;

interface State {
  cfg?: ViewerConfig;
  scan?: OmeImage;
  level?: LoadedLevel;
  grid?: Grid;
  mask?: Grid;
  maskMaps?: Int32Array[];
  maskLevel?: number;
  maskFactor?: number;
  rootColor: Rgb;
  hist?: Histogram;
  /** Display range presets are laid over (percentiles 0.5 and 99.5 of the coarsest level). */
  lo: number;
  hi: number;
  opacity: OpacityPoint[];
  /** Slice positions in physical units, z, y, x. */
  slicePos: Vec3;
  surfaces: { mask?: vtkPolyData; mesh?: vtkPolyData };
  levelsShown: number[];
  firstRenderMs?: number;
  /** Milliseconds from the start at which each loading step ended, for the curious and the tests. */
  timings: Record<string, number>;
  ready: boolean;
  errors: string[];
}

const state: State = {
  rootColor: DEFAULT_ROOT_COLOR,
  lo: 0,
  hi: 1,
  opacity: [],
  slicePos: [0, 0, 0],
  surfaces: {},
  levelsShown: [],
  timings: {},
  ready: false,
  errors: [],
};

const view3d = new View3D($('#view3d'));
const sliceViews = [new SliceView($('#view-z'), 0), new SliceView($('#view-y'), 1), new SliceView($('#view-x'), 2)] as const;
const allViews = [view3d, ...sliceViews];
const AXIS_NAMES = ['z', 'y', 'x'] as const;

function setStatus(text: string, progress?: number): void {
  $('#status').textContent = text;
  $('#status').classList.remove('error');
  const p = $<HTMLProgressElement>('#progress');
  if (progress === undefined) p.removeAttribute('value');
  else p.value = progress;
}

function showError(err: unknown): void {
  const msg = err instanceof Error ? err.message : String(err);
  state.errors.push(msg);
  $('#status').textContent = msg;
  $('#status').classList.add('error');
  $<HTMLProgressElement>('#progress').value = 0;
  console.error(err);
}

function info(rows: [string, string][]): void {
  const dl = $('#info');
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dl.append(dt, dd);
  }
}

// ---- volume and transfer function ----

const presetSelect = $<HTMLSelectElement>('#preset');
for (const p of PRESETS) presetSelect.add(new Option(p.name, p.name));
const ramp = new RampEditor($<HTMLCanvasElement>('#ramp'), (pts) => {
  state.opacity = pts;
  applyTransfer();
});

function applyPreset(name: string): void {
  const p = presetByName(name);
  presetSelect.value = p.name;
  presetSelect.title = p.description;
  state.opacity = toDataRange(p.opacity, state.lo, state.hi);
  ramp.setPoints(state.opacity);
  applyTransfer();
}

function applyTransfer(): void {
  const p = presetByName(presetSelect.value);
  const colors = toDataRange(p.colors, state.lo, state.hi);
  ramp.setColors(colors);
  view3d.setTransfer(colors, state.opacity, p.blend, p.shade);
}

presetSelect.addEventListener('change', () => applyPreset(presetSelect.value));
$('#ramp-reset').addEventListener('click', () => applyPreset(presetSelect.value));
$<HTMLInputElement>('#show-volume').addEventListener('change', (e) => {
  view3d.volume.setVisibility((e.target as HTMLInputElement).checked);
  view3d.render();
});

// ---- slices ----

const sliceInputs = AXIS_NAMES.map((n) => $<HTMLInputElement>(`#slice-${n}`));
const greyLo = $<HTMLInputElement>('#grey-lo');
const greyHi = $<HTMLInputElement>('#grey-hi');
const overlayOn = $<HTMLInputElement>('#show-overlay');
const overlayOpacity = $<HTMLInputElement>('#overlay-opacity');

function unit(): string {
  return state.scan?.unit ?? '';
}

function updateSlice(axis: Axis): void {
  const g = state.grid;
  if (!g) return;
  const k = physicalToIndex(g, axis, state.slicePos[axis]);
  const c = state.rootColor;
  const img = composeSlice(
    g,
    overlayOn.checked ? state.mask : undefined,
    axis,
    k,
    {
      lo: Number(greyLo.value),
      hi: Number(greyHi.value),
      color: [c[0] * 255, c[1] * 255, c[2] * 255],
      alpha: Number(overlayOpacity.value) / 100,
    },
    state.maskMaps,
  );
  view3d.setSlice(axis, img);
  sliceViews[axis].setImage(img);
  $(`#slice-${AXIS_NAMES[axis]}-val`).textContent = `${formatLength(state.slicePos[axis], unit())} (${k + 1}/${g.shape[axis]})`;
  view3d.render();
}

function updateAllSlices(): void {
  for (const a of [0, 1, 2] as const) updateSlice(a);
}

let annotator: Annotator | undefined;

/** The level-0 voxel at the sliders' physical position, for the full-resolution annotation slices. */
function cursorVoxel(): [number, number, number] {
  const l0 = state.scan!.levels[0]!;
  return [0, 1, 2].map((a) =>
    Math.max(0, Math.min(l0.shape[a]! - 1, Math.round((state.slicePos[a]! - l0.origin[a]!) / l0.spacing[a]!))),
  ) as [number, number, number];
}

sliceInputs.forEach((input, a) => {
  input.addEventListener('input', () => {
    state.slicePos[a] = Number(input.value);
    updateSlice(a as Axis);
    if (annotator && state.scan) void annotator.setCursor(cursorVoxel()).catch(showError);
  });
});
for (const el of [greyLo, greyHi, overlayOn, overlayOpacity]) el.addEventListener('input', updateAllSlices);
for (const el of [greyLo, greyHi]) el.addEventListener('input', () => annotator?.redraw());
for (const el of [greyLo, greyHi]) {
  el.addEventListener('input', () => {
    $('#grey-lo-val').textContent = String(Number(Number(greyLo.value).toPrecision(4)));
    $('#grey-hi-val').textContent = String(Number(Number(greyHi.value).toPrecision(4)));
  });
}
$<HTMLInputElement>('#show-slices3d').addEventListener('change', (e) => {
  const on = (e.target as HTMLInputElement).checked;
  for (const s of view3d.slices) s.actor.setVisibility(on && state.grid !== undefined);
  view3d.render();
});

/** Puts a loaded level on screen: volume, slider ranges, slices. */
function showLevel(l: LoadedLevel): void {
  const first = !state.level;
  state.level = l;
  const { shape, spacing, origin } = l.level;
  state.grid = { data: l.data, shape, spacing, origin };
  if (state.mask) state.maskMaps = [0, 1, 2].map((a) => nearestIndexMap(state.grid!, state.mask!, a as Axis));
  if (first) {
    for (const v of allViews) v.unit = unit();
    const h = histogram(l.data);
    state.hist = h;
    state.lo = percentile(h, 0.005);
    state.hi = percentile(h, 0.995);
    if (!(state.hi > state.lo)) [state.lo, state.hi] = [h.min, h.max > h.min ? h.max : h.min + 1];
    ramp.setDomain(h.min, h.max, h);
    for (const [el, v] of [
      [greyLo, state.lo],
      [greyHi, state.hi],
    ] as const) {
      el.min = String(h.min);
      el.max = String(h.max);
      el.step = String(l.data instanceof Float32Array ? (h.max - h.min) / 1000 : 1);
      el.value = String(v);
      el.dispatchEvent(new Event('input'));
    }
    const isSeg = /probability/i.test(state.scan?.multiscaleName ?? '');
    applyPreset(isSeg ? 'Root probability' : 'CT soil');
    for (const a of [0, 1, 2] as const) state.slicePos[a] = origin[a] + Math.floor(shape[a] / 2) * spacing[a];
    view3d.setAxisLabels(unit());
  }
  // Slider positions on this level's voxel centres, so each step of a slider is one slice.
  for (const a of [0, 1, 2] as const) state.slicePos[a] = origin[a] + physicalToIndex(state.grid, a, state.slicePos[a]) * spacing[a];
  sliceInputs.forEach((input, a) => {
    input.min = String(origin[a]);
    input.max = String(origin[a]! + (shape[a]! - 1) * spacing[a]!);
    input.step = String(spacing[a]);
    input.value = String(state.slicePos[a]);
  });
  view3d.setVolume(l);
  view3d.volume.setVisibility($<HTMLInputElement>('#show-volume').checked);
  const planes = $<HTMLInputElement>('#show-slices3d').checked;
  for (const s of view3d.slices) s.actor.setVisibility(planes);
  updateAllSlices();
  state.levelsShown.push(l.level.index);
  view3d.render();
}

// ---- surface ----

const surfaceSource = $<HTMLSelectElement>('#surface-source');
const surfaceColor = $<HTMLSelectElement>('#surface-color');
const showSurface = $<HTMLInputElement>('#show-surface');

function currentSurface(): vtkPolyData | undefined {
  return surfaceSource.value === 'mesh' ? state.surfaces.mesh : state.surfaces.mask;
}

function refreshSurfaceChoices(): void {
  const had = surfaceSource.value;
  surfaceSource.replaceChildren();
  if (state.surfaces.mesh) surfaceSource.add(new Option('traits mesh (roots.vtp)', 'mesh'));
  if (state.surfaces.mask) surfaceSource.add(new Option('mask (marching cubes)', 'mask'));
  if (had && [...surfaceSource.options].some((o) => o.value === had)) surfaceSource.value = had;
  refreshColorChoices();
}

function refreshColorChoices(): void {
  const had = surfaceColor.value;
  surfaceColor.replaceChildren(new Option('label colour', ''));
  const poly = currentSurface();
  if (poly) for (const n of scalarArrays(poly)) surfaceColor.add(new Option(n, n));
  if ([...surfaceColor.options].some((o) => o.value === had)) surfaceColor.value = had;
  applySurface();
}

function applySurface(): void {
  const poly = currentSurface();
  view3d.surface.setVisibility(showSurface.checked && poly !== undefined);
  view3d.setSurface(poly, state.rootColor, { array: surfaceColor.value, map: COLOR_MAPS.viridis! });
  const n = poly?.getNumberOfPoints() ?? 0;
  $('#surface-info').textContent = poly
    ? `${n.toLocaleString()} points, ${(poly.getNumberOfPolys?.() ?? 0).toLocaleString()} polygons`
    : 'no segmentation given';
  view3d.render();
}

surfaceSource.addEventListener('change', refreshColorChoices);
surfaceColor.addEventListener('change', applySurface);
showSurface.addEventListener('change', applySurface);

// ---- view ----

for (const b of document.querySelectorAll<HTMLButtonElement>('[data-camera]')) {
  b.addEventListener('click', () => view3d.setCamera(b.dataset.camera!));
}
$<HTMLInputElement>('#show-axes').addEventListener('change', (e) => {
  const on = (e.target as HTMLInputElement).checked;
  view3d.cubeAxes.setVisibility(on && state.level !== undefined);
  view3d.orientation.setEnabled(on);
  view3d.render();
});
$('#screenshot').addEventListener('click', () => {
  void (async () => {
    const url = await view3d.screenshot(state.cfg?.title ?? '');
    const a = document.createElement('a');
    a.href = url;
    a.download = `${(state.cfg?.title || 'rhizoct').replace(/[^\w.-]+/g, '_')}-view.png`;
    document.body.append(a);
    a.click();
    a.remove();
  })().catch(showError);
});
window.addEventListener('resize', () => {
  annotator?.resize();
  for (const v of allViews) {
    v.resize();
    v.render();
  }
});

// ---- loading ----

async function readWithProgress(
  img: OmeImage,
  level: number,
  what: string,
  from: number,
  to: number,
  factor = 1,
  reduce: 'stride' | 'max' = 'stride',
): Promise<LoadedLevel> {
  const l = img.levels[level]!;
  const text = `Loading ${what}: level ${level} (${l.shape.join('×')}${factor > 1 ? `, every ${factor}th voxel` : ''})`;
  setStatus(`${text}…`, from);
  return img.read(
    level,
    (done, total) => setStatus(`${text}: ${done}/${total} chunks`, from + ((to - from) * done) / total),
    undefined,
    factor,
    reduce,
  );
}

async function loadMask(cfg: ViewerConfig, scan: OmeImage, fresh = false): Promise<void> {
  let mask: OmeImage | undefined;
  if (cfg.seg) mask = await OmeImage.open(cfg.seg, 'labels/roots', fresh);
  else if (scan.labels.includes('roots')) mask = await OmeImage.open({ ...cfg.scan, zarrFormat: scan.zarrFormat }, 'labels/roots');
  if (!mask) return;
  if (mask.labelColor) state.rootColor = [mask.labelColor[0] / 255, mask.labelColor[1] / 255, mask.labelColor[2] / 255];
  const budget = Math.min(cfg.maxVoxels ?? DEFAULT_MAX_VOXELS, MASK_BUDGET);
  const { level, factor } = chooseMaskLevel(mask.levels, budget, view3d.max3DTextureSize());
  const l = await readWithProgress(mask, level, 'segmentation', 0.35, 0.6, factor, 'max');
  const { shape, spacing, origin } = l.level;
  state.mask = { data: l.data, shape, spacing, origin };
  state.maskLevel = level;
  state.maskFactor = factor;
  state.maskMaps = state.grid ? [0, 1, 2].map((a) => nearestIndexMap(state.grid!, state.mask!, a as Axis)) : undefined;
  info([
    [
      'segmentation',
      `${mask.url}${cfg.seg ? '' : ' (labels/roots)'}, level ${level} ${shape.join('×')}${factor > 1 ? ` (block maxima of ${factor}³)` : ''}`,
    ],
  ]);
  updateAllSlices();
  setStatus('Extracting the root surface (marching cubes)…', 0.62);
  await new Promise((r) => setTimeout(r, 0));
  const g = prepareMask(state.mask);
  if (g) {
    state.surfaces.mask = maskSurface(g, state.grid?.origin[0] ?? 0, unit());
  }
  refreshSurfaceChoices();
}

async function loadTraits(cfg: ViewerConfig): Promise<void> {
  const t = cfg.traits;
  if (!t) return;
  if (t.json) {
    const r = await fetch(t.json);
    if (r.ok) {
      renderTraits($('#traits'), await r.json());
      $('#traits-section').hidden = false;
    } else if (r.status !== 404) throw new Error(`${t.json}: HTTP ${r.status}`);
  }
  if (t.mesh) {
    const r = await fetch(t.mesh);
    if (r.ok) {
      setStatus('Reading the traits mesh…', 0.66);
      const poly = readVtp(await r.arrayBuffer());
      addDepth(poly, state.grid?.origin[0] ?? 0, unit());
      state.surfaces.mesh = poly;
      refreshSurfaceChoices();
      surfaceSource.value = 'mesh';
      refreshColorChoices();
    } else if (r.status !== 404) throw new Error(`${t.mesh}: HTTP ${r.status}`);
  }
}

const t0 = performance.now();
function mark(step: string): void {
  state.timings[step] = Math.round(performance.now() - t0);
}

async function run(): Promise<void> {
  setStatus('Reading the configuration…');
  const cfg = await loadConfig();
  state.cfg = cfg;
  document.title = `${cfg.title} — rhizoct view`;
  $('#title').textContent = cfg.title;
  setStatus(`Opening ${cfg.scan.url}…`);
  const scan = await OmeImage.open(cfg.scan);
  state.scan = scan;
  const max3d = view3d.max3DTextureSize();
  const software = view3d.adaptToRenderer();
  const choice = chooseLevels(scan.levels, max3d, cfg.maxVoxels);
  const l0 = scan.levels[0]!;
  info([
    ['scan', scan.url],
    ['format', `OME-Zarr, Zarr v${scan.zarrFormat}`],
    ['levels', scan.levels.map((l) => l.shape.join('×')).join(', ')],
    ['voxel', `${l0.spacing.map((s) => formatLength(s, scan.unit)).join(' × ')} (z × y × x)`],
    ['type', l0.dtype],
    ['GPU', `${view3d.rendererName()}${software ? ' (software rendering: volume without shading)' : ''}`],
    ['3D texture', `${max3d}³ max; budget ${formatVoxels(cfg.maxVoxels ?? DEFAULT_MAX_VOXELS)} voxels`],
  ]);
  mark('metadata');
  const coarse = await readWithProgress(scan, choice.coarse, 'scan', 0, 0.3, choice.factor);
  mark('coarse read');
  showLevel(coarse);
  view3d.renderNow();
  state.firstRenderMs = performance.now() - t0;
  mark('first render');
  await loadMask(cfg, scan);
  mark('mask and surface');
  await loadTraits(cfg);
  mark('traits');
  annotator = await setupAnnotation(cfg, scan, {
    window: () => ({ lo: Number(greyLo.value), hi: Number(greyHi.value) }),
    onCursor: (v) => {
      const l0 = scan.levels[0]!;
      for (const a of [0, 1, 2] as const) {
        state.slicePos[a] = l0.origin[a] + v[a] * l0.spacing[a];
        sliceInputs[a]!.value = String(state.slicePos[a]);
      }
      updateAllSlices();
    },
    onSegmentation: async (url) => {
      cfg.seg = { url };
      await loadMask(cfg, scan, true);
      setStatus(`Segmentation updated (${url})`, 1);
    },
    onError: showError,
  });
  if (annotator) {
    await annotator.setCursor(cursorVoxel());
    mark('annotation');
  }
  if (choice.fine !== choice.coarse) {
    const fine = await readWithProgress(scan, choice.fine, 'scan', 0.7, 0.98);
    mark('fine read');
    showLevel(fine);
    mark('fine shown');
  }
  info([['shown', `level ${choice.fine} ${state.level!.level.shape.join('×')}${choice.reason ? ` (${choice.reason})` : ''}`]]);
  view3d.renderNow();
  mark('3d rendered');
  for (const v of sliceViews) v.renderNow();
  mark('ready');
  setStatus(
    `Ready: level ${choice.fine} (${state.level!.level.shape.join('×')}${choice.factor > 1 ? `, every ${choice.factor}th voxel` : ''})${state.mask ? `, segmentation level ${state.maskLevel}` : ''} — ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    1,
  );
  state.ready = true;
}

const ready = run().catch((err: unknown) => {
  showError(err);
  throw err;
});

/** For tests and the console: the page's state and a few handles. */
(window as unknown as Record<string, unknown>).rhizoctViewer = {
  ready: ready.then(
    () => true,
    () => false,
  ),
  state: () => ({
    ready: state.ready,
    errors: state.errors,
    levelsShown: state.levelsShown,
    maskLevel: state.maskLevel,
    maskFactor: state.maskFactor,
    firstRenderMs: state.firstRenderMs,
    timings: state.timings,
    slicePos: state.slicePos,
    surfacePoints: currentSurface()?.getNumberOfPoints() ?? 0,
    surfaceSource: surfaceSource.value,
    surfaceColorings: [...surfaceColor.options].map((o) => o.value),
    depthArray: depthArrayName(unit()),
    rootColor: state.rootColor,
    opacity: state.opacity,
    unit: unit(),
  }),
  setCamera: (name: string) => {
    view3d.setCamera(name);
    view3d.renderNow();
  },
  worldToPixel: (x: number, y: number, z: number) => view3d.worldToPixel(x, y, z),
  renderNow: () => {
    for (const v of allViews) v.renderNow();
  },
  views: { view3d, sliceViews },
  annotator: () => annotator,
};
