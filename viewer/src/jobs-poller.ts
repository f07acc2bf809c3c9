import type { JobsState } from './annotate-api.js';

/**
 * The page's view of the Train and Segment jobs: answers from /api/jobs (and from the Train and
 * Segment requests, which answer with the same state) are shown in the order their requests
 * were sent, the page polls once a second while a job runs and stops when none does, and a new
 * overlay is loaded once per generation.
 *
 * Whether to poll is decided on each answer before anything is awaited: an answer whose overlay
 * takes seconds to load must not, once loaded, act on the polling with what it knew seconds ago
 * (it once stopped the polling for a Train pressed meanwhile, and the page showed "step 0" for good).
 */

export interface PollerHooks {
  /** Asks the server for the state. */
  fetchJobs(): Promise<JobsState>;
  /** Shows a state: status text, buttons (synchronous); `running`: a job runs. */
  render(j: JobsState, running: boolean): void;
  /** Loads a new segmentation as the overlay. */
  showOverlay(url: string): Promise<void>;
  onError(message: string): void;
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

export const POLL_MS = 1000;

export class JobsPoller {
  private sent = 0;
  private latest = 0;
  private stop: (() => void) | undefined;
  private shownOverlay = 0;

  constructor(private readonly hooks: PollerHooks) {}

  /** True while the page polls. */
  get polling(): boolean {
    return this.stop !== undefined;
  }

  /** Sends `request` (a poll, Train or Segment) and shows its answer unless a later one was shown. */
  async answer(request: () => Promise<JobsState>): Promise<void> {
    const id = ++this.sent;
    const j = await request();
    if (id < this.latest) return;
    this.latest = id;
    const running = j.train?.phase === 'running' || j.segment?.phase === 'running';
    this.hooks.render(j, running);
    if (running && !this.stop) this.stop = this.hooks.every(POLL_MS, () => void this.poll());
    if (!running && this.stop) {
      this.stop();
      this.stop = undefined;
    }
    if (j.overlay && j.overlay.generation !== this.shownOverlay) {
      this.shownOverlay = j.overlay.generation;
      await this.hooks.showOverlay(j.overlay.url);
    }
  }

  async poll(): Promise<void> {
    try {
      await this.answer(() => this.hooks.fetchJobs());
    } catch (err) {
      this.hooks.onError((err as Error).message);
    }
  }
}
