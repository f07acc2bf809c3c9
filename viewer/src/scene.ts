import '@kitware/vtk.js/Rendering/OpenGL/Profiles/Geometry';
import '@kitware/vtk.js/Rendering/OpenGL/Profiles/Volume';
import vtkDataArray from '@kitware/vtk.js/Common/Core/DataArray';
import vtkImageData from '@kitware/vtk.js/Common/DataModel/ImageData';
import vtkPiecewiseFunction from '@kitware/vtk.js/Common/DataModel/PiecewiseFunction';
import type vtkPolyData from '@kitware/vtk.js/Common/DataModel/PolyData';
import vtkPolyDataNormals from '@kitware/vtk.js/Filters/Core/PolyDataNormals';
import vtkImageMarchingCubes from '@kitware/vtk.js/Filters/General/ImageMarchingCubes';
import vtkXMLPolyDataReader from '@kitware/vtk.js/IO/XML/XMLPolyDataReader';
import vtkMouseCameraTrackballPanManipulator from '@kitware/vtk.js/Interaction/Manipulators/MouseCameraTrackballPanManipulator';
import vtkMouseCameraTrackballZoomManipulator from '@kitware/vtk.js/Interaction/Manipulators/MouseCameraTrackballZoomManipulator';
import vtkInteractorStyleManipulator from '@kitware/vtk.js/Interaction/Style/InteractorStyleManipulator';
import vtkOrientationMarkerWidget from '@kitware/vtk.js/Interaction/Widgets/OrientationMarkerWidget';
import vtkActor from '@kitware/vtk.js/Rendering/Core/Actor';
import vtkAxesActor from '@kitware/vtk.js/Rendering/Core/AxesActor';
import vtkColorTransferFunction from '@kitware/vtk.js/Rendering/Core/ColorTransferFunction';
import vtkCubeAxesActor from '@kitware/vtk.js/Rendering/Core/CubeAxesActor';
import vtkImageMapper from '@kitware/vtk.js/Rendering/Core/ImageMapper';
import vtkImageSlice from '@kitware/vtk.js/Rendering/Core/ImageSlice';
import vtkMapper from '@kitware/vtk.js/Rendering/Core/Mapper';
import vtkScalarBarActor from '@kitware/vtk.js/Rendering/Core/ScalarBarActor';
import vtkVolume from '@kitware/vtk.js/Rendering/Core/Volume';
import vtkVolumeMapper from '@kitware/vtk.js/Rendering/Core/VolumeMapper';
import vtkGenericRenderWindow from '@kitware/vtk.js/Rendering/Misc/GenericRenderWindow';
import type { vtkOpenGLRenderWindow } from '@kitware/vtk.js/Rendering/OpenGL/RenderWindow';
import { formatLength, niceScaleBar, type Vec3 } from './levels.js';
import type { LoadedLevel } from './ome.js';
import { type ColorPoint, type OpacityPoint, sampleColorMap } from './presets.js';
import type { Axis, SliceImage } from './slices.js';
import type { FloatGrid } from './surface-grid.js';

/**
 * The vtk.js side: a 3D view (volume, slice planes, root surface, axes) and three 2D slice views.
 * World coordinates are the OME-Zarr's physical coordinates (x, y, z) in its unit, so the
 * scan, a mask of another pyramid level and a mesh written by `rhizoct traits` line up.
 */

export type Rgb = [number, number, number];

const BACKGROUND: Rgb = [0.09, 0.1, 0.12];
/** Samples per ray on a software rasteriser. */
const SOFTWARE_SAMPLES = 160;

/** vtkImageData from z, y, x voxels (x fastest, which is vtk's i). */
export function imageData(
  data: ArrayLike<number> & { length: number },
  shape: Vec3,
  spacing: Vec3,
  origin: Vec3,
  components = 1,
): vtkImageData {
  const img = vtkImageData.newInstance();
  img.setDimensions([shape[2], shape[1], shape[0]]);
  img.setSpacing([spacing[2], spacing[1], spacing[0]]);
  img.setOrigin([origin[2], origin[1], origin[0]]);
  img
    .getPointData()
    .setScalars(vtkDataArray.newInstance({ name: 'scalars', numberOfComponents: components, values: data as unknown as number[] }));
  return img;
}

