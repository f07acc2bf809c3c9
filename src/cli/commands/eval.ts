import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { ascending, integer } from '../parse.js';
import { centrelineDice, evaluate, formatEvalTable } from '../../pipeline/eval.js';
import { createProgress } from '../../pipeline/progress.js';
import type { RawSpec } from '../../io/scanner-raw.js';
import { RAW_FLAGS, RAW_HELP, rawOption, useRawLayout } from '../raw.js';

export function register(program: Command): void {
  program
    .command('eval')
    .description('compare a segmentation with the truth: Dice, IoU, precision, recall, centreline Dice, per depth band (streamed)')
    .argument('<pred>', 'segmentation: OME-Zarr with labels/roots (as segment writes), or any mask volume')
    .argument('<truth>', 'truth: OME-Zarr with labels/roots (as synth writes), or any mask volume')
    .option('--bands <n>', 'number of equal depth bands along z', integer(1, 10_000), 5)
    .option('--no-cldice', 'skip centreline Dice (skeletons cost time on large scans)')
    .option(
      '--radii <list>',
      "recall by the truth's local root radius, in classes split at these radii (voxels)",
      ascending('--radii'),
      [1, 2, 4],
    )
    .option('--no-radii', 'skip recall by root radius')
    .option(
      '--image <scan>',
      'the scan the truth belongs to (for synth output, the truth store itself): recall by radius also for the roots that differ from the soil around them by at least one standard deviation of that soil',
    )
    .option('--quiet', 'no progress output')
    .option('--json', 'print JSON')
    .option('--save <file>', 'also write the JSON result to a file')
    .option(RAW_FLAGS, `${RAW_HELP} (applies to each input that is a headerless file)`, rawOption)
    .addHelpText(
      'after',
      "\nEmpty masks: where truth and prediction (of the volume or a depth band) are both empty, every score is 1;\nwhere only one is, every score is 0. Training's validation Dice uses the same rule.",
    )
    .action(
      async (
        pred: string,
        truth: string,
        o: {
          bands: number;
          cldice: boolean;
          radii: number[] | false;
          image?: string;
          quiet?: boolean;
          json?: boolean;
          save?: string;
          raw?: RawSpec;
        },
      ) => {
        await useRawLayout(o.raw, [pred, truth, ...(o.image ? [o.image] : [])]);
        const r = await evaluate(pred, truth, {
          bands: o.bands,
          progress: createProgress({ quiet: o.quiet }),
          ...(o.cldice ? { clDice: (p, t) => centrelineDice(p, t) } : {}),
          ...(o.radii === false ? {} : { radiusBounds: o.radii }),
          ...(o.image ? { image: o.image } : {}),
        });
        if (o.save) await writeFile(o.save, JSON.stringify(r, null, 2) + '\n');
        console.log(o.json ? JSON.stringify(r, null, 2) : formatEvalTable(r));
      },
    );
}
