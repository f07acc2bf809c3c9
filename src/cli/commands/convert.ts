import { type Command, InvalidArgumentError, Option } from 'commander';
import { COMPRESSIONS, type Compression } from '../../io/zarr-codecs.js';
import { type ConvertResult, convertToOmeZarr } from '../../pipeline/convert.js';
import { DOWNSAMPLE_METHODS, type DownsampleMethod } from '../../pipeline/downsample.js';
import { formatCount, formatDuration, createProgress } from '../../pipeline/progress.js';
import type { Vec3 } from '../../volume/box.js';
import { integer, parseShard, type Shard, vec3 } from '../parse.js';
import type { RawSpec } from '../../io/scanner-raw.js';
import { RAW_FLAGS, RAW_HELP, rawOption, useRawLayout } from '../raw.js';
import { type LengthUnit, parseUnit } from '../../volume/voxel-size.js';

function unit(text: string): LengthUnit {
  const u = parseUnit(text);
  if (u === undefined) throw new InvalidArgumentError('must be a length unit such as um, µm, micrometer, mm');
  return u;
}

interface ConvertFlags {
  chunk: Vec3;
  compression: Compression;
  compressionLevel?: number;
  levels?: number;
  zarrVersion: '2' | '3';
  method?: DownsampleMethod;
  label?: string;
  voxelSize?: Vec3;
  unit?: LengthUnit;
  overwrite?: boolean;
  quiet?: boolean;
  raw?: RawSpec;
  shard?: Shard;
}

/** The line a `convert --shard` run ends with: what it did, or why there was nothing to do. */
export function describeConvertShard(r: ConvertResult): string {
  const s = r.shard!;
  const who = `shard ${s.index}/${s.count}`;
  const state = s.complete
    ? `${r.output} is complete${s.finalised ? ' (this shard built the coarser levels and finished it)' : ''}`
    : `${r.output} is not complete yet (other shards pending)`;
  if (s.alreadyComplete) return `${who}: nothing to do: ${r.output} is already complete, made by this same job`;
  if (s.mine === 0) return `${who}: nothing to do: this shard has no slabs (the volume has ${s.units}); ${state}`;
  if (s.written === 0) return `${who}: nothing to do: all ${s.mine} of its slabs were already done; ${state}`;
  return `${who}: wrote ${s.written} slab(s) of ${s.mine} (${s.skipped} already done), ${r.chunksWritten} chunks, ${formatCount(r.voxels)} voxels in ${formatDuration(r.seconds)}; ${state}`;
}

/** Each codec's levels: blosc 0-9, zstd 1-22, gzip 0-9; none has no level. */
export function checkCompressionLevel(codec: Compression, level: number): void {
  const range: Partial<Record<Compression, [number, number]>> = { blosc: [0, 9], zstd: [1, 22], gzip: [0, 9] };
  const r = range[codec];
  if (!r) throw new InvalidArgumentError(`--compression-level: --compression ${codec} has no level`);
  if (level < r[0] || level > r[1])
    throw new InvalidArgumentError(`--compression-level must be from ${r[0]} to ${r[1]} for ${codec}, got ${level}`);
}