function sliceImageData(s: SliceImage): vtkImageData {
  const img = vtkImageData.newInstance();
  img.setDimensions([...s.dims]);
  img.setSpacing([...s.spacing]);
  img.setOrigin([...s.origin]);
  img.getPointData().setScalars(vtkDataArray.newInstance({ name: 'rgb', numberOfComponents: 3, values: s.rgb }));
  return img;
}

const SLICING = [vtkImageMapper.SlicingMode.K, vtkImageMapper.SlicingMode.J, vtkImageMapper.SlicingMode.I];

function makeSliceActor(): { actor: vtkImageSlice; mapper: vtkImageMapper } {
  const mapper = vtkImageMapper.newInstance();
  const actor = vtkImageSlice.newInstance();
  actor.setMapper(mapper);
  const p = actor.getProperty();
  p.setIndependentComponents(false);
  p.setColorWindow(255);
  p.setColorLevel(127.5);
  p.setInterpolationTypeToNearest();
  actor.setVisibility(false);
  return { actor, mapper };
}

/** Camera directions: where the camera looks (direction of projection) and which way is up. */
export const CAMERAS: Record<string, { dop: Vec3; up: Vec3 }> = {
  // +z points down into the soil: 3D views keep depth downwards.
  '3d': { dop: [-0.55, -0.75, 0.36], up: [0, 0, -1] },
  front: { dop: [0, -1, 0], up: [0, 0, -1] },
  side: { dop: [1, 0, 0], up: [0, 0, -1] },
  top: { dop: [0, 0, 1], up: [0, -1, 0] },
};
/** The 2D views per axis: axial (z slice) x right y down; coronal (y) x right z down; sagittal (x) y right z down. */
const SLICE_CAMERAS: { dop: Vec3; up: Vec3 }[] = [CAMERAS.top!, CAMERAS.front!, CAMERAS.side!];

function placeCamera(
  ren: ReturnType<vtkGenericRenderWindow['getRenderer']>,
  dir: { dop: Vec3; up: Vec3 },
  parallel: boolean,
  zoom: number,
): void {
  const cam = ren.getActiveCamera();
  const fp = cam.getFocalPoint();
  cam.setParallelProjection(parallel);
  cam.setPosition(fp[0] - dir.dop[0], fp[1] - dir.dop[1], fp[2] - dir.dop[2]);
  cam.setViewUp(...dir.up);
  ren.resetCamera();
  cam.zoom(zoom);
  ren.resetCameraClippingRange();
}

/** CSS pixels per world unit at the focal point of a renderer's camera. */
function unitsPerPixel(grw: vtkGenericRenderWindow): number {
  const ren = grw.getRenderer();
  const cam = ren.getActiveCamera();
  const h = grw.getContainer().clientHeight || 1;
  if (cam.getParallelProjection()) return (2 * cam.getParallelScale()) / h;
  const d = cam.getDistance();
  return (2 * d * Math.tan((cam.getViewAngle() * Math.PI) / 180 / 2)) / h;
}

class ScaleBarOverlay {
  readonly el: HTMLDivElement;
  private readonly bar: HTMLDivElement;
  private readonly text: HTMLSpanElement;
  label = '';
  pixels = 0;
  constructor(container: HTMLElement) {
    this.el = document.createElement('div');
    this.el.className = 'scalebar';
    this.bar = document.createElement('div');
    this.bar.className = 'bar';
    this.text = document.createElement('span');
    this.el.append(this.bar, this.text);
    container.append(this.el);
  }
  update(upp: number, unit: string): void {
    const s = niceScaleBar(upp, 110, unit);
    if (!s) return;
    this.label = s.label;
    this.pixels = s.pixels;
    this.bar.style.width = `${s.pixels.toFixed(1)}px`;
    this.text.textContent = s.label;
  }
}

abstract class BaseView {
  readonly grw: vtkGenericRenderWindow;
  readonly scaleBar: ScaleBarOverlay;
  unit = '';
  private pending = false;

