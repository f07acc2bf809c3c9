// `rhizoct view` as the tests run it, until src/cli/main.ts registers the command: the same
// register() on a commander program, in a process of its own.
import { Command } from 'commander';
import { register } from '../../src/cli/commands/view.js';

const program = new Command().name('rhizoct');
register(program);
program.parseAsync(process.argv).catch((e: unknown) => {
  console.error(`rhizoct: ${(e as Error).message}`);
  process.exit(1);
});
