import type { Command } from 'commander';
import { evaluate, formatEvalTable } from '../../pipeline/eval.js';
import { createProgress } from '../../pipeline/progress.js';

export function register(program: Command): void {
  program
    .command('eval')
    .description('compare a segmentation with the truth: Dice, IoU, precision, recall, per depth band (streamed)')
    .argument('<pred>', 'segmentation: OME-Zarr with labels/roots (as segment writes), or any mask volume')
    .argument('<truth>', 'truth: OME-Zarr with labels/roots (as synth writes), or any mask volume')
    .option('--bands <n>', 'number of equal depth bands along z', '5')
    .option('--quiet', 'no progress output')
    .option('--json', 'print JSON')
    .action(async (pred: string, truth: string, o: { bands: string; quiet?: boolean; json?: boolean }) => {
      const r = await evaluate(pred, truth, { bands: Number(o.bands), progress: createProgress({ quiet: o.quiet }) });
      console.log(o.json ? JSON.stringify(r, null, 2) : formatEvalTable(r));
    });
}