  constructor(readonly container: HTMLElement) {
    this.grw = vtkGenericRenderWindow.newInstance({ background: [...BACKGROUND] });
    this.grw.setContainer(container);
    this.grw.resize();
    this.scaleBar = new ScaleBarOverlay(container);
    this.grw
      .getRenderer()
      .getActiveCamera()
      .onModified(() => this.updateScaleBar());
  }

  get renderer() {
    return this.grw.getRenderer();
  }

  get openGL(): vtkOpenGLRenderWindow {
    return this.grw.getApiSpecificRenderWindow() as vtkOpenGLRenderWindow;
  }

  updateScaleBar(): void {
    this.scaleBar.update(unitsPerPixel(this.grw), this.unit);
  }

  /** Renders on the next animation frame, once however often it is asked. */
  render(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.grw.getRenderWindow().render();
    });
  }

  renderNow(): void {
    this.grw.getRenderWindow().render();
  }

  resize(): void {
    this.grw.resize();
    this.updateScaleBar();
  }

  /** The view as a PNG data URL with its scale bar drawn in. */
  async screenshot(title: string): Promise<string> {
    const [url] = this.grw.getRenderWindow().captureImages('image/png');
    const img = new Image();
    img.src = await url!;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const g = c.getContext('2d')!;
    g.drawImage(img, 0, 0);
    const k = img.width / (this.container.clientWidth || img.width);
    g.fillStyle = 'white';
    g.strokeStyle = 'white';
    g.font = `${Math.round(13 * k)}px sans-serif`;
    // The scale bar where the page shows it (top right), the title top left.
    const x1 = img.width - 16 * k;
    const y0 = 16 * k;
    g.fillRect(x1 - this.scaleBar.pixels * k, y0, this.scaleBar.pixels * k, 3 * k);
    g.textAlign = 'right';
    g.fillText(this.scaleBar.label, x1, y0 + 18 * k);
    g.textAlign = 'left';
    if (title) g.fillText(title, 16 * k, 22 * k);
    return c.toDataURL('image/png');
  }
}

export interface SurfaceColoring {
  /** '' for the solid label colour, else a point-data array name. */
  array: string;
  map: readonly ColorPoint[];
}

export class View3D extends BaseView {
  readonly volume = vtkVolume.newInstance();
  readonly volumeMapper = vtkVolumeMapper.newInstance();
  readonly ctf = vtkColorTransferFunction.newInstance();
  readonly pwf = vtkPiecewiseFunction.newInstance();
  readonly slices = [makeSliceActor(), makeSliceActor(), makeSliceActor()];
  readonly surface = vtkActor.newInstance();
  readonly surfaceMapper = vtkMapper.newInstance();
  readonly surfaceLut = vtkColorTransferFunction.newInstance();
  readonly scalarBar = vtkScalarBarActor.newInstance();
  // A box that hugs the data (vtk.js pads it by 30% by default).
  readonly cubeAxes = vtkCubeAxesActor.newInstance({ boundsScaleFactor: 1.04 });
  readonly orientation: vtkOrientationMarkerWidget;
  private hasVolume = false;
  private software = false;
  private bounds: number[] | undefined;

