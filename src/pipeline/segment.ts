import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { acquireGpu } from '../gpu/acquire.js';
import { openVolume } from '../io/open.js';
import type { Gpu } from '../gpu/gpu.js';
import { removeSpecks, type MaskChunks, type SpeckRule } from '../analysis/speck-filter.js';
import { SegmentationOutput, type FinishStep, type JobIdentity, type RegionCoverage } from '../io/segmentation-output.js';
import { loadModel, modelPaths, type ModelCard } from '../nn/models/registry.js';
import { predictFused } from '../nn/models/infer.js';
import type { ModelGeometry, SegmentationModel } from '../nn/models/model.js';
import type { Box, Point, Vec3 } from '../volume/box.js';
import { IDENTITY, transformCube, type CubeTransform as Augmentation } from '../volume/cube-transform.js';
import { ChunkGrid, mortonCompare } from '../volume/chunk-grid.js';
import { formatRegion, regionBox, regionProblem, regionRanges, type RegionRanges } from '../volume/region.js';
import { tilesFor, type Tile } from '../volume/tiles.js';
import { inferenceTile } from './inference-tile.js';
import { convertToOmeZarr } from './convert.js';
import { autoScales, COARSE_OPENING, ScaleLevel, fuseMax } from './multiscale.js';
import { VolumePatches } from './patch-source.js';
import type { Progress } from './progress.js';

export interface SegmentOptions {
  input: string;
  output: string;
  model: string;
  threshold: number;
  /** Output chunk side; rounded up to a multiple of the model's tile. */
  chunk: number;
  /** Voxels of each patch's rim not used for prediction (less context there). */
  margin?: number;
  /**
   * Side of the cube one network tile predicts: a multiple of the model's own tile (its patch
   * less the margins). Default: chosen from the scan's shape and levels (inferenceTile).
   */
  tile?: number;
  shard?: { index: number; count: number };
  tta: boolean;
  batch: number;
  overwrite: boolean;
  nifti?: string;
  progress: Progress;
  /** Segment this pyramid level of an OME-Zarr input instead of full resolution (output at that level's shape). */
  level?: number;
  /**
   * Pyramid levels (relative to `level`) the network runs at, fused by the maximum at full
   * resolution (pipeline/multiscale.ts); default `auto`: 0, 1 and 2 where the level still holds one network patch.
   */
  scales?: number[] | 'auto';
  /**
   * For an input that is not OME-Zarr (slice folders, NIfTI): decode it once into a temporary
   * pyramid `OUT.input.zarr` and segment that (default true; not with `shard`, whose processes
   * would race to make it). The pyramid is removed once the output is complete.
   */
  inputPyramid?: boolean;
  /** Test hook: stop (as if killed) after this many chunks. */
  stopAfter?: number;
  /**
   * Segment only the output chunks that meet this box of full-resolution voxels, in OUT itself:
   * a new OUT holds those chunks and no others (absent, read as 0, marked in the metadata as not
   * segmented); an OUT of the same job (a region store, or complete) keeps every chunk it has and
   * gets these too. Each chunk is computed from the same context as in a whole-scan run, so its
   * bytes are the ones a whole-scan run writes. Not with `shard`, `level` > 0 or `nifti`.
   */
  region?: Box;
  /**
   * With `overwrite`: an OUT made by this same job is kept and added to (a region store is
   * completed in place, a complete one is left as it is); only another job's OUT is replaced.
   * The viewer's Segment button runs this way.
   */
  keepSameJob?: boolean;
  /**
   * Connected pieces of the mask (26-connected) with fewer voxels than this are removed once every
   * chunk is written (`removeSpecks`); 0 keeps them all. Default MIN_COMPONENT. The probabilities
   * are the network's, unfiltered.
   */
  minComponent?: number;
  /**
   * Pieces with fewer voxels than this that are compact (longest principal axis under
   * COMPACT_ELONGATION times the shortest) are removed too; 0 keeps them. Default COMPACT_BELOW.
   */
  compactBelow?: number;
}

