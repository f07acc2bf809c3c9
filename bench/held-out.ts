/** What the model benchmarks share: the CLI as a child process, and held-out scoring. */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/gpu/shader-source-node.js';

export const root = packageRoot();

/** `rhizoct ARGS` in a child process; its stdout. */
export const cli = (args: string[]): string =>
  execFileSync(process.execPath, [join(root, 'bin/rhizoct.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });

export interface Scores {
  dice: number;
  precision: number;
  recall: number;
  /** Recall by the truth's local root radius (rhizoct eval's classes), pooled over the scans. */
  radius?: { from: number; to: number | null; recall: number; truthVoxels: number; visible: { recall: number; truthVoxels: number } }[];
}

const radiusName = (r: { from: number; to: number | null }): string => (r.to === null ? `≥${r.from}` : `<${r.to}`);

export const fmtScores = (s: Scores): string =>
  `Dice ${s.dice.toFixed(3)} (P ${s.precision.toFixed(3)}, R ${s.recall.toFixed(3)}${
    s.radius
      ? `; recall by radius ${s.radius.map((r) => `${radiusName(r)} ${r.recall.toFixed(2)}`).join(', ')}` +
        `; of the roots that stand out ${s.radius.map((r) => `${radiusName(r)} ${r.visible.recall.toFixed(2)} (${(r.visible.truthVoxels / Math.max(1, r.truthVoxels)).toFixed(2)} of them)`).join(', ')}`
      : ''
  })`;

/** A held-out scan: a synthetic OME-Zarr holding its own labels/roots, or an image with its truth mask elsewhere. */
export type HeldOut = string | { scan: string; truth: string };

/**
 * Segments each scan with `model` and scores the voxels of all of them together with `rhizoct eval`
 * (radius classes split at `radii`, voxels, each also for the truth voxels that stand out from the soil
 * around them: eval --image); `segmentArgs` are passed to `segment` (e.g. --scales 0).
 */
export function scoreHeldOut(model: string, scans: HeldOut[], work: string, radii?: string, segmentArgs: string[] = []): Scores {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const radius: { from: number; to: number | null; tp: number; fn: number; vtp: number; vfn: number }[] = [];
  for (const [i, held] of scans.entries()) {
    const { scan, truth } = typeof held === 'string' ? { scan: held, truth: held } : held;
    const seg = join(work, `seg-${i}.zarr`);
    cli(['segment', scan, seg, '--model', model, '--quiet', '--overwrite', ...segmentArgs]);
    const ev = JSON.parse(
      cli(['eval', seg, truth, '--json', '--quiet', '--no-cldice', '--image', scan, ...(radii ? ['--radii', radii] : [])]),
    ) as {
      counts: { tp: number; fp: number; fn: number };
      radius: { from: number; to: number | null; tp: number; fn: number; visible: { tp: number; fn: number } }[];
    };
    tp += ev.counts.tp;
    fp += ev.counts.fp;
    fn += ev.counts.fn;
    ev.radius.forEach((c, k) => {
      const r = (radius[k] ??= { from: c.from, to: c.to, tp: 0, fn: 0, vtp: 0, vfn: 0 });
      r.tp += c.tp;
      r.fn += c.fn;
      r.vtp += c.visible.tp;
      r.vfn += c.visible.fn;
    });
    rmSync(seg, { recursive: true, force: true });
  }
  return {
    dice: (2 * tp) / (2 * tp + fp + fn),
    precision: tp / (tp + fp),
    recall: tp / (tp + fn),
    radius: radius.map((r) => ({
      from: r.from,
      to: r.to,
      recall: r.tp / Math.max(1, r.tp + r.fn),
      truthVoxels: r.tp + r.fn,
      visible: { recall: r.vtp / Math.max(1, r.vtp + r.vfn), truthVoxels: r.vtp + r.vfn },
    })),
  };
}