  constructor(container: HTMLElement) {
    super(container);
    const ren = this.renderer;
    this.volume.setMapper(this.volumeMapper);
    const vp = this.volume.getProperty();
    vp.setRGBTransferFunction(0, this.ctf);
    vp.setScalarOpacity(0, this.pwf);
    vp.setInterpolationTypeToLinear();
    vp.setAmbient(0.35);
    vp.setDiffuse(0.7);
    vp.setSpecular(0.15);
    this.volumeMapper.setMaximumSamplesPerRay(1500);
    this.volume.setVisibility(false);
    ren.addVolume(this.volume);
    for (const s of this.slices) ren.addActor(s.actor);

    this.surface.setMapper(this.surfaceMapper);
    this.surface.setVisibility(false);
    const sp = this.surface.getProperty();
    sp.setAmbient(0.25);
    sp.setDiffuse(0.8);
    sp.setSpecular(0.2);
    sp.setSpecularPower(20);
    this.surfaceMapper.setLookupTable(this.surfaceLut);
    ren.addActor(this.surface);

    this.scalarBar.setScalarsToColors(this.surfaceLut);
    this.scalarBar.setVisibility(false);
    this.scalarBar.setDrawNanAnnotation(false);
    this.scalarBar.setAxisTextStyle({ fontColor: 'white', fontFamily: 'sans-serif', fontSize: 14 });
    this.scalarBar.setTickTextStyle({ fontColor: 'white', fontFamily: 'sans-serif', fontSize: 12 });
    ren.addActor(this.scalarBar);

    this.cubeAxes.setCamera(ren.getActiveCamera());
    this.cubeAxes.setGridLines(false);
    this.cubeAxes.setAxisTextStyle({ fontColor: '#d0d4da', fontFamily: 'sans-serif', fontSize: 15 });
    this.cubeAxes.setTickTextStyle({ fontColor: '#d0d4da', fontFamily: 'sans-serif', fontSize: 12 });
    this.cubeAxes.getProperty().setColor(0.6, 0.63, 0.68);
    this.cubeAxes.setVisibility(false);
    ren.addActor(this.cubeAxes);

    const axes = vtkAxesActor.newInstance();
    this.orientation = vtkOrientationMarkerWidget.newInstance({ actor: axes, interactor: this.grw.getInteractor() });
    this.orientation.setViewportCorner(vtkOrientationMarkerWidget.Corners.BOTTOM_RIGHT);
    this.orientation.setViewportSize(0.13);
    this.orientation.setMinPixelSize(70);
    this.orientation.setMaxPixelSize(140);
    this.orientation.setEnabled(true);
  }

  private gl(): WebGL2RenderingContext | null {
    // The same attributes vtk.js asks for, so this returns its context rather than a different one.
    return this.openGL.get3DContext({
      preserveDrawingBuffer: false,
      depth: true,
      alpha: true,
      powerPreference: 'high-performance',
    }) as unknown as WebGL2RenderingContext | null;
  }

  /** The GPU as WebGL names it. */
  rendererName(): string {
    const gl = this.gl();
    if (!gl) return 'no WebGL2';
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  }

  /**
   * On a software rasteriser (SwiftShader, llvmpipe: no GPU, a remote desktop, a VM) a shaded
   * volume frame takes seconds (gradients at every sample), an unshaded one a fraction of that:
   * there the volume is drawn without shading, with a fixed number of samples per ray.
   */
  adaptToRenderer(): boolean {
    const software = /swiftshader|llvmpipe|softpipe|software/i.test(this.rendererName());
    this.software = software;
    this.volumeMapper.setMaximumSamplesPerRay(software ? SOFTWARE_SAMPLES : 1500);
    return software;
  }

  /** The GPU's largest 3D texture side. */
  max3DTextureSize(): number {
    const gl = this.gl();
    const v = gl ? (gl.getParameter(gl.MAX_3D_TEXTURE_SIZE) as number) : 256;
    return v > 0 ? v : 256;
  }

  setVolume(l: LoadedLevel): void {
    const { shape, spacing, origin } = l.level;
    const img = imageData(l.data, shape, spacing, origin);
    this.volumeMapper.setInputData(img);
    const minSpacing = Math.min(...spacing);
    const b0 = img.getBounds();
    const diagonal = Math.hypot(b0[1]! - b0[0]!, b0[3]! - b0[2]!, b0[5]! - b0[4]!);
    if (this.software) {
      // A fixed number of samples per ray: the ray-casting shader bakes that number in, and
      // compiling it anew for each pyramid level takes seconds on a software rasteriser.
      this.volumeMapper.setSampleDistance(diagonal / (SOFTWARE_SAMPLES - 0.5));
    } else {
      this.volumeMapper.setSampleDistance(Math.max(minSpacing * 0.7, diagonal / (this.volumeMapper.getMaximumSamplesPerRay() - 1)));
    }
    this.volume.getProperty().setScalarOpacityUnitDistance(0, minSpacing * 2);
    const b = img.getBounds();
    this.bounds = b;
    this.cubeAxes.setDataBounds(b);
    if (!this.hasVolume) {
      this.hasVolume = true;
      this.volume.setVisibility(true);
      this.cubeAxes.setVisibility(true);
      this.setCamera('3d');
    }
  }

