import { fork, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Progress } from './progress.js';
import { segment, type SegmentOptions, type SegmentSummary } from './segment.js';
import { trainOnAnnotations, type AnnotationTrainOptions, type TrainUpdate } from './annotation-train.js';

/**
 * The viewer's Train and Segment jobs each run in a process of their own, forked from
 * `rhizoct view`: the GPU work, the shader compiles and the CPU-side batch making of a job then
 * never hold up the server, so the page keeps painting and polling while a job runs, and a job
 * that fails (or runs out of memory) takes nothing else down. Parent and child talk over the
 * fork's IPC channel: one request in, progress messages and one outcome out.
 */

export type JobRequest =
  | { kind: 'train'; options: Omit<AnnotationTrainOptions, 'onStep' | 'onEpoch'> }
  | { kind: 'segment'; options: Omit<SegmentOptions, 'progress'> };

type JobMessage =
  | { type: 'ready' }
  | { type: 'step'; step: number; total: number }
  | { type: 'epoch'; update: TrainUpdate }
  | { type: 'start'; total: number }
  | { type: 'advance'; n: number }
  | { type: 'done'; summary?: SegmentSummary }
  | { type: 'failed'; message: string };

export interface JobHandlers {
  onStep?: (step: number, total: number) => void;
  onEpoch?: (u: TrainUpdate) => void;
  progress?: Progress;
}

/** A running job: its outcome, and a way to stop it. */
export interface RunningJob {
  readonly finished: Promise<SegmentSummary | undefined>;
  readonly pid: number;
  kill(): void;
}

const HERE = fileURLToPath(import.meta.url);

/**
 * Starts `request` in a child process. `finished` resolves with the segmentation summary (for
 * segment) once the child reports success, and rejects with the child's error, or with how it
 * ended when it exits without saying.
 */
export function startJob(request: JobRequest, handlers: JobHandlers): RunningJob {
  // From the sources (tests, `tsx`), the child needs the same TypeScript loader.
  const execArgv = extname(HERE) === '.ts' ? ['--import', 'tsx'] : [];
  const child: ChildProcess = fork(HERE, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let outcome: { summary?: SegmentSummary } | { error: string } | undefined;
  const finished = new Promise<SegmentSummary | undefined>((ok, fail) => {
    child.on('message', (m: JobMessage) => {
      switch (m.type) {
        // The request goes once the child listens: a message sent before would be dropped.
        case 'ready':
          if (child.connected && !child.killed) child.send(request);
          break;
        case 'step':
          handlers.onStep?.(m.step, m.total);
          break;
        case 'epoch':
          handlers.onEpoch?.(m.update);
          break;
        case 'start':
          handlers.progress?.start(m.total, 'chunks');
          break;
        case 'advance':
          handlers.progress?.advance(m.n);
          break;
        case 'done':
          outcome = m.summary ? { summary: m.summary } : {};
          break;
        case 'failed':
          outcome = { error: m.message };
          break;
      }
    });
    child.on('error', (err) => fail(err));
    // 'close', not 'exit': it comes after the IPC channel is drained, so no message is lost.
    child.on('close', (code, signal) => {
      handlers.progress?.done();
      if (outcome && 'error' in outcome) fail(new Error(outcome.error));
      else if (outcome && code === 0) ok(outcome.summary);
      else fail(new Error(`the ${request.kind} process ended (${signal ?? `exit code ${code}`}) before it finished`));
    });
  });
  return { finished, pid: child.pid ?? -1, kill: () => child.kill('SIGTERM') };
}

/** Runs the request, sending its progress; a segmentation's summary is its result. */
async function runRequest(request: JobRequest, send: (m: JobMessage) => void): Promise<SegmentSummary | undefined> {
  if (request.kind === 'train') {
    await trainOnAnnotations({
      ...request.options,
      onStep: (step, total) => send({ type: 'step', step, total }),
      onEpoch: (update) => send({ type: 'epoch', update }),
    });
    return undefined;
  } else {
    // Chunks are counted in the child and sent at most ten times a second.
    let pending = 0;
    let last = 0;
    const flush = (): void => {
      if (pending) send({ type: 'advance', n: pending });
      pending = 0;
      last = Date.now();
    };
    const summary = await segment({
      ...request.options,
      progress: {
        start: (total) => send({ type: 'start', total }),
        advance: (n) => {
          pending += n;
          if (Date.now() - last >= 100) flush();
        },
        done: flush,
      },
    });
    flush();
    return summary;
  }
}

/**
 * The child's side: one request, then exit once the outcome is sent (explicitly: an open GPU
 * device may keep the event loop alive).
 */
function serveOneRequest(): void {
  const send = (m: JobMessage): Promise<void> =>
    new Promise((ok) => {
      process.send!(m, undefined, undefined, () => ok());
    });
  // The viewer gone (killed without a chance to stop this job): nobody is left to report to.
  process.once('disconnect', () => process.exit(1));
  process.once('message', (request: JobRequest) => {
    runRequest(request, (m) => void send(m)).then(
      (summary) => send({ type: 'done', ...(summary ? { summary } : {}) }).then(() => process.exit(0)),
      (err: unknown) => send({ type: 'failed', message: (err as Error).message }).then(() => process.exit(1)),
    );
  });
  void send({ type: 'ready' });
}

if (process.send && process.argv[1] === HERE) serveOneRequest();
