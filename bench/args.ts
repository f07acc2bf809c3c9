import { readFileSync } from 'node:fs';

/** The value after flag `name` on the command line, or `dflt`. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

/** The median of repeated timings (the upper middle value of an even count). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** This process's peak resident memory (VmHWM), MiB. */
export function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

/**
 * A `--models` list: models separated by commas, each with its own segment arguments after a colon.
 * A comma followed by a digit belongs to those arguments (`/tmp/m:--scales 0,1`).
 */
export function modelList(text: string): string[] {
  return text.split(/,(?!\d)/).filter((m) => m.length > 0);
}
