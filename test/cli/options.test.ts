import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command, type Option } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register as convert } from '../../src/cli/commands/convert.js';
import { register as evalCmd } from '../../src/cli/commands/eval.js';
import { register as gpu } from '../../src/cli/commands/gpu.js';
import { register as info } from '../../src/cli/commands/info.js';
import { register as segment } from '../../src/cli/commands/segment.js';
import { register as synth } from '../../src/cli/commands/synth.js';
import { register as traits } from '../../src/cli/commands/traits.js';
import { register as train } from '../../src/cli/commands/train.js';
import { register as view } from '../../src/cli/commands/view.js';
import { integer, number, oneOf, parseIntensityRange, parseNumber, parseShard, vec3 } from '../../src/cli/parse.js';
import { tempDir } from '../io/helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('rhizoct-options-'));
});
afterAll(() => cleanup());

/** The whole CLI, as main.ts builds it, throwing instead of exiting. */
function program(): Command {
  const p = new Command().exitOverride();
  for (const r of [info, convert, synth, train, segment, evalCmd, traits, view, gpu]) r(p);
  p.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined }));
  return p;
}

/** Positional arguments each command needs before its options. */
const POSITIONAL: Record<string, string[]> = {
  info: ['in.zarr'],
  convert: ['in', 'out.zarr'],
  synth: ['out.zarr'],
  train: ['--data', 'a.zarr', '--out', 'm'],
  segment: ['in.zarr', 'out.zarr'],
  eval: ['a.zarr', 'b.zarr'],
  traits: ['a.zarr', '--out', 'o'],
  view: ['a.zarr'],
  gpu: [],
};

/** Every numeric option of every command, and values it must refuse. */
const NUMERIC: [string, string, string[]][] = [
  ['info', '--level', ['abc', '', '-1', '1.5', '31']],
  ['info', '--bins', ['abc', '0', '2.5', '1e9']],
  ['convert', '--compression-level', ['abc', '-1', '23', '3.5']],
  ['convert', '--levels', ['abc', '0', '31']],
  ['convert', '--chunk', ['abc', '0', '4,4', '8,8,-8', '0x10']],
  ['convert', '--voxel-size', ['abc', '0', '-1', '1,2']],
  ['convert', '--shard', ['abc', '4/4', '/4', '-1/4', '1/0', '1.5/4']],
  ['synth', '--seed', ['abc', '-1', '1.5', '4294967296']],
  ['synth', '--shape', ['abc', '0', '8,8']],
  ['synth', '--voxel-size', ['abc', '-0.05']],
  ['synth', '--noise', ['abc', '-0.1', 'Infinity']],
  ['synth', '--blur', ['abc', '-1']],
  ['synth', '--rings', ['abc', '-1']],
  ['synth', '--cupping', ['abc', '-0.1', '1.5']],
  ['synth', '--orders', ['abc', '0', '11', '2.5']],
  ['synth', '--levels', ['abc', '0']],
  ['synth', '--chunk', ['abc', '0']],
  ['train', '--patch', ['abc', '0', '16.5']],
  ['train', '--widths', ['abc', '8,0', '8,x', '']],
  ['train', '--low-patch', ['abc', '0']],
  ['train', '--low-scale', ['abc', '3', '16']],
  ['train', '--lr', ['abc', '0', '-0.1']],
  ['train', '--batch', ['abc', '0']],
  ['train', '--steps', ['abc', '0', '2.5']],
  ['train', '--epochs', ['abc', '0']],
  ['train', '--rounds', ['abc', '0']],
  ['train', '--val-patches', ['abc', '-1']],
  ['train', '--dice', ['abc', '-1']],
  ['train', '--skeleton', ['abc', '-1']],
  ['train', '--lr-final', ['abc', '-1']],
  ['train', '--calibrate-bn', ['abc', '-1', '1.5']],
  ['train', '--seed', ['abc', '-1', '4294967296']],
  ['train', '--holdout', ['abc', '-0.1', '1', '']],
  ['train', '--patience', ['abc', '-1', '1.5']],
  ['train', '--intensity', ['abc', '1.7,0.25', '0.5,0.25,1.5', '1.7,-0.1,1.5', '1.7,0.25,0.9', '1.7,0.25,1.5,2']],
  ['train', '--keep-base', ['abc', '-1']],
  ['train', '--time-limit', ['abc', '-1']],
  ['segment', '--threshold', ['abc', '0', '1', '-0.5', '1.5', '']],
  ['segment', '--chunk', ['abc', '0', '1025', '16.5', '']],
  ['segment', '--shard', ['abc', '3/3', '/3', '1/0', 'a/b']],
  ['segment', '--scales', ['abc', '7', '-1', '0,0']],
  ['segment', '--level', ['abc', '-1', '0.5']],
  ['segment', '--batch', ['abc', '0', '1025']],
  ['segment', '--stop-after', ['abc', '-1']],
  ['segment', '--tile', ['abc', '0', '-32', '16.5']],
  [
    'segment',
    '--region',
    ['abc', '', '0:4,0:4', '0:4,0:4,4:4', '0:4,0:4,5:4', '0:4,0:4,-1:3', '0:4,0:4,0:1.5', '0:4,0:4,0:4,0:4', '0-4,0:4,0:4'],
  ],
  ['eval', '--bands', ['abc', '0', '2.5']],
  ['eval', '--radii', ['abc', '2,1', '0,1']],
  ['traits', '--level', ['abc', '-1']],
  ['traits', '--threshold', ['abc', 'NaN']],
  ['traits', '--min-voxels', ['abc', '0']],
  ['traits', '--block', ['abc', '8']],
  ['traits', '--halo', ['abc', '0']],
  ['traits', '--smooth', ['abc', '-1']],
  ['traits', '--decimate', ['abc', '-1']],
  ['traits', '--depth-band', ['abc', '0', '-1']],
  ['traits', '--diameter-bins', ['abc', '1']],
  ['view', '--port', ['abc', '-1', '65536', '80.5']],
  ['view', '--max-voxels', ['abc', '0']],
];

