import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Box, Vec3 } from '../volume/box.js';
import { formatRegion, regionBox, regionRanges, type RegionRanges } from '../volume/region.js';
import { Refused } from './annotation-guard.js';
import type { Progress } from './progress.js';
import type { TrainUpdate } from './annotation-train.js';
import { startJob, type RunningJob } from './job-process.js';
import type { SegmentSummary } from './segment.js';

/**
 * The loop's two jobs, run in the background of `rhizoct view`, one at a time (they share the
 * GPU, or the CPU that stands in for it): Train fine-tunes the base model on the scan's
 * annotations into MODELS/NAME; Segment runs the newest model (or the base) over the scan, or
 * over a region of it, into NAME/segmentation.zarr, which the page then shows as its overlay.
 * A region run updates that store in place (segment's region store: the chunks meeting the
 * region replaced, the others kept), so regions add up and a later whole-scan run completes it.
 * Painting goes on meanwhile: the annotation store is written by the page, read by training.
 * Each job runs in a process of its own (job-process.ts), so the server answers the page at once
 * however busy the job keeps the machine.
 */

export interface JobsOptions {
  scan: string;
  /** The model training starts from and Segment uses before any training. */
  baseModel: string;
  /** Folder trained models are saved in, one subfolder each. */
  modelsDir: string;
  log?: (line: string) => void;
}

export type JobPhase = 'running' | 'done' | 'failed';

export interface TrainState {
  name: string;
  phase: JobPhase;
  step: number;
  steps: number;
  /** Last epoch's training loss and validation Dice on held-out strokes. */
  loss?: number;
  valDice?: number;
  bestDice?: number;
  epochs: TrainUpdate[];
  seconds: number;
  error?: string;
}

export interface SegmentState {
  model: string;
  /** The region segmented, [[z0, z1], [y0, y1], [x0, x1]] of level-0 voxels (end excluded); absent: the whole scan. */
  region?: RegionRanges;
  phase: JobPhase;
  done: number;
  total: number;
  seconds: number;
  error?: string;
}

export interface JobsState {
  train?: TrainState;
  segment?: SegmentState;
  models: string[];
  /** The model Segment uses when none is named: the last trained, else the base. */
  current: string;
  /**
   * The newest segmentation, served under /data/overlay/GENERATION/. `coverage` is set while it
   * holds some regions only: the rest of the scan is not segmented (shown as no root).
   */
  overlay?: { generation: number; url: string; model: string; coverage?: OverlayCoverage };
}

export interface OverlayCoverage {
  regions: RegionRanges[];
  chunks: { segmented: number; total: number };
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const DEFAULT_MINUTES = 5;

/** A model folder's name as the user typed it, or why it cannot be one. */
export function checkModelName(name: unknown): string {
  if (typeof name !== 'string' || !MODEL_NAME.test(name) || name.includes('..')) {
    throw new Refused(
      422,
      `model name ${JSON.stringify(name)}: use 1–64 letters, digits, '_', '-' or '.', starting with a letter or digit`,
    );
  }
  return name;
}

function positive(body: Record<string, unknown>, key: string, max: number): number | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > max)
    throw new Refused(422, `${key} must be a number in (0, ${max}], got ${JSON.stringify(v)}`);
  return v;
}

/** Progress counted into plain numbers the page polls. */
class Counter {
  done = 0;
  total = 0;
  asProgress(): Progress {
    return {
      start: (total) => {
        this.total = total;
        this.done = 0;
      },
      advance: (n) => {
        this.done += n;
      },
      done: () => {},
    };
  }
}

export class AnnotationJobs {
  private trainState: TrainState | undefined;
  private segState: SegmentState | undefined;
  private latest: string | undefined;
  private overlayGen = 0;
  private overlayDir: string | undefined;
  private overlayModel = '';
  private overlayCoverage: OverlayCoverage | undefined;
  private busy: Promise<void> | undefined;
  private child: RunningJob | undefined;
  readonly modelsDir: string;

  constructor(readonly opts: JobsOptions) {
    this.modelsDir = resolve(opts.modelsDir);
  }

  /** The folder of the overlay of `generation`, if it is the current one. */
  overlayRoot(generation: number): string | undefined {
    return generation === this.overlayGen ? this.overlayDir : undefined;
  }

  async models(): Promise<string[]> {
    const entries = await readdir(this.modelsDir, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory() && existsSync(join(this.modelsDir, e.name, 'card.json')))
      .map((e) => e.name)
      .sort();
  }

  async state(): Promise<JobsState> {
    const t = this.trainState;
    return {
      ...(t ? { train: { ...t, epochs: [...t.epochs] } } : {}),
      ...(this.segState ? { segment: { ...this.segState } } : {}),
      models: await this.models(),
      current: this.latest ?? 'base',
      ...(this.overlayDir
        ? {
            overlay: {
              generation: this.overlayGen,
              url: `data/overlay/${this.overlayGen}`,
              model: this.overlayModel,
              ...(this.overlayCoverage ? { coverage: this.overlayCoverage } : {}),
            },
          }
        : {}),
    };
  }

  private claim(what: string): void {
    if (this.busy)
      throw new Refused(409, `${this.trainState?.phase === 'running' ? 'training' : 'segmentation'} is running; ${what} when it ends`);
  }

  private run(job: () => Promise<void>): void {
    this.busy = job().finally(() => {
      this.busy = undefined;
    });
  }

  /** Waits for the running job, if any (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.busy) await this.busy;
  }

  /** Stops the running job's process, if any, and waits for it to end (the viewer closing). */
  async close(): Promise<void> {
    this.child?.kill();
    await this.idle();
  }

