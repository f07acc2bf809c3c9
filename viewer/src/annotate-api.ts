import type { AnnotateConfig } from '../../src/pipeline/viewer-config.js';
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
  train?: { name: string; phase: 'running' | 'done' | 'failed'; step: number; steps: number; loss?: number; valDice?: number; bestDice?: number; epochs: TrainUpdate[]; seconds: number; error?: string };
  segment?: { model: string; phase: 'running' | 'done' | 'failed'; done: number; total: number; seconds: number; error?: string };
  models: string[];
  current: string;
  overlay?: { generation: number; url: string; model: string };
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

  async segment(model?: string): Promise<JobsState> {
    return (await this.post('api/segment', model !== undefined ? { model } : {})) as JobsState;
  }
}
