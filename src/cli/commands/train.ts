import type { Command } from 'commander';
import { acquireGpu } from '../../gpu/acquire.js';
import { train } from '../../pipeline/train.js';
import { createProgress } from '../../pipeline/progress.js';
import { join } from 'node:path';
import { integer, integerList, MAX_SEED, number, oneOf, parseIntensityRange } from '../parse.js';

const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function register(program: Command): void {
  program
    .command('train')
    .description('train (or fine-tune) the dual-resolution network on annotated OME-Zarr scans (image + labels/roots)')
    .requiredOption(
      '--data <zarrs>',
      'training volumes, comma-separated (repeat --data for more)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), ...list(v)],
    )
    .option('--val <zarrs>', 'validation volumes, comma-separated', '')
    .requiredOption('--out <model>', 'output model: a folder (model.safetensors + card.json) or x.safetensors')
    .option('--arch <name>', 'architecture preset: dual (default) or mlmr (the paper)', 'dual')
    .option('--patch <n>', 'high-resolution patch side (voxels)', integer(1, 512))
    .option('--widths <list>', 'U-Net widths per level, e.g. 8,16,32 (dual)', integerList('--widths'))
    .option('--low-patch <n>', 'low-resolution patch side in coarse voxels (dual)', integer(1, 512))
    .option('--low-scale <n>', 'pyramid scale of the low-resolution branch: 2, 4 or 8 (dual)', oneOf([2, 4, 8]))
    .option('--from <model>', 'fine-tune from this model (keeps its architecture and normalisation)')
    .option(
      '--freeze-encoder',
      "with --from: freeze both branches' encoders (the downsampling paths); train only decoders, fusion and heads",
    )
    .option('--optimizer <name>', 'adam or rmsprop (the paper)', 'adam')
    .option('--lr <x>', 'learning rate', number({ min: 0, minExclusive: true }), 0.001)
    .option('--batch <n>', 'patches per step', integer(1, 1024), 2)
    .option('--steps <n>', 'steps per epoch', integer(1), 50)
    .option('--epochs <n>', 'epochs per round', integer(1), 4)
    .option('--rounds <n>', 'hard-negative mining rounds (1 = none)', integer(1, 100), 2)
    .option('--val-patches <n>', 'validation patches (fixed by the seed)', integer(0), 16)
    .option('--dice <w>', 'weight of a soft Dice term on the fused head', number({ min: 0 }), 0)
    .option(
      '--skeleton <w>',
      "weight of a centreline term: the fused head's BCE over root centrelines only, so fine laterals count by length",
      number({ min: 0 }),
      0,
    )
    .option('--lr-final <x>', 'learning rate at the last step, reached by cosine decay (default: constant --lr)', number({ min: 0 }))
    .option('--calibrate-bn <n>', 'batches for re-estimating batch-norm statistics after each epoch (0: off)', integer(0), 16)
    .option('--no-augment', 'no flips, rotations or intensity jitter')
    .option(
      '--intensity <gain,bias,gamma>',
      'wide intensity augmentation: gain in [1/GAIN, GAIN], bias in ±BIAS, gamma in [1/GAMMA, GAMMA] (default: gain and bias ±0.1)',
      parseIntensityRange,
    )
    .option(
      '--permute-axes',
      "also draw the order of the z, y, x axes per patch, so roots are seen running in every direction (the cube's 48 orientations, not only flips and y-x turns)",
    )
    .option('--seed <n>', 'seed for weights, sampling and augmentation', integer(0, MAX_SEED), 1)
    .option(
      '--annotations',
      "targets from each scan's labels/annotations (1 root, 2 not root, 0 ignored; painted in rhizoct view) instead of labels/roots: the loss counts painted voxels only, strokes are held out for validation, the best model is kept",
    )
    .option(
      '--holdout <f>',
      'with --annotations: share of annotated 16³ regions held out for validation',
      number({ min: 0, max: 0.99 }),
      0.2,
    )
    .option('--patience <n>', 'with --annotations: stop after N epochs without a better validation Dice (0: never)', integer(0), 3)
    .option(
      '--keep-base <w>',
      "with --annotations and --from: the base model's confident answers in unpainted voxels as targets, together weighing W times the painted voxels (0: strokes alone)",
      number({ min: 0 }),
      0,
    )
    .option(
      '--time-limit <s>',
      'stop cleanly after this many seconds (the step under way finishes; the model, with --annotations the best one, is saved)',
      number({ min: 0, minExclusive: true }),
    )
    .option('--resume', 'continue from the checkpoint beside --out')
    .option('--log <file>', 'JSON log of the run (default: beside the model)')
    .option('--device <text>', 'use the WebGPU adapter whose name contains this text (see rhizoct gpu)')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the final model card as JSON')
    .action(async (o: Record<string, string | number | number[] | boolean | undefined>) => {
      // Every number was checked by its option's parser (src/cli/parse.ts) before this runs.
      const num = (k: string): number => o[k] as number;
      const intensity = o.intensity as number[] | undefined;
      const config: Record<string, unknown> = {};
      if (o.patch !== undefined) config.patch = num('patch');
      if (o.widths !== undefined) config.widths = o.widths;
      if (o.lowPatch !== undefined) config.lowPatch = num('lowPatch');
      if (o.lowScale !== undefined) config.lowScale = num('lowScale');
      if (o.optimizer !== 'adam' && o.optimizer !== 'rmsprop') throw new Error(`--optimizer must be adam or rmsprop, got "${o.optimizer}"`);
      const out = String(o.out);
      const quiet = Boolean(o.quiet);
      const annotations = Boolean(o.annotations);
      if (!annotations) {
        for (const k of ['holdout', 'patience', 'keepBase'] as const)
          if (program.commands.find((c) => c.name() === 'train')?.getOptionValueSource(k) === 'cli')
            throw new Error(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies only with --annotations`);
      }
      if (o.permuteAxes && o.augment === false) throw new Error('--permute-axes is an augmentation: it cannot go with --no-augment');
      const gpu = await acquireGpu(typeof o.device === 'string' ? { adapterMatch: o.device } : {});
      const result = await train(
        {
          data: o.data as unknown as string[],
          val: list(String(o.val ?? '')),
          out,
          arch: String(o.arch),
          config,
          from: o.from ? String(o.from) : undefined,
          freezeEncoder: Boolean(o.freezeEncoder),
          optimizer: o.optimizer,
          lr: num('lr'),
          batch: num('batch'),
          stepsPerEpoch: num('steps'),
          epochs: num('epochs'),
          // Hard-negative mining needs complete labels: with strokes there is one round.
          rounds: annotations ? 1 : num('rounds'),
          valPatches: num('valPatches'),
          diceWeight: num('dice'),
          skeletonWeight: num('skeleton'),
          lrFinal: o.lrFinal === undefined ? undefined : num('lrFinal'),
          calibrationBatches: num('calibrateBn'),
          augment: o.augment !== false,
          ...(intensity ? { intensity: { gain: intensity[0]!, bias: intensity[1]!, gamma: intensity[2]! } } : {}),
          permuteAxes: Boolean(o.permuteAxes),
          seed: num('seed'),
          resume: Boolean(o.resume),
          ...(annotations ? { annotations, holdout: num('holdout'), patience: num('patience'), keepBase: num('keepBase') } : {}),
          ...(o.timeLimit !== undefined ? { signal: AbortSignal.timeout(num('timeLimit') * 1000) } : {}),
          log: o.log
            ? String(o.log)
            : out.endsWith('.safetensors')
              ? out.replace(/\.safetensors$/, '.train-log.json')
              : join(out, 'train-log.json'),
          command: ['rhizoct', ...process.argv.slice(2)].join(' '),
          progress: createProgress({ quiet }),
          onEpoch: (e) => {
            if (!quiet && process.stderr.isTTY) {
              process.stderr.write(
                `round ${e.round + 1} epoch ${e.epoch + 1}: loss ${e.loss.toFixed(4)}, val Dice ${e.val.dice.toFixed(3)} (P ${e.val.precision.toFixed(3)}, R ${e.val.recall.toFixed(3)}${e.validationVoxels !== undefined ? ` on ${e.validationVoxels} held-out voxels` : ''}), ${e.patchesPerSecond.toFixed(2)} patches/s${e.best ? ', saved' : ''}\n`,
              );
            }
          },
        },
        gpu,
      ).finally(() => gpu.destroy());
      if (o.json) console.log(JSON.stringify(result.card, null, 2));
      else if (!quiet) console.log(`wrote ${out} (validation Dice ${Number(result.card.validation?.dice ?? NaN).toFixed(3)})`);
    });
}
