import { type Command, InvalidArgumentError, Option } from 'commander';
import { COMPRESSIONS, type Compression } from '../../io/zarr-codecs.js';
import { convertToOmeZarr } from '../../pipeline/convert.js';
import { DOWNSAMPLE_METHODS, type DownsampleMethod } from '../../pipeline/downsample.js';
import { formatCount, formatDuration, createProgress } from '../../pipeline/progress.js';
import type { Vec3 } from '../../volume/box.js';
import { vec3 } from '../parse.js';
import type { RawSpec } from '../../io/scanner-raw.js';
import { RAW_FLAGS, RAW_HELP, rawOption, useRawLayout } from '../raw.js';
import { type LengthUnit, parseUnit } from '../../volume/voxel-size.js';


function wholeNumber(min: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be a whole number ≥ ${min}`);
    return n;
  };
}

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
}

export function register(program: Command): void {
  program
    .command('convert')
    .description('stream any readable scan (NIfTI, NRRD, MetaImage, Nikon .vol, raw, TIFF/PNG/BMP slices, multi-page TIFF, Zarr) into an OME-Zarr image pyramid, or, for an output named .nii/.nii.gz, .nrrd/.nhdr or .mha/.mhd, into that file')
    .argument('<input>', 'volume to read: .nii/.nii.gz, .nrrd/.nhdr, .mha/.mhd, .xtekVolume/.vgi/.vol, folder of .tif/.png/.bmp slices, .tif, .zarr or an http(s) URL of one; a headerless file with --raw')
    .argument('<output>', 'OME-Zarr folder to write (with --label: an existing OME-Zarr image); .nii/.nii.gz writes NIfTI-1, .nrrd/.nhdr NRRD, .mha/.mhd MetaImage (level 0 only; gzip-compressed unless --compression none)')
    .option('--chunk <n|z,y,x>', 'chunk shape', vec3('--chunk', true), [64, 64, 64] as Vec3)
    .addOption(new Option('--compression <codec>', 'chunk compression').choices(COMPRESSIONS).default('blosc'))
    .option('--compression-level <n>', 'codec level (blosc 0-9, zstd 1-22, gzip 0-9)', wholeNumber(0))
    .option('--levels <n>', 'most pyramid levels, level 0 included (default: halve until the smallest side is ≤ 64)', wholeNumber(1))
    .addOption(new Option('--zarr-version <v>', '2 writes OME-NGFF 0.4, 3 writes OME-NGFF 0.5').choices(['2', '3']).default('2'))
    .addOption(new Option('--method <m>', 'how levels are reduced (default mean; mode with --label)').choices(DOWNSAMPLE_METHODS))
    .option('--label <name>', 'write the volume as labels/<name> of the OME-Zarr image <output> (a mask or segmentation)')
    .option('--voxel-size <s|z,y,x>', 'voxel size to record, overriding the input’s', vec3('--voxel-size', false))
    .option('--unit <unit>', 'unit of the voxel size (um, mm, …)', unit)
    .option('--overwrite', 'replace an existing output')
    .option(RAW_FLAGS, RAW_HELP, rawOption)
    .option('-q, --quiet', 'no progress bar')
    .action(async (input: string, output: string, f: ConvertFlags) => {
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
      });
      if (!f.quiet) {
        const where = f.label !== undefined ? `${r.output}/labels/${f.label}` : r.output;
        const chunks = r.chunksWritten ? `, ${r.chunksWritten} chunks` : '';
        console.log(
          `wrote ${where}: ${r.levels.length} level(s) ${r.levels.map((s) => s.join('×')).join(', ')}` +
            `${chunks}, ${formatCount(r.voxels)} voxels in ${formatDuration(r.seconds)}`,
        );
      }
    });
}