export function register(program: Command): void {
  program
    .command('convert')
    .description(
      'stream any readable scan (NIfTI, NRRD, MetaImage, Nikon .vol, raw, TIFF/PNG/BMP slices, multi-page TIFF, Zarr) into an OME-Zarr image pyramid, or, for an output named .nii/.nii.gz, .nrrd/.nhdr or .mha/.mhd, into that file',
    )
    .argument(
      '<input>',
      'volume to read: .nii/.nii.gz, .nrrd/.nhdr, .mha/.mhd, .xtekVolume/.vgi/.vol, folder of .tif/.png/.bmp slices, .tif, .zarr or an http(s) URL of one; a headerless file with --raw',
    )
    .argument(
      '<output>',
      'OME-Zarr folder to write (with --label: an existing OME-Zarr image); .nii/.nii.gz writes NIfTI-1, .nrrd/.nhdr NRRD, .mha/.mhd MetaImage (level 0 only; gzip-compressed unless --compression none)',
    )
    .option('--chunk <n|z,y,x>', 'chunk shape', vec3('--chunk', true), [64, 64, 64] as Vec3)
    .addOption(new Option('--compression <codec>', 'chunk compression').choices(COMPRESSIONS).default('blosc'))
    .option('--compression-level <n>', 'codec level (blosc 0-9, zstd 1-22, gzip 0-9)', integer(0, 22))
    .option('--levels <n>', 'most pyramid levels, level 0 included (default: halve until the smallest side is ≤ 64)', integer(1, 30))
    .addOption(new Option('--zarr-version <v>', '2 writes OME-NGFF 0.4, 3 writes OME-NGFF 0.5').choices(['2', '3']).default('2'))
    .addOption(new Option('--method <m>', 'how levels are reduced (default mean; mode with --label)').choices(DOWNSAMPLE_METHODS))
    .option('--label <name>', 'write the volume as labels/<name> of the OME-Zarr image <output> (a mask or segmentation)')
    .option('--voxel-size <s|z,y,x>', 'voxel size to record, overriding the input’s', vec3('--voxel-size', false))
    .option('--unit <unit>', 'unit of the voxel size (um, mm, …)', unit)
    .option('--overwrite', 'replace an existing output')
    .option(RAW_FLAGS, RAW_HELP, rawOption)
    .option(
      '--shard <i/N>',
      'convert only slabs i, i+N, i+2N… into the shared OUT.partial (SLURM array: --shard $SLURM_ARRAY_TASK_ID/N); the last shard to finish builds the coarser levels; a shard with nothing left to do, or against an output this job finished, exits 0',
      parseShard,
    )
    .option('-q, --quiet', 'no progress bar')
    .action(async (input: string, output: string, f: ConvertFlags) => {
      if (f.compressionLevel !== undefined) checkCompressionLevel(f.compression, f.compressionLevel);
      if (f.shard && f.overwrite)
        throw new Error(
          '--overwrite cannot be used with --shard (a shard started late would delete the work of the others); remove OUT and OUT.partial before submitting the shards',
        );
      if (f.shard && f.label !== undefined) throw new Error('--shard writes a new image; add a --label in a run of its own');
      await useRawLayout(f.raw, [input]);
      const progress = createProgress({ quiet: f.quiet ?? false });
      const r = await convertToOmeZarr(input, output, {
        chunkShape: f.chunk,
        compression: f.compression,
        ...(f.compressionLevel !== undefined ? { compressionLevel: f.compressionLevel } : {}),
        ...(f.levels !== undefined ? { maxLevels: f.levels } : {}),
        zarrFormat: f.zarrVersion === '3' ? 3 : 2,
        ...(f.method ? { method: f.method } : {}),
        ...(f.label !== undefined ? { label: f.label } : {}),
        ...(f.voxelSize ? { voxelSize: f.voxelSize } : {}),
        ...(f.unit !== undefined ? { unit: f.unit } : {}),
        overwrite: f.overwrite ?? false,
        progress,
        ...(f.shard ? { shard: f.shard } : {}),
      });
      if (r.shard) {
        if (!f.quiet) console.log(describeConvertShard(r));
      } else if (!f.quiet) {
        const where = f.label !== undefined ? `${r.output}/labels/${f.label}` : r.output;
        const chunks = r.chunksWritten ? `, ${r.chunksWritten} chunks` : '';
        console.log(
          `wrote ${where}: ${r.levels.length} level(s) ${r.levels.map((s) => s.join('×')).join(', ')}` +
            `${chunks}, ${formatCount(r.voxels)} voxels in ${formatDuration(r.seconds)}`,
        );
      }
    });
}