  /** Waits for a job's process, which close() can stop meanwhile. */
  private async track(job: RunningJob): Promise<SegmentSummary | undefined> {
    this.child = job;
    try {
      return await job.finished;
    } finally {
      this.child = undefined;
    }
  }

  startTrain(body: Record<string, unknown>): void {
    const extra = Object.keys(body).filter((k) => !['name', 'minutes', 'steps'].includes(k));
    if (extra.length) throw new Refused(400, `unknown key ${JSON.stringify(extra[0])} (name, minutes, steps)`);
    const name = checkModelName(body.name);
    const minutes = positive(body, 'minutes', 24 * 60) ?? DEFAULT_MINUTES;
    const steps = positive(body, 'steps', 1e6);
    const out = join(this.modelsDir, name);
    if (existsSync(out)) throw new Refused(409, `${out} exists; name the new model differently`);
    this.claim('train');
    const t0 = Date.now();
    const st: TrainState = { name, phase: 'running', step: 0, steps: 0, epochs: [], seconds: 0 };
    this.trainState = st;
    this.opts.log?.(
      `train ${name}: from ${this.opts.baseModel} on ${this.opts.scan}'s annotations, ${steps ? `${steps} steps` : `${minutes} min`}`,
    );
    this.run(async () => {
      try {
        await this.track(
          startJob(
            {
              kind: 'train',
              options: {
                scan: this.opts.scan,
                from: this.opts.baseModel,
                out,
                minutes,
                ...(steps !== undefined ? { steps: Math.round(steps) } : {}),
              },
            },
            {
              onStep: (step, total) => {
                st.step = step;
                st.steps = total;
                st.seconds = (Date.now() - t0) / 1000;
              },
              onEpoch: (u) => {
                st.epochs.push(u);
                st.loss = u.loss;
                st.valDice = u.valDice;
                st.bestDice = Math.max(st.bestDice ?? -1, u.valDice);
                st.seconds = (Date.now() - t0) / 1000;
              },
            },
          ),
        );
        st.phase = 'done';
        this.latest = name;
        this.opts.log?.(`train ${name}: done`);
      } catch (err) {
        st.phase = 'failed';
        st.error = (err as Error).message;
        this.opts.log?.(`train ${name}: failed: ${st.error}`);
      } finally {
        st.seconds = (Date.now() - t0) / 1000;
      }
    });
  }

  /**
   * Starts Segment: `{"model"?: NAME, "region"?: [[z0, z1], [y0, y1], [x0, x1]]}`, the region in
   * level-0 voxels of the scan (`shape`), end excluded; without one, the whole scan.
   */
  startSegment(body: Record<string, unknown>, shape: Vec3): void {
    const extra = Object.keys(body).filter((k) => k !== 'model' && k !== 'region');
    if (extra.length) throw new Refused(400, `unknown key ${JSON.stringify(extra[0])} (model, region)`);
    let region: Box | undefined;
    if (body.region !== undefined) {
      try {
        region = regionBox(
          body.region,
          shape,
          `region (of the scan's ${shape.join('×')} voxels, as [[z0, z1], [y0, y1], [x0, x1]], end excluded)`,
        );
      } catch (err) {
        throw new Refused(422, (err as Error).message);
      }
    }
    const requested = body.model === undefined ? (this.latest ?? 'base') : body.model;
    const name = requested === 'base' ? 'base' : checkModelName(requested);
    const modelDir = name === 'base' ? this.opts.baseModel : join(this.modelsDir, name);
    if (name !== 'base' && !existsSync(join(modelDir, 'card.json'))) throw new Refused(404, `no model ${name} in ${this.modelsDir}`);
    this.claim('segment');
    const output = name === 'base' ? join(this.modelsDir, 'base.segmentation.zarr') : join(modelDir, 'segmentation.zarr');
    const t0 = Date.now();
    const progress = new Counter();
    const st: SegmentState = {
      model: name,
      ...(region ? { region: regionRanges(region) } : {}),
      phase: 'running',
      done: 0,
      total: 0,
      seconds: 0,
    };
    this.segState = st;
    const tick = setInterval(() => {
      st.done = progress.done;
      st.total = progress.total;
      st.seconds = (Date.now() - t0) / 1000;
    }, 250);
    this.opts.log?.(`segment with ${modelDir}${region ? `, region ${formatRegion(region)}` : ''} → ${output}`);
    this.run(async () => {
      try {
        // keepSameJob: what this model already segmented there is kept (a region adds to it, a
        // whole-scan run completes it); a store of another job is replaced.
        const s = await this.track(
          startJob(
            {
              kind: 'segment',
              options: {
                input: this.opts.scan,
                output,
                model: modelDir,
                threshold: 0.5,
                chunk: 64,
                tta: false,
                batch: 4,
                overwrite: true,
                keepSameJob: true,
                ...(region ? { region } : {}),
              },
            },
            { progress: progress.asProgress() },
          ),
        );
        st.phase = 'done';
        this.overlayGen += 1;
        this.overlayDir = output;
        this.overlayModel = name;
        this.overlayCoverage = s?.coverage ? { regions: s.coverage.regions, chunks: s.coverage.chunks } : undefined;
      } catch (err) {
        st.phase = 'failed';
        st.error = (err as Error).message;
        this.opts.log?.(`segment: failed: ${st.error}`);
      } finally {
        clearInterval(tick);
        st.done = progress.done;
        st.total = progress.total;
        st.seconds = (Date.now() - t0) / 1000;
      }
    });
  }
}