/**
 * Defaults of `--min-component` and `--compact-below` (bench/specks.js; bench/RESULTS.md, session
 * 31). Under 64 voxels (a ball of radius 2.5) no piece of the tuning scans was worth keeping, and
 * from 128 on the random family's thin roots, found as short pieces, start to go. Compact pieces are
 * left alone by default: under 3000 voxels they were nearly all false on the tuning scans and on
 * the bean's sand, but on the held-out peat and crown-in-air scans they were thick roots found in
 * pieces (Dice −0.03 on each), so that rule is for scans like the bean (`--compact-below 3000`).
 */
export const MIN_COMPONENT = 64;
export const COMPACT_BELOW = 0;

export interface SegmentSummary {
  output: string;
  complete: boolean;
  device: string;
  /** Side of the cube one network patch predicted (inferenceTile). */
  tile: number;
  chunks: { total: number; thisShard: number; skipped: number; written: number };
  /** The shard this process ran, if any. */
  shard?: { index: number; count: number };
  /** A shard found OUT already finished by the same job: nothing was done. */
  alreadyComplete: boolean;
  /** The region this run segmented (--region), if any. */
  region?: RegionRanges;
  /** When OUT is a region store after this run: which regions it holds and how many chunks. */
  coverage?: RegionCoverage;
  voxels: number;
  seconds: number;
  voxelsPerSecond: number;
  gpuSeconds: number | null;
  peakRssMiB: number;
}

/**
 * Checks every option before anything is read or written (a bad value must not leave an
 * OUT.partial behind whose job the next, correct command would refuse to resume).
 */
export function validateSegmentOptions(opts: SegmentOptions): void {
  const bad = (what: string, v: unknown, want: string): Error =>
    new RangeError(`segment: ${what} must be ${want}, got ${JSON.stringify(v) ?? String(v)}`);
  const whole = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  if (!(typeof opts.threshold === 'number' && opts.threshold > 0 && opts.threshold < 1))
    throw bad('threshold', opts.threshold, 'a number above 0 and below 1');
  if (!whole(opts.chunk, 1, MAX_CHUNK)) throw bad('chunk', opts.chunk, `a whole number from 1 to ${MAX_CHUNK}`);
  if (!whole(opts.batch, 1, 1024)) throw bad('batch', opts.batch, 'a whole number from 1 to 1024');
  if (opts.level !== undefined && !whole(opts.level, 0, 30)) throw bad('level', opts.level, 'a whole number from 0 to 30');
  if (opts.margin !== undefined && !whole(opts.margin, 0)) throw bad('margin', opts.margin, 'a whole number ≥ 0');
  if (opts.tile !== undefined && !whole(opts.tile, 1, MAX_CHUNK)) throw bad('tile', opts.tile, `a whole number from 1 to ${MAX_CHUNK}`);
  if (opts.stopAfter !== undefined && !whole(opts.stopAfter, 0)) throw bad('stopAfter', opts.stopAfter, 'a whole number ≥ 0');
  if (opts.minComponent !== undefined && !whole(opts.minComponent, 0)) throw bad('minComponent', opts.minComponent, 'a whole number ≥ 0');
  if (opts.compactBelow !== undefined && !whole(opts.compactBelow, 0)) throw bad('compactBelow', opts.compactBelow, 'a whole number ≥ 0');
  if (
    opts.scales !== undefined &&
    opts.scales !== 'auto' &&
    !(Array.isArray(opts.scales) && opts.scales.length > 0 && opts.scales.every((l) => whole(l, 0, 6)))
  )
    throw bad('scales', opts.scales, "'auto' or pyramid levels 0..6");
  if (opts.region !== undefined) {
    const r = opts.region;
    const problem =
      r && typeof r === 'object' && Array.isArray(r.offset) && Array.isArray(r.shape)
        ? regionProblem(regionRanges(r))
        : 'must be a box {offset, shape}';
    if (problem) throw new RangeError(`segment: --region ${problem}, got ${JSON.stringify(r)}`);
    if (opts.shard)
      throw new Error('segment: --region cannot be used with --shard (a region is segmented in place by one process; shard whole scans)');
    if ((opts.level ?? 0) > 0) throw new Error('segment: --region is in full-resolution voxels and cannot be used with --level');
    if (opts.nifti)
      throw new Error('segment: --nifti exports a complete mask and cannot be used with --region (the rest of the scan is not segmented)');
  }
  if (opts.shard) {
    const { index, count } = opts.shard;
    if (!whole(count, 1) || !whole(index, 0, count - 1)) throw bad('shard', `${index}/${count}`, 'i/N with whole numbers 0 ≤ i < N');
    if (opts.overwrite) {
      throw new Error(
        'segment: --overwrite cannot be used with --shard (a shard started late would delete the work of the others, or the finished output); remove OUT and OUT.partial before submitting the shards',
      );
    }
  }
}

