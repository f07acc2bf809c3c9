import { type Command, InvalidArgumentError, Option } from 'commander';
import { COMPRESSIONS, type Compression } from '../../io/zarr-codecs.js';
import { createProgress, formatCount, formatDuration } from '../../pipeline/progress.js';
import { synthesize } from '../../pipeline/synth.js';
import { FAMILIES, type Family } from '../../synth/params.js';
import type { Vec3 } from '../../volume/box.js';
import { integer, MAX_SEED, number, parseNumber, vec3 } from '../parse.js';
import { convertLength, parseUnit } from '../../volume/voxel-size.js';

function collect(value: string, prev: string[]): string[] {
  return [...prev, value];
}

interface SynthFlags {
  seed: number;
  shape: Vec3;
  voxelSize: Vec3;
  unit: string;
  difficulty: Family;
  noise?: number;
  blur?: number;
  rings?: number;
  cupping?: number;
  container?: string;
  primaries?: string;
  orders?: number;
  set: string[];
  chunk: Vec3;
  compression: Compression;
  zarrVersion: '2' | '3';
  levels?: number;
  rsml?: string;
  preview?: string;
  overwrite?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** The convenience flags as parameter overrides (applied before --set, which wins). */
function flagOverrides(f: SynthFlags): string[] {
  const o: string[] = [];
  if (f.noise !== undefined) o.push(`scan.noise=${f.noise}`, `scan.correlatedNoise=${f.noise * 1.5}`);
  if (f.blur !== undefined) o.push(`scan.psfSigma=${f.blur}`);
  if (f.rings !== undefined) o.push(`scan.rings=${f.rings}`);
  if (f.cupping !== undefined) o.push(`scan.cupping=${f.cupping}`);
  if (f.container !== undefined) {
    const c = f.container.trim().toLowerCase();
    if (c === 'auto') o.push('container.diameter=0');
    else if (c === 'none') o.push('container.diameter=-1');
    else {
      const d = (() => {
        try {
          return parseNumber(c, { min: 0, minExclusive: true });
        } catch {
          return NaN;
        }
      })();
      if (!(d > 0)) throw new InvalidArgumentError(`--container must be auto, none or an inner diameter in mm (got "${f.container}")`);
      o.push(`container.diameter=${d}`);
    }
  }
  if (f.primaries !== undefined) {
    const p = f.primaries.split(',').map((t) => (/^\s*\d+\s*$/.test(t) ? Number(t) : NaN));
    if (!p.every((n) => Number.isInteger(n) && n >= 0) || p.length > 2 || (p.length === 2 && p[1]! < p[0]!))
      throw new InvalidArgumentError(`--primaries must be n or min,max (whole numbers, min ≤ max), got "${f.primaries}"`);
    o.push(`architecture.primaries=${p[0]},${p[1] ?? p[0]}`);
  }
  if (f.orders !== undefined) o.push(`architecture.orders=${f.orders}`);
  return [...o, ...f.set];
}

export function register(program: Command): void {
  program
    .command('synth')
    .description('generate a synthetic soil-root X-ray CT scan with exact ground truth (OME-Zarr image + labels/roots + RSML)')
    .argument('<output>', 'OME-Zarr folder to write, e.g. scan.zarr')
    .option('--seed <n>', 'random seed: the same seed and options give the same bytes', integer(0, MAX_SEED), 1)
    .addOption(
      new Option('--shape <n|z,y,x>', 'volume shape in voxels').argParser(vec3('--shape', true)).default([256, 256, 256] as Vec3, '256'),
    )
    .addOption(
      new Option('--voxel-size <s|z,y,x>', 'voxel size (in --unit)')
        .argParser(vec3('--voxel-size', false))
        .default([0.05, 0.05, 0.05] as Vec3, '0.05'),
    )
    .option('--unit <unit>', 'unit of --voxel-size (mm, um, …)', 'mm')
    .addOption(
      new Option(
        '--difficulty <preset>',
        'easy: compact fine soil, roots darkest; medium: sand like the bean scan; hard: wet sandy loam, organic debris, noise, rings, cupping; random: every seed draws its own soil, grey values, scale and scanner (for training models that generalise)',
      )
        .choices(FAMILIES)
        .default('medium'),
    )
    .option(
      '--noise <sd>',
      'white noise sd in grey-value units (roots ≈ 0.35, grains ≈ 0.6), plus 1.5× that before the blur (correlated); overrides the preset',
      number({ min: 0 }),
    )
    .option('--blur <sd>', 'point-spread function sd in voxels', number({ min: 0 }))
    .option('--rings <amp>', 'ring-artefact amplitude in grey-value units (0 = none)', number({ min: 0 }))
    .option('--cupping <f>', 'beam-hardening cupping: relative darkening of the centre (0 = none, at most 1)', number({ min: 0, max: 1 }))
    .option('--container <auto|none|mm>', 'container wall: auto (fits the field of view), none, or inner diameter in mm')
    .option('--primaries <n|min,max>', 'number of primary roots')
    .option('--orders <n>', 'root orders grown (1 = primaries only)', integer(1, 10))
    .addOption(
      new Option('--set <path=value>', 'set any generator parameter, e.g. soil.grainSize=0.5 (repeatable; see src/synth/params.ts)')
        .argParser(collect)
        .default([] as string[], 'none'),
    )
    .addOption(
      new Option('--chunk <n|z,y,x>', 'chunk shape of the output').argParser(vec3('--chunk', true)).default([64, 64, 64] as Vec3, '64'),
    )
    .addOption(new Option('--compression <codec>', 'chunk compression').choices(COMPRESSIONS).default('blosc'))
    .addOption(new Option('--zarr-version <v>', '2 writes OME-NGFF 0.4, 3 writes OME-NGFF 0.5').choices(['2', '3']).default('2'))
    .option('--levels <n>', 'most pyramid levels, level 0 included', integer(1, 30))
    .option('--rsml <file>', 'also write the ground-truth RSML here (it is always in <output>/roots.rsml)')
    .option('--preview <png>', 'write the three central orthogonal slices, with the mask, as a PNG')
    .option('--overwrite', 'replace an existing output')
    .option('-q, --quiet', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .action(async (output: string, f: SynthFlags) => {
      const unit = parseUnit(f.unit);
      if (unit === undefined || unit === '') throw new InvalidArgumentError('--unit must be a length unit such as mm or um');
      const voxelSize = f.voxelSize.map((v) => convertLength(v, unit, 'millimeter')) as unknown as Vec3;
      const progress = createProgress({ quiet: (f.quiet ?? false) || (f.json ?? false) });
      const r = await synthesize(output, {
        seed: f.seed,
        shape: f.shape,
        voxelSize,
        difficulty: f.difficulty,
        overrides: flagOverrides(f),
        chunkShape: f.chunk,
        compression: f.compression,
        zarrFormat: f.zarrVersion === '3' ? 3 : 2,
        ...(f.levels !== undefined ? { maxLevels: f.levels } : {}),
        ...(f.rsml !== undefined ? { rsmlPath: f.rsml } : {}),
        ...(f.preview !== undefined ? { previewPath: f.preview } : {}),
        overwrite: f.overwrite ?? false,
        progress,
      });
      if (f.json) {
        console.log(JSON.stringify({ ...r, params: undefined }, null, 2));
        return;
      }
      const s = r.stats;
      console.log(
        `wrote       ${r.output} (${r.shape.join('×')} uint16, ${r.levels.length} level${r.levels.length > 1 ? 's' : ''}) + labels/roots + ${r.rsml}`,
      );
      console.log(
        `voxel size  ${r.voxelSize.map((v) => v.toPrecision(4)).join(' × ')} mm, field of view ${r.shape.map((n, i) => (n * r.voxelSize[i]!).toFixed(2)).join(' × ')} mm`,
      );
      console.log(
        `roots       ${s.roots} roots, ${s.lengthMm.toFixed(1)} mm in all, ${s.lengthInViewMm.toFixed(1)} mm in view${s.truncated ? ' (growth capped)' : ''}; ${s.objects} stones/organic fragments/biopores`,
      );
      console.log(
        `root volume ${s.coverageVolumeMm3.toFixed(3)} mm³ rendered, ${s.rsmlVolumeMm3.toFixed(3)} mm³ from RSML, mask ${formatCount(s.maskVoxels)} voxels (${s.maskVolumeMm3.toFixed(3)} mm³)`,
      );
      console.log(`time        ${formatDuration(r.seconds)} (${formatCount(r.voxelsPerSecond)} voxels/s)`);
    });
}
