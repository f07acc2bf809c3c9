import { describe, expect, it } from 'vitest';
import type { JobsState } from '../../viewer/src/annotate-api.js';
import { JobsPoller, POLL_MS } from '../../viewer/src/jobs-poller.js';

/** The page's polling of /api/jobs, driven by hand: each request and each overlay load resolves when the test says. */

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

const segmentDone = (generation: number): JobsState => ({
  segment: { model: 'base', phase: 'done', done: 4, total: 4, seconds: 8 },
  models: [],
  current: 'base',
  overlay: { generation, url: `data/overlay/${generation}`, model: 'base' },
});
const training = (step: number, overlay = 1): JobsState => ({
  ...segmentDone(overlay),
  train: { name: 'm', phase: 'running', step, steps: 4, epochs: [], seconds: step },
});
const trained = (): JobsState => ({ ...training(4), train: { name: 'm', phase: 'done', step: 4, steps: 4, epochs: [], seconds: 5 } });

function harness() {
  const shown: string[] = [];
  const overlays: string[] = [];
  const errors: string[] = [];
  const overlayLoads: Deferred<void>[] = [];
  const fetches: Deferred<JobsState>[] = [];
  let ticking: (() => void) | undefined;
  const poller = new JobsPoller({
    fetchJobs: () => {
      const d = deferred<JobsState>();
      fetches.push(d);
      return d.promise;
    },
    render: (j) => shown.push(j.train ? `train ${j.train.phase} ${j.train.step}` : `segment ${j.segment?.phase ?? 'none'}`),
    showOverlay: (url) => {
      overlays.push(url);
      const d = deferred<void>();
      overlayLoads.push(d);
      return d.promise;
    },
    onError: (m) => errors.push(m),
    every: (ms, tick) => {
      expect(ms).toBe(POLL_MS);
      expect(ticking, 'one timer at a time').toBeUndefined();
      ticking = tick;
      return () => (ticking = undefined);
    },
  });
  return { poller, shown, overlays, errors, overlayLoads, fetches, tick: () => ticking?.() };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('the page polling /api/jobs', () => {
  it('an answer whose overlay loads slowly does not stop the polling of a Train pressed meanwhile', async () => {
    const h = harness();
    // Segment ends: the answer carries a new overlay, which takes a while to load.
    const segmentAnswer = h.poller.answer(async () => segmentDone(1));
    await settle();
    expect(h.overlays).toEqual(['data/overlay/1']);
    expect(h.poller.polling).toBe(false);
    // Train is pressed while the overlay still loads.
    await h.poller.answer(async () => training(0));
    expect(h.poller.polling).toBe(true);
    // The overlay finishes loading: the page must go on polling, as training runs.
    h.overlayLoads[0]!.resolve();
    await segmentAnswer;
    expect(h.poller.polling, 'still polling while training runs').toBe(true);
    h.tick();
    h.fetches[0]!.resolve(training(2));
    await settle();
    h.tick();
    h.fetches[1]!.resolve(trained());
    await settle();
    expect(h.shown).toEqual(['segment done', 'train running 0', 'train running 2', 'train done 4']);
    expect(h.poller.polling).toBe(false);
    expect(h.overlays, 'the same overlay is loaded once').toEqual(['data/overlay/1']);
  });

  it('a poll sent before Train but answered after it is not shown, and polling goes on', async () => {
    const h = harness();
    const early = h.poller.poll();
    await h.poller.answer(async () => ({ ...training(0), overlay: undefined }));
    h.fetches[0]!.resolve(segmentDone(1));
    await early;
    expect(h.shown).toEqual(['train running 0']);
    expect(h.poller.polling).toBe(true);
  });

  it('a new overlay generation is loaded; a failed poll is reported and the next tick polls again', async () => {
    const h = harness();
    const first = h.poller.answer(async () => training(1));
    await settle();
    h.overlayLoads[0]!.resolve();
    await first;
    h.tick();
    h.fetches[0]!.reject(new Error('api/jobs: HTTP 500'));
    await settle();
    expect(h.errors).toEqual(['api/jobs: HTTP 500']);
    expect(h.poller.polling).toBe(true);
    h.tick();
    h.fetches[1]!.resolve({ ...trained(), overlay: { generation: 2, url: 'data/overlay/2', model: 'm' } });
    await settle();
    expect(h.overlays).toEqual(['data/overlay/1', 'data/overlay/2']);
    expect(h.poller.polling).toBe(false);
  });
});