  setAxisLabels(unit: string): void {
    const u = formatLength(1, unit).replace(/^1 /, '');
    this.cubeAxes.setAxisLabels([`x (${u})`, `y (${u})`, `z (${u})`]);
  }

  setTransfer(colors: readonly ColorPoint[], opacity: readonly OpacityPoint[], blend: 'composite' | 'mip', shade: boolean): void {
    this.ctf.removeAllPoints();
    for (const [v, r, g, b] of colors) this.ctf.addRGBPoint(v, r, g, b);
    this.pwf.removeAllPoints();
    for (const [v, a] of opacity) this.pwf.addPoint(v, a);
    if (blend === 'mip') this.volumeMapper.setBlendModeToMaximumIntensity();
    else this.volumeMapper.setBlendModeToComposite();
    this.volume.getProperty().setShade(shade && !this.software);
    this.render();
  }

  setSlice(axis: Axis, s: SliceImage): void {
    const a = this.slices[axis]!;
    a.mapper.setInputData(sliceImageData(s));
    a.mapper.setSlicingMode(SLICING[axis]!);
    a.mapper.setSlice(0);
  }

  setSurface(poly: vtkPolyData | undefined, color: Rgb, coloring: SurfaceColoring): void {
    if (!poly) {
      this.surface.setVisibility(false);
      this.scalarBar.setVisibility(false);
      this.scalarBar.setDrawNanAnnotation(false);
      return;
    }
    this.surfaceMapper.setInputData(poly);
    this.colorSurface(color, coloring);
  }

  colorSurface(color: Rgb, coloring: SurfaceColoring): void {
    const poly = this.surfaceMapper.getInputData() as vtkPolyData | undefined;
    this.surface.getProperty().setColor(...color);
    const arr = coloring.array && poly ? poly.getPointData().getArrayByName(coloring.array) : null;
    if (!arr) {
      this.surfaceMapper.setScalarVisibility(false);
      this.scalarBar.setVisibility(false);
      this.scalarBar.setDrawNanAnnotation(false);
      return;
    }
    const [lo, hi] = arr.getRange(0);
    this.surfaceLut.removeAllPoints();
    const span = hi > lo ? hi - lo : 1;
    for (const p of coloring.map) this.surfaceLut.addRGBPoint(lo + p[0] * span, p[1], p[2], p[3]);
    this.surfaceMapper.setScalarVisibility(true);
    this.surfaceMapper.setScalarModeToUsePointFieldData();
    this.surfaceMapper.setColorByArrayName(coloring.array);
    this.surfaceMapper.setColorModeToMapScalars();
    this.surfaceMapper.setScalarRange(lo, hi);
    this.surfaceMapper.setUseLookupTableScalarRange(false);
    this.scalarBar.setAxisLabel(coloring.array);
    this.scalarBar.setVisibility(this.surface.getVisibility());
  }

  setCamera(name: string): void {
    const dir = CAMERAS[name] ?? CAMERAS['3d']!;
    const cam = this.renderer.getActiveCamera();
    if (this.bounds) {
      const b = this.bounds;
      cam.setFocalPoint((b[0]! + b[1]!) / 2, (b[2]! + b[3]!) / 2, (b[4]! + b[5]!) / 2);
    }
    placeCamera(this.renderer, dir, name !== '3d', name === '3d' ? 0.85 : 1.0);
    this.updateScaleBar();
    this.render();
  }

  /** Where a world point lands on the canvas, in CSS pixels from its top left. */
  worldToPixel(x: number, y: number, z: number): [number, number] {
    const d = this.openGL.worldToDisplay(x, y, z, this.renderer);
    const [w, h] = this.openGL.getSize();
    const cw = this.container.clientWidth || w;
    const k = cw / w;
    return [d[0] * k, (h - d[1]) * k];
  }
}

