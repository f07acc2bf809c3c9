import type { AnnotateConfig } from '../../src/pipeline/viewer-config.js';
import type { Ranges } from './segment-region.js';
import type { Edit } from './stroke-history.js';

/**
 * The page's side of `rhizoct view`'s write API: every request carries the run's token in its
 * header and goes to this page's own origin. Errors carry the server's sentence.
 */

export interface TrainUpdate {
  epoch: number;
  step: number;
  loss: number;
  valDice: number;
  best: boolean;
  validationVoxels: number;
  seconds: number;
}

export interface JobsState {
  train?: {
    name: string;
    phase: 'running' | 'done' | 'failed';
    step: number;
    steps: number;
    loss?: number;
    valDice?: number;
    bestDice?: number;
    epochs: TrainUpdate[];
    seconds: number;
    error?: string;
  };
  /** `region`: the region being (or last) segmented, [[z0, z1], [y0, y1], [x0, x1]], end excluded; absent: the whole scan. */
  segment?: {
    model: string;
    region?: Ranges;
    phase: 'running' | 'done' | 'failed';
    done: number;
    total: number;
    seconds: number;
    error?: string;
  };
  models: string[];
  current: string;
  /** `coverage`: set while the overlay holds some regions only; the rest of the scan is not segmented. */
  overlay?: {
    generation: number;
    url: string;
    model: string;
    coverage?: { regions: Ranges[]; chunks: { segmented: number; total: number } };
  };
}

export class AnnotateApi {
  constructor(private readonly cfg: AnnotateConfig) {}

  private async post(path: string, body: unknown): Promise<unknown> {
    const r = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', [this.cfg.header]: this.cfg.token },
      body: JSON.stringify(body),
      cache: 'no-store',
    });
    const text = await r.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}: ${(json as { error?: string } | undefined)?.error ?? text}`);
    return json;
  }

  /** Writes edits; returns, per voxel in order, the value it held before. */
  async edit(edits: Edit[]): Promise<number[]> {
    const r = (await this.post('api/annotations', { edits })) as { previous: number[] };
    return r.previous;
  }

  async jobs(): Promise<JobsState> {
    const r = await fetch('api/jobs', { cache: 'no-store' });
    if (!r.ok) throw new Error(`api/jobs: HTTP ${r.status}`);
    return (await r.json()) as JobsState;
  }

  async train(name: string, minutes: number, steps?: number): Promise<JobsState> {
    return (await this.post('api/train', { name, minutes, ...(steps !== undefined ? { steps } : {}) })) as JobsState;
  }

  /** Segments `region` (level-0 voxels, end excluded), or the whole scan without one. */
  async segment(model?: string, region?: Ranges): Promise<JobsState> {
    return (await this.post('api/segment', { ...(model !== undefined ? { model } : {}), ...(region ? { region } : {}) })) as JobsState;
  }
}
