import { Command } from 'commander';
import { register as convert } from './commands/convert.js';
import { register as evalCmd } from './commands/eval.js';
import { register as gpu } from './commands/gpu.js';
import { register as info } from './commands/info.js';
import { register as segment } from './commands/segment.js';
import { register as synth } from './commands/synth.js';
import { register as traits } from './commands/traits.js';
import { register as train } from './commands/train.js';
import { register as view } from './commands/view.js';

const program = new Command();
program
  .name('rhizoct')
  .description('Segment plant roots in X-ray micro-CT of soil with a dual-resolution 3D network running as WebGPU compute shaders')
  .version('0.1.0');

for (const register of [info, convert, synth, train, segment, evalCmd, traits, view, gpu]) register(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const err = e as Error;
  console.error(`rhizoct: ${err.message}`);
  if (process.env.RHIZOCT_DEBUG) console.error(err.stack);
  process.exit(1);
});
