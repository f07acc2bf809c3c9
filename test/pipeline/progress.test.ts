import { describe, expect, it } from 'vitest';
import {
  createProgress,
  formatCount,
  formatDuration,
  formatProgressLine,
  SilentProgress,
  TtyProgress,
} from '../../src/pipeline/progress.js';

describe('progress', () => {
  it('formats counts, durations and one line with done/total, rate and ETA', () => {
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1_234_567)).toBe('1.23M');
    expect(formatCount(134_217_728)).toBe('134M');
    expect(formatDuration(9)).toBe('0:09');
    expect(formatDuration(3909)).toBe('1:05:09');
    expect(formatDuration(Number.NaN)).toBe('--:--');
    const line = formatProgressLine({ label: 'convert', unit: 'voxels', total: 100e6, done: 25e6, elapsedMs: 5000 }, 100);
    expect(line).toMatch(/^convert {2}25\.0M\/100M voxels {2}25%/);
    expect(line).toContain('5.00M voxels/s');
    expect(line).toContain('ETA 0:15');
    expect(formatProgressLine({ label: '', unit: 'chunks', total: 10, done: 10, elapsedMs: 2000 })).toContain('took 0:02');
  });

  it('the TTY bar redraws one line at most ten times a second and ends with a newline', () => {
    let t = 0;
    const out: string[] = [];
    const p = new TtyProgress({ write: (s: string) => out.push(s), columns: 80 }, () => t);
    p.start(1000, 'voxels', 'job');
    for (let i = 0; i < 100; i++) {
      t += 10;
      p.advance(10);
    }
    p.done();
    // 1 s of work at 10 ms steps: the first draw, about ten throttled ones, the final one.
    expect(out.length).toBeGreaterThanOrEqual(10);
    expect(out.length).toBeLessThanOrEqual(14);
    expect(out.every((s) => s === '\n' || s.startsWith('\r\x1b[2K'))).toBe(true);
    expect(out.at(-1)).toBe('\n');
    expect(out.at(-2)).toContain('1000/1000 voxels  100%');
  });

  it('is silent with --quiet or when stdout is not a terminal', () => {
    expect(createProgress({ quiet: true, isTty: true })).toBeInstanceOf(SilentProgress);
    expect(createProgress({ isTty: false })).toBeInstanceOf(SilentProgress);
    expect(createProgress({ isTty: true })).toBeInstanceOf(TtyProgress);
  });
});