/** Largest output chunk side: a block's probabilities are held as float32, 4 GiB at 1024³. */
export const MAX_CHUNK = 1024;

const FLIPS: Augmentation[] = [
  IDENTITY,
  { ...IDENTITY, flip: [true, false, false] },
  { ...IDENTITY, flip: [false, true, false] },
  { ...IDENTITY, flip: [false, false, true] },
];

/**
 * Segments a scan block by block (one output chunk per block), streaming: each block reads the
 * input patches its tiles need (full resolution, plus the low-resolution context from the pyramid
 * or averaged on the fly), runs the network on the GPU, and writes probability and mask chunks
 * atomically. Reads for the next block overlap the current block's GPU work, and its write overlaps
 * the next block. Blocks already done are skipped, so a killed run resumes; `shard` takes every
 * N-th chunk so N processes share the work.
 *
 * The phases: open the model and the input (`inputPyramid`), plan the tiles and chunks
 * (`planInference`), open OUT and list its chunks (`openOutput`), the block loop (`BlockPredictor`,
 * `runBlocks`), then finalise OUT (`finaliseOutput`).
 */
export async function segment(opts: SegmentOptions, gpuIn?: Gpu): Promise<SegmentSummary> {
  validateSegmentOptions(opts);
  if (opts.region) await checkRegionInside(opts.input, opts.region);
  const t0 = performance.now();
  const gpu = gpuIn ?? (await acquireGpu());
  let vol: VolumePatches | null = null;
  try {
    const { model, card } = await loadModel(gpu, opts.model);
    const pyramid = await inputPyramid(opts);
    vol = await VolumePatches.open(pyramid ?? opts.input, card.normalisation, null, opts.level ?? 0);
    const plan = planInference(opts, model, vol.source);
    const { output, all, mine } = await openOutput(opts, vol.source, plan);
    const common = {
      ...(opts.shard ? { shard: opts.shard } : {}),
      ...(opts.region ? { region: regionRanges(opts.region) } : {}),
    };
    if (!output) {
      // A shard (a requeued task, or the array submitted again) against an output this job already finished.
      return {
        output: opts.output,
        complete: true,
        alreadyComplete: true,
        ...common,
        device: deviceName(gpu),
        tile: plan.out,
        chunks: { total: all.length, thisShard: mine.length, skipped: mine.length, written: 0 },
        voxels: 0,
        seconds: (performance.now() - t0) / 1000,
        voxelsPerSecond: 0,
        gpuSeconds: null,
        peakRssMiB: process.resourceUsage().maxRSS / 1024,
      };
    }
    const todo: Vec3[] = [];
    for (const c of mine) if (!(await output.isDone(c))) todo.push(c);
    todo.sort(mortonCompare);
    const voxelsOf = (c: Vec3): number => output.grid.chunkBox(c).shape.reduce((a, b) => a * b, 1);
    opts.progress.start(
      todo.reduce((a, c) => a + voxelsOf(c), 0),
      'voxels',
      'segment',
    );
    const blocks = new BlockPredictor(gpu, model, vol, plan, opts.tta, output.grid);
    const run = await runBlocks(opts, gpu, blocks, output, todo, mine.length);
    await blocks.settle();
    opts.progress.done();
    const complete = await finaliseOutput(opts, output, card, plan, run.written);
    if (complete && pyramid) {
      await vol.close();
      vol = null;
      await rm(pyramid, { recursive: true, force: true });
    }
    const seconds = (performance.now() - t0) / 1000;
    const voxels = run.written > 0 ? todo.slice(0, run.written).reduce((a, c) => a + voxelsOf(c), 0) : 0;
    return {
      output: opts.output,
      complete,
      alreadyComplete: false,
      ...common,
      ...(output.coverage ? { coverage: output.coverage } : {}),
      device: deviceName(gpu),
      tile: plan.out,
      chunks: { total: all.length, thisShard: mine.length, skipped: mine.length - todo.length, written: run.written },
      voxels,
      seconds,
      voxelsPerSecond: voxels / seconds,
      gpuSeconds: run.gpuSeconds,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await vol?.close();
    if (!gpuIn) gpu.destroy();
  }
}

function deviceName(gpu: Gpu): string {
  return `${gpu.adapter.description || gpu.adapter.device} (${gpu.adapter.backend})`;
}

/** How the network is run over the scan: tile, margins, batch, output chunks, levels, and the job OUT records. */
interface InferencePlan {
  /** Voxels of each patch's rim not kept. */
  margin: number;
  /** The tile one network patch predicts (a multiple of the model's own). */
  out: number;
  /** The model's geometry at that tile. */
  geometry: ModelGeometry;
  /** Tiles per GPU call, scaled from `opts.batch` (given for the model's own patch) by the patch's volume. */
  batch: number;
  chunk: Vec3;
  shape: Vec3;
  scales: number[];
  job: JobIdentity;
}

/** Checks the input is 3D and the model's tile fits the low-resolution scale, and derives the plan. */
function planInference(opts: SegmentOptions, model: SegmentationModel, src: VolumePatches['source']): InferencePlan {
  if (src.shape.length !== 3 || src.shape.some((s) => s < 1)) throw new Error(`${opts.input}: not a 3D volume (shape [${src.shape}])`);
  const g = model.geometry;
  const margin = opts.margin ?? (g.output === g.highInput ? Math.max(0, Math.min(8, Math.floor((g.output - 16) / 2))) : 0);
  const modelOut = g.output - 2 * margin;
  const snap = Math.max(g.lowScale, g.lowTargetScale);
  if (modelOut < 1 || (Math.floor(modelOut / 2) % snap !== 0 && snap > 1))
    throw new Error(
      `model tile ${g.output} with margin ${margin} gives ${modelOut}, whose half is not a multiple of the low-resolution scale ${snap}`,
    );
  const shape = src.shape as Vec3;
  const scales = !opts.scales || opts.scales === 'auto' ? autoScales(shape, g.highInput) : opts.scales;
  const { out, geometry } = inferenceTile(model, modelOut, margin, opts.tile, { shape, levels: scales });
  const batch = Math.max(1, Math.round((opts.batch * g.highInput ** 3) / geometry.highInput ** 3));
  const chunkSide = Math.ceil(opts.chunk / modelOut) * modelOut;
  const chunk: Vec3 = [chunkSide, chunkSide, chunkSide];
  const rule = speckRule(opts);
  const job = {
    input: opts.level ? `${opts.input} level ${opts.level}` : opts.input,
    model: modelPaths(opts.model).weights,
    threshold: opts.threshold,
    tta: opts.tta,
    chunk,
    ...(scales.length === 1 && scales[0] === 0 ? {} : { scales }),
    ...(out === modelOut ? {} : { tile: out }),
    ...(rule.minVoxels > 0 ? { minComponent: rule.minVoxels } : {}),
    ...(rule.compactBelow > 0 ? { compactBelow: rule.compactBelow } : {}),
  };
  return { margin, out, geometry, batch, chunk, shape, scales, job };
}

/**
 * Opens OUT (a region store, or OUT.partial; null when a shard finds OUT finished by this job, or
 * `keepSameJob` finds it complete) and lists every chunk of the scan and those this run is for.
 */
async function openOutput(
  opts: SegmentOptions,
  src: VolumePatches['source'],
  plan: InferencePlan,
): Promise<{ output: SegmentationOutput | null; all: Vec3[]; mine: Vec3[] }> {
  const { job, shape, chunk } = plan;
  const existing = opts.keepSameJob && opts.overwrite ? await SegmentationOutput.state(opts.output, src, job) : undefined;
  const overwrite = opts.overwrite && existing?.kind !== 'complete' && existing?.kind !== 'regions';
  const output = opts.region
    ? await SegmentationOutput.openRegion(opts.output, src, job, { compression: 'blosc' }, overwrite, opts.region)
    : existing?.kind === 'complete'
      ? null
      : await SegmentationOutput.open(opts.output, src, job, { compression: 'blosc' }, overwrite, opts.shard !== undefined);
  const grid = new ChunkGrid(shape, shape.map((s, i) => Math.max(1, Math.min(s, chunk[i]!))) as unknown as Vec3);
  const all = [...grid.chunksIn({ offset: [0, 0, 0], shape })];
  const mine = opts.region
    ? [...grid.chunksIn(opts.region)]
    : opts.shard
      ? all.filter((_, i) => i % opts.shard!.count === opts.shard!.index)
      : all;
  return { output, all, mine };
}

/**
 * One block's probabilities: reads each tile's inputs (full-resolution tiles of the next block
 * read ahead while this one's GPU work runs), runs the network (with flips under `tta`) and fuses
 * the pyramid levels by the maximum.
 */
class BlockPredictor {
  /** Full-resolution tiles of the next chunk, read while this chunk's GPU work runs. */
  private readonly prefetched = new Map<string, Promise<TileInput>>();
  private readonly levels: ScaleLevel[];
  private readonly full: ScaleLevel | undefined;

  constructor(
    private readonly gpu: Gpu,
    private readonly model: SegmentationModel,
    private readonly vol: VolumePatches,
    private readonly plan: InferencePlan,
    private readonly tta: boolean,
    private readonly grid: SegmentationOutput['grid'],
  ) {
    const finest = Math.min(...plan.scales);
    this.levels = plan.scales.map(
      (l) =>
        new ScaleLevel(
          l,
          plan.shape,
          plan.out,
          async (tiles, level) => this.predictTiles(await this.readInputs(tiles, level)),
          l === finest ? 0 : COARSE_OPENING,
        ),
    );
    this.full = this.levels.find((l) => l.level === 0);
  }

  /**
   * Adds `box`'s probabilities into `probs` level by level; once its tiles are being read, the
   * reads of `next` (the chunk after it) start.
   */
  async predict(probs: Float32Array, box: Box, next: Vec3 | undefined): Promise<void> {
    for (const [k, level] of this.levels.entries()) {
      const p = level.probabilities(box);
      if (k === 0 && next) this.prefetch(next, box);
      fuseMax(probs, await p);
    }
  }

  /** Tiles the current chunk shares with the next are left to the current chunk (then cached). */
  prefetch(c: Vec3, current: Box): void {
    if (!this.full) return;
    const { out, shape } = this.plan;
    const now = new Set(tilesFor({ out, shape }, current).map((t) => t.start.join(',')));
    for (const t of this.full.missingTiles(this.grid.chunkBox(c))) {
      const k = t.start.join(',');
      if (this.prefetched.has(k) || now.has(k)) continue;
      const read = this.readTile(t, 0);
      read.catch(() => undefined); // awaited (and thrown) where the tile is predicted
      this.prefetched.set(k, read);
    }
  }

  /** Waits for reads started ahead and never used (a run stopped early). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.prefetched.values());
  }

  // Tiles of pyramid level L are in that level's voxels; their inputs are read 2^L× coarser.
  private async readTile(t: Tile, level: number): Promise<TileInput> {
    const ig = this.plan.geometry;
    const f = 2 ** level;
    const centre = t.centre.map((c) => c * f) as unknown as Point;
    const high = await this.vol.readImage(f, centre, ig.highInput);
    return { high, low: ig.lowScale === 1 ? null : await this.vol.readImage(ig.lowScale * f, centre, ig.lowInput) };
  }

  private async readInputs(tiles: Tile[], level: number): Promise<{ highs: Float32Array[]; lows: (Float32Array | null)[] }> {
    const highs: Float32Array[] = [];
    const lows: (Float32Array | null)[] = [];
    for (const t of tiles) {
      const k = level === 0 ? t.start.join(',') : null;
      const early = k === null ? undefined : this.prefetched.get(k);
      if (k !== null) this.prefetched.delete(k);
      const { high, low } = await (early ?? this.readTile(t, level));
      highs.push(high);
      lows.push(low);
    }
    return { highs, lows };
  }

  private async predictTiles(inp: { highs: Float32Array[]; lows: (Float32Array | null)[] }): Promise<Float32Array[]> {
    const { geometry: ig, batch, margin, out } = this.plan;
    const res: Float32Array[] = [];
    const n3 = ig.output ** 3;
    for (let i = 0; i < inp.highs.length; i += batch) {
      const hs = inp.highs.slice(i, i + batch);
      const ls = inp.lows.slice(i, i + batch);
      const sum = new Float32Array(n3 * hs.length);
      const variants = this.tta ? FLIPS : [IDENTITY];
      for (const a of variants) {
        const plain = a === IDENTITY;
        const p = await predictFused(
          this.gpu,
          this.model,
          plain ? hs : hs.map((h) => transformCube(h, ig.highInput, a)),
          plain ? ls : ls.map((l) => (l ? transformCube(l, ig.lowInput, a) : null)),
          ig,
        );
        for (let k = 0; k < hs.length; k++) {
          const part = p.subarray(k * n3, (k + 1) * n3);
          const back = plain ? part : transformCube(part, ig.output, a); // a flip is its own inverse
          for (let j = 0; j < n3; j++) sum[k * n3 + j]! += back[j]!;
        }
      }
      for (let k = 0; k < hs.length; k++) {
        const cube = sum.subarray(k * n3, (k + 1) * n3);
        for (let j = 0; j < n3; j++) cube[j]! /= variants.length;
        res.push(margin === 0 ? cube.slice() : cropCentre(cube, ig.output, out));
      }
    }
    return res;
  }
}

/**
 * The block loop: predicts each chunk of `todo`, thresholds it and writes it while the next chunk
 * computes; stops after `opts.stopAfter` chunks. `total` is the chunks this run is for, done or not.
 */
async function runBlocks(
  opts: SegmentOptions,
  gpu: Gpu,
  blocks: BlockPredictor,
  output: SegmentationOutput,
  todo: Vec3[],
  total: number,
): Promise<{ written: number; gpuSeconds: number | null }> {
  let gpuNs = 0;
  let hasGpuTime = gpu.hasTimestamps;
  let written = 0;
  let pendingWrite: Promise<void> = Promise.resolve();
  if (todo.length > 0) blocks.prefetch(todo[0]!, { offset: [0, 0, 0], shape: [0, 0, 0] });
  for (let i = 0; i < todo.length; i++) {
    if (opts.stopAfter !== undefined && written >= opts.stopAfter) break;
    const c = todo[i]!;
    const box: Box = output.grid.chunkBox(c);
    const probs = new Float32Array(box.shape[0] * box.shape[1] * box.shape[2]);
    const timed = await gpu.timed(() => blocks.predict(probs, box, todo[i + 1]));
    if (timed.gpuNs === null) hasGpuTime = false;
    else gpuNs += timed.gpuNs;
    const p8 = new Uint8Array(probs.length);
    const m8 = new Uint8Array(probs.length);
    for (let j = 0; j < probs.length; j++) {
      p8[j] = Math.round(Math.min(1, Math.max(0, probs[j]!)) * 255);
      m8[j] = probs[j]! >= opts.threshold ? 1 : 0;
    }
    await pendingWrite;
    pendingWrite = output.writeChunk(c, p8, m8).then(
      () => {
        written++;
        opts.progress.advance(probs.length);
      },
      (err: NodeJS.ErrnoException) => {
        throw writeFailure(err, opts.output, c, total - todo.length + written, total);
      },
    );
    // Handled here so a failure while the next chunk computes is not an unhandled rejection; the
    // next `await pendingWrite` still throws it.
    pendingWrite.catch(() => undefined);
  }
  await pendingWrite;
  return { written, gpuSeconds: hasGpuTime ? gpuNs / 1e9 : null };
}

/**
 * Records the provenance and, where every chunk is written, makes OUT complete (true then); in OUT
 * itself the metadata is brought up to date either way. --nifti exports a complete mask.
 */
async function finaliseOutput(
  opts: SegmentOptions,
  output: SegmentationOutput,
  card: ModelCard,
  plan: InferencePlan,
  written: number,
): Promise<boolean> {
  // Every chunk this run set out to do is written (not stopped early).
  const ranToEnd = opts.stopAfter === undefined || written < opts.stopAfter;
  const provenance = {
    model: card.config,
    normalisation: card.normalisation,
    threshold: opts.threshold,
    tta: opts.tta,
    scales: plan.scales,
    tile: plan.out,
    input: opts.input,
  };
  const rule = speckRule(opts);
  const finish: FinishStep | undefined =
    rule.minVoxels > 0 || rule.compactBelow > 0
      ? async (out, done) => ({
          specks: { minComponent: rule.minVoxels, compactBelow: rule.compactBelow, ...(await removeSpecks(maskChunks(out), done, rule)) },
        })
      : undefined;
  const complete = output.inPlace
    ? await output.tryFinalize(provenance, undefined, ranToEnd ? opts.region : undefined, finish)
    : ranToEnd
      ? await output.tryFinalize(provenance, undefined, undefined, finish)
      : false;
  if (complete && opts.nifti) await convertToOmeZarr(opts.output, opts.nifti, { open: { label: 'roots' }, overwrite: true });
  return complete;
}

const speckRule = (opts: SegmentOptions): SpeckRule => ({
  minVoxels: opts.minComponent ?? MIN_COMPONENT,
  compactBelow: opts.compactBelow ?? COMPACT_BELOW,
});

const maskChunks = (out: SegmentationOutput): MaskChunks => ({
  grid: out.grid,
  read: (c) => out.readMask(c),
  write: (c, data) => out.writeMask(c, data),
});

/** Refuses a region that does not lie inside the input's full-resolution voxels, before anything is written. */
export async function checkRegionInside(input: string, region: Box): Promise<void> {
  const src = await openVolume(input);
  try {
    if (src.shape.length !== 3) return; // refused with the rest of the input's checks
    regionBox(
      regionRanges(region),
      src.shape as Vec3,
      `segment: --region ${formatRegion(region)} of ${input} (shape ${src.shape.join('×')})`,
    );
  } finally {
    await src.close();
  }
}

/** Makes (or finds, when a killed run left it) the temporary pyramid of a non-Zarr input; null when none is needed. */
async function inputPyramid(opts: SegmentOptions): Promise<string | null> {
  if (opts.inputPyramid === false || opts.shard || (opts.level ?? 0) > 0) return null;
  const src = await openVolume(opts.input);
  const format = src.format;
  await src.close();
  if (format === 'ome-zarr') return null;
  const path = `${opts.output.replace(/\/+$/, '')}.input.zarr`;
  if (!existsSync(path)) await convertToOmeZarr(opts.input, path, { progress: opts.progress });
  return path;
}

/**
 * A failed chunk write as the user needs it: which output, which chunk, that the chunks before it
 * are whole (each is renamed into place, then marked done) and that the same command resumes.
 */
function writeFailure(err: NodeJS.ErrnoException, output: string, chunk: Vec3, done: number, total: number): Error {
  const why = err.code === 'ENOSPC' || err.code === 'EDQUOT' ? `the disk is full (${err.code})` : err.message;
  return new Error(
    `${output}: writing chunk ${chunk.join('.')} failed: ${why}. ${done} of ${total} chunks are written and intact in ${output}.partial; ` +
      'free space (or fix the cause) and run the same command again to resume.',
    { cause: err },
  );
}

interface TileInput {
  high: Float32Array;
  low: Float32Array | null;
}

function cropCentre(cube: Float32Array, n: number, m: number): Float32Array {
  const o = (n - m) / 2;
  const out = new Float32Array(m * m * m);
  for (let z = 0; z < m; z++)
    for (let y = 0; y < m; y++) {
      const s = ((z + o) * n + (y + o)) * n + o;
      out.set(cube.subarray(s, s + m), (z * m + y) * m);
    }
  return out;
}