/** Options that take a value that is not a number: paths, names, free text. */
const NOT_NUMERIC = new Set([
  'info --raw',
  'convert --raw',
  'segment --raw',
  'eval --raw',
  'traits --raw',
  'convert --label',
  'convert --unit',
  'synth --unit',
  'synth --container',
  'synth --primaries',
  'synth --set',
  'synth --rsml',
  'synth --preview',
  'train --data',
  'train --val',
  'train --out',
  'train --arch',
  'train --from',
  'train --optimizer',
  'train --log',
  'train --device',
  'segment --model',
  'segment --nifti',
  'segment --device',
  'eval --save',
  'eval --image',
  'traits --out',
  'traits --label',
  'traits --mesh',
  'view --seg',
  'view --traits',
  'view --host',
  'view --model',
  'view --models',
  'gpu --adapter',
]);

describe('every numeric option of every command', () => {
  it('is covered here: each option taking a value has a parser or a fixed list of choices, or is listed as not numeric', () => {
    const listed = new Set(NUMERIC.map(([c, o]) => `${c} ${o}`));
    const unparsed: string[] = [];
    for (const c of program().commands) {
      for (const o of (c as unknown as { options: Option[] }).options) {
        if (!o.required && !o.optional) continue; // a flag
        const name = `${c.name()} ${o.long}`;
        const parsed = (o as unknown as { parseArg?: unknown }).parseArg !== undefined || o.argChoices !== undefined;
        if (!parsed && !NOT_NUMERIC.has(name)) unparsed.push(name);
        if (listed.has(name)) expect(parsed, `${name} has a parser`).toBe(true);
      }
    }
    expect(unparsed, 'value options with neither a parser nor choices (a number read with Number() would accept "" and "abc")').toEqual([]);
  });

  for (const [cmd, opt, bad] of NUMERIC) {
    it(`${cmd} ${opt} refuses ${bad.map((b) => JSON.stringify(b)).join(', ')}, naming the option, and writes nothing`, async () => {
      const before = readdirSync(dir).length;
      for (const value of bad) {
        const args = [
          'node',
          'rhizoct',
          cmd,
          ...POSITIONAL[cmd]!.map((a) => (a.includes('.') || a === 'm' || a === 'o' || a === 'in' ? join(dir, a) : a)),
          opt,
          value,
        ];
        const err = await program()
          .parseAsync(args)
          .then(
            () => null,
            (e: Error) => e,
          );
        expect(err, `${cmd} ${opt} ${JSON.stringify(value)} must be refused`).not.toBeNull();
        expect(err!.message, `${cmd} ${opt} ${JSON.stringify(value)}`).toContain(opt);
        expect(err!.message, `${cmd} ${opt} ${JSON.stringify(value)}: says what is wrong`).toMatch(
          /must be|invalid|expected|Allowed choices/i,
        );
      }
      expect(readdirSync(dir).length, 'nothing written').toBe(before);
    });
  }

  it('segment --chunk abc leaves no OUT.partial, so the next, correct command is not refused for it', async () => {
    const out = join(dir, 'seg.zarr');
    await expect(program().parseAsync(['node', 'rhizoct', 'segment', join(dir, 'scan.zarr'), out, '--chunk', 'abc'])).rejects.toThrow(
      /option '--chunk <n>' argument 'abc' is invalid\. must be a whole number from 1 to 1024, got "abc"/,
    );
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(existsSync(out)).toBe(false);
  });

  it('--overwrite with --shard is refused before anything is read or written', async () => {
    for (const cmd of ['segment', 'convert']) {
      const out = join(dir, `${cmd}-ow.zarr`);
      await expect(
        program().parseAsync(['node', 'rhizoct', cmd, join(dir, 'missing.zarr'), out, '--shard', '0/2', '--overwrite']),
      ).rejects.toThrow(/--overwrite cannot be used with --shard/);
      expect(existsSync(`${out}.partial`) || existsSync(out)).toBe(false);
    }
  });

  it('train --permute-axes with --no-augment is refused before anything is read or written', async () => {
    const out = join(dir, 'pa-model');
    await expect(
      program().parseAsync([
        'node',
        'rhizoct',
        'train',
        '--data',
        join(dir, 'missing.zarr'),
        '--out',
        out,
        '--permute-axes',
        '--no-augment',
      ]),
    ).rejects.toThrow(/--permute-axes is an augmentation: it cannot go with --no-augment/);
    expect(existsSync(out)).toBe(false);
  });

  it('convert checks --compression-level against the codec', async () => {
    const out = join(dir, 'c.zarr');
    await expect(
      program().parseAsync([
        'node',
        'rhizoct',
        'convert',
        join(dir, 'missing.nii'),
        out,
        '--compression',
        'blosc',
        '--compression-level',
        '12',
      ]),
    ).rejects.toThrow(/from 0 to 9 for blosc, got 12/);
    await expect(
      program().parseAsync([
        'node',
        'rhizoct',
        'convert',
        join(dir, 'missing.nii'),
        out,
        '--compression',
        'zstd',
        '--compression-level',
        '0',
      ]),
    ).rejects.toThrow(/from 1 to 22 for zstd/);
    await expect(
      program().parseAsync([
        'node',
        'rhizoct',
        'convert',
        join(dir, 'missing.nii'),
        out,
        '--compression',
        'none',
        '--compression-level',
        '3',
      ]),
    ).rejects.toThrow(/none has no level/);
  });
});