export class SliceView extends BaseView {
  readonly slice = makeSliceActor();
  private placed = false;

  constructor(
    container: HTMLElement,
    readonly axis: Axis,
  ) {
    super(container);
    this.renderer.addActor(this.slice.actor);
    // Pan with the left button, zoom with the right button or the wheel; no rotation in 2D.
    const style = vtkInteractorStyleManipulator.newInstance();
    style.addMouseManipulator(vtkMouseCameraTrackballPanManipulator.newInstance({ button: 1 }));
    style.addMouseManipulator(vtkMouseCameraTrackballZoomManipulator.newInstance({ button: 3 }));
    style.addMouseManipulator(vtkMouseCameraTrackballZoomManipulator.newInstance({ scrollEnabled: true, dragEnabled: false }));
    this.grw.getInteractor().setInteractorStyle(style);
  }

  setImage(s: SliceImage): void {
    this.slice.mapper.setInputData(sliceImageData(s));
    this.slice.mapper.setSlicingMode(SLICING[this.axis]!);
    this.slice.mapper.setSlice(0);
    this.slice.actor.setVisibility(true);
    if (!this.placed) {
      this.placed = true;
      this.resetCamera();
    }
    // The slice moves along the view direction: keep it between the clipping planes.
    this.renderer.resetCameraClippingRange();
    this.render();
  }

  resetCamera(): void {
    const ren = this.renderer;
    ren.resetCamera();
    placeCamera(ren, SLICE_CAMERAS[this.axis]!, true, 1.25);
    this.updateScaleBar();
  }
}

/** The iso-surface at 0.5 of a prepared mask, with a "depth" point array (z from the scan's top). */
export function maskSurface(g: FloatGrid, topZ: number, unit: string): vtkPolyData {
  const mc = vtkImageMarchingCubes.newInstance({ contourValue: 0.5, computeNormals: true, mergePoints: true });
  mc.setInputData(imageData(g.data, g.shape, g.spacing, g.origin));
  mc.update();
  const poly = mc.getOutputData();
  addDepth(poly, topZ, unit);
  return poly;
}

export function depthArrayName(unit: string): string {
  const u = formatLength(1, unit).replace(/^1 /, '');
  return `depth (${u})`;
}

/** Adds a point array "depth (unit)": z minus the z of the scan's first slice (+z points down). */
export function addDepth(poly: vtkPolyData, topZ: number, unit: string): void {
  const name = depthArrayName(unit);
  if (poly.getPointData().getArrayByName(name)) return;
  const pts = poly.getPoints().getData();
  const n = pts.length / 3;
  const depth = new Float32Array(n);
  for (let i = 0; i < n; i++) depth[i] = pts[3 * i + 2]! - topZ;
  poly.getPointData().addArray(vtkDataArray.newInstance({ name, values: depth, numberOfComponents: 1 }));
}

/** Reads a VTK XML PolyData file (roots.vtp from `rhizoct traits`). */
export function readVtp(buf: ArrayBuffer): vtkPolyData {
  const reader = vtkXMLPolyDataReader.newInstance();
  reader.parseAsArrayBuffer(buf);
  const poly = reader.getOutputData(0) as vtkPolyData | undefined;
  if (!poly || poly.getNumberOfPoints() === 0) throw new Error('the mesh holds no points');
  if (poly.getPointData().getNormals()) return poly;
  // Smooth shading needs point normals; meshes written without them get computed ones.
  const normals = vtkPolyDataNormals.newInstance({ computePointNormals: true, computeCellNormals: false });
  normals.setInputData(poly);
  normals.update();
  return normals.getOutputData() as vtkPolyData;
}

/** Names of the point arrays of a mesh with one component (scalars one can colour by). */
export function scalarArrays(poly: vtkPolyData): string[] {
  const pd = poly.getPointData();
  const out: string[] = [];
  for (let i = 0; i < pd.getNumberOfArrays(); i++) {
    const a = pd.getArrayByIndex(i);
    if (a && a.getNumberOfComponents() === 1 && a.getName() !== 'Normals') out.push(a.getName());
  }
  return out;
}

export { sampleColorMap };
