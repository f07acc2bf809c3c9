/**
 * How long jobs report how far they are. A job calls start() once with the total amount of
 * work, advance() as it goes, and done() at the end (also when it fails).
 */
export interface Progress {
  start(total: number, unit: string, label?: string): void;
  advance(n: number): void;
  done(): void;
}

/** Reports nothing: for --quiet, scripts, and output that is not a terminal. */
export class SilentProgress implements Progress {
  start(): void {}
  advance(): void {}
  done(): void {}
}

export interface ProgressState {
  label: string;
  unit: string;
  total: number;
  done: number;
  /** Milliseconds since start. */
  elapsedMs: number;
}

/** 1234567 → "1.23M"; small numbers stay whole. */
export function formatCount(n: number): string {
  const a = Math.abs(n);
  if (a < 1e4) return String(Math.round(n));
  for (const [d, s] of [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const) {
    if (a >= d) return `${(n / d).toFixed(n / d >= 100 ? 0 : n / d >= 10 ? 1 : 2)}${s}`;
  }
  return String(n);
}

/** Seconds → "1:05:09", "4:07" or "0:09". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** One line: "convert  12.6M/134M voxels  9%  [###.....]  48.1M voxels/s  ETA 0:02". */
export function formatProgressLine(s: ProgressState, width = 80): string {
  const frac = s.total > 0 ? Math.min(1, s.done / s.total) : 0;
  const secs = s.elapsedMs / 1000;
  const rate = secs > 0 ? s.done / secs : 0;
  const eta = rate > 0 ? (s.total - s.done) / rate : Number.NaN;
  const head = `${s.label ? `${s.label}  ` : ''}${formatCount(s.done)}/${formatCount(s.total)} ${s.unit}  ${Math.floor(frac * 100)}%`;
  const tail = `${formatCount(rate)} ${s.unit}/s  ${s.done >= s.total ? `took ${formatDuration(secs)}` : `ETA ${formatDuration(eta)}`}`;
  const barWidth = Math.max(0, Math.min(30, width - head.length - tail.length - 8));
  const filled = Math.round(frac * barWidth);
  const bar = barWidth >= 5 ? `  [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]` : '';
  return `${head}${bar}  ${tail}`;
}

interface Writable {
  write(s: string): unknown;
  columns?: number;
}

/** Redraws one line on a terminal (stderr by default), at most ten times a second. */
export class TtyProgress implements Progress {
  private state: ProgressState = { label: '', unit: '', total: 0, done: 0, elapsedMs: 0 };
  private t0 = 0;
  private lastDraw = 0;
  private active = false;
  private drawnDone = -1;

  constructor(
    private readonly out: Writable = process.stderr,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(total: number, unit: string, label = ''): void {
    this.t0 = this.now();
    this.lastDraw = 0;
    this.drawnDone = -1;
    this.active = true;
    this.state = { label, unit, total, done: 0, elapsedMs: 0 };
    this.draw(true);
  }

  advance(n: number): void {
    if (!this.active) return;
    this.state.done += n;
    this.draw(false);
  }

  done(): void {
    if (!this.active) return;
    this.draw(true);
    this.out.write('\n');
    this.active = false;
  }

  private draw(force: boolean): void {
    const t = this.now();
    if (!force && t - this.lastDraw < 100) return;
    if (force && this.drawnDone === this.state.done && this.lastDraw > 0 && this.state.done > 0) return;
    this.lastDraw = t;
    this.drawnDone = this.state.done;
    this.state.elapsedMs = t - this.t0;
    this.out.write(`\r\x1b[2K${formatProgressLine(this.state, this.out.columns ?? 80)}`);
  }
}

/** The TTY bar when stdout is a terminal and not --quiet; silence otherwise. */
export function createProgress(opts: { quiet?: boolean; isTty?: boolean } = {}): Progress {
  const tty = opts.isTty ?? Boolean(process.stdout.isTTY);
  return !opts.quiet && tty ? new TtyProgress(process.stderr) : new SilentProgress();
}