describe('the shared parsers', () => {
  it('accept what they should', () => {
    expect(integer(1, 1024)(' 64 ')).toBe(64);
    expect(integer(0)('0')).toBe(0);
    expect(integer(0)('-0')).toBe(0);
    expect(number({ min: 0, max: 1, minExclusive: true, maxExclusive: true })('0.25')).toBe(0.25);
    expect(number()('-1.5e-3')).toBe(-0.0015);
    expect(number({ min: 0 })('.5')).toBe(0.5);
    expect(oneOf([2, 4, 8])('4')).toBe(4);
    expect(parseShard('3/16')).toEqual({ index: 3, count: 16 });
    expect(parseShard(' 0 / 1 ')).toEqual({ index: 0, count: 1 });
    expect(vec3('--chunk', true)('16,32,32')).toEqual([16, 32, 32]);
    expect(vec3('--voxel-size', false)('0.05')).toEqual([0.05, 0.05, 0.05]);
    expect(parseIntensityRange('1.7, 0.25,1.5')).toEqual([1.7, 0.25, 1.5]);
  });

  it('refuse with a message saying what is allowed', () => {
    expect(() => parseNumber('abc', { min: 1, max: 4 }, true)).toThrow('must be a whole number from 1 to 4, got "abc"');
    expect(() => parseNumber('0', { min: 0, minExclusive: true })).toThrow('must be a number above 0, got "0"');
    expect(() => parseNumber('1', { min: 0, max: 1, minExclusive: true, maxExclusive: true })).toThrow(
      'must be a number above 0 and below 1, got "1"',
    );
    expect(() => parseNumber('-1', { min: 0 })).toThrow('must be a number ≥ 0, got "-1"');
    expect(() => parseNumber('1e400')).toThrow(/must be a number/);
    expect(() => parseNumber('9007199254740993', {}, true)).toThrow(/whole number/);
    expect(() => parseShard('/16')).toThrow(/is \$SLURM_ARRAY_TASK_ID set\?/);
    expect(() => parseShard('16/16')).toThrow('must be i/N with 0 ≤ i < N and N ≥ 1, got "16/16"');
    expect(() => parseIntensityRange('1.7,0.25')).toThrow('must be GAIN,BIAS,GAMMA, e.g. 1.7,0.25,1.5, got "1.7,0.25"');
    expect(() => parseIntensityRange('0.5,0.25,1.5')).toThrow('must be a number ≥ 1, got "0.5"');
  });
});
