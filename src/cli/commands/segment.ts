import type { Command } from 'commander';
import { acquireGpu } from '../../gpu/acquire.js';
import { checkRegionInside, COMPACT_BELOW, MAX_CHUNK, MIN_COMPONENT, segment, type SegmentSummary } from '../../pipeline/segment.js';
import { parseScales } from '../../pipeline/multiscale.js';
import { createProgress } from '../../pipeline/progress.js';
import { packageRoot } from '../../gpu/shader-source-node.js';
import { join } from 'node:path';
import type { RawSpec } from '../../io/scanner-raw.js';
import { RAW_FLAGS, RAW_HELP, rawOption, useRawLayout } from '../raw.js';
import { asOption, integer, number, parseRegion, parseShard, type Shard } from '../parse.js';
import type { Box } from '../../volume/box.js';
import { describeCoverage } from '../../io/segmentation-output.js';
import { formatRegion } from '../../volume/region.js';

interface SegmentFlags {
  model: string;
  threshold: number;
  chunk: number;
  shard?: Shard;
  scales: number[] | 'auto';
  level: number;
  inputPyramid: boolean;
  tta?: boolean;
  batch: number;
  tile?: number;
  nifti?: string;
  raw?: RawSpec;
  overwrite?: boolean;
  device?: string;
  quiet?: boolean;
  json?: boolean;
  stopAfter?: number;
  region?: Box;
  minComponent: number;
  compactBelow: number;
}

/** The line a run ends with: what was done, or why there was nothing to do (a shard's log says which). */
export function describeSegmentRun(s: SegmentSummary): string {
  const who = s.shard ? `shard ${s.shard.index}/${s.shard.count}` : 'segment';
  const rate = `${(s.voxelsPerSecond / 1e6).toFixed(3)} Mvoxel/s on ${s.tile}³ tiles, peak RSS ${s.peakRssMiB.toFixed(0)} MiB`;
  const state = s.complete ? `${s.output} is complete` : `${s.output} is not complete yet (other shards pending)`;
  if (s.region) {
    const r = s.region.map(([lo, hi]) => `${lo}:${hi}`).join(',');
    const holds = s.complete
      ? `${s.output} is complete (every chunk is segmented)`
      : `${s.output} holds ${s.coverage ? describeCoverage(s.coverage) : 'part of the scan'}; the rest is not segmented`;
    if (s.chunks.written === 0 && s.chunks.skipped === s.chunks.thisShard)
      return `segment --region ${r}: nothing to do: all ${s.chunks.thisShard} of its chunks were already segmented by this job; ${holds}`;
    return `segmented --region ${r}: ${s.chunks.written} chunks written, ${s.chunks.skipped} already done; ${holds}; ${rate}`;
  }
  if (s.alreadyComplete) return `${who}: nothing to do: ${s.output} is already complete, made by this same job`;
  if (s.shard && s.chunks.thisShard === 0)
    return `${who}: nothing to do: this shard has no chunks (the output has ${s.chunks.total}); ${state}`;
  if (s.chunks.written === 0 && s.chunks.skipped === s.chunks.thisShard)
    return `${who}: nothing to do: all ${s.chunks.thisShard} of its chunks were already done; ${state}`;
  return `${s.complete ? 'wrote' : 'partly wrote (other shards pending)'} ${s.output}: ${s.chunks.written} chunks written, ${s.chunks.skipped} already done${s.shard ? ` (${who}: ${s.chunks.thisShard} of ${s.chunks.total} chunks)` : ''}; ${rate}`;
}

export function register(program: Command): void {
  program
    .command('segment')
    .description(
      'segment the roots of a scan, block by block (streaming, resumable, shardable) into an OME-Zarr: probability image + labels/roots mask',
    )
    .argument(
      '<input>',
      'scan: OME-Zarr (its pyramid gives the low-resolution context), or any other scan rhizoct reads: NIfTI, NRRD, MetaImage, a Nikon .vol, a TIFF/PNG/BMP slice folder, a raw file with --raw',
    )
    .argument('<output>', 'output OME-Zarr folder')
    .option('--model <path>', 'model folder or .safetensors', join(packageRoot(), 'models', 'default'))
    .option(
      '--threshold <p>',
      'probability at or above which a voxel is root (above 0, below 1)',
      number({ min: 0, max: 1, minExclusive: true, maxExclusive: true }),
      0.5,
    )
    .option('--chunk <n>', `output chunk side in voxels, 1 to ${MAX_CHUNK} (rounded up to the model tile)`, integer(1, MAX_CHUNK), 64)
    .option(
      '--shard <i/N>',
      'process only chunks i, i+N, i+2N… (SLURM array: --shard $SLURM_ARRAY_TASK_ID/N; Kubernetes indexed job: $JOB_COMPLETION_INDEX/N); a shard with nothing left to do, or against an output this job finished, exits 0',
      parseShard,
    )
    .option(
      '--scales <levels>',
      'pyramid levels the network runs at, fused at full resolution (a voxel is root if the finest level finds it, or it lies in a body a coarser level finds thick): auto (0,1,2 where the level is at least one network patch on its smallest side, for roots from ~1 to ~40 voxels in radius) or e.g. 0 for full resolution only',
      asOption(parseScales),
      'auto',
    )
    .option('--level <n>', 'segment pyramid level n of an OME-Zarr input (output at that resolution)', integer(0, 30), 0)
    .option(
      '--no-input-pyramid',
      'read a slice folder or NIfTI input directly instead of decoding it once into a temporary pyramid OUT.input.zarr (removed when done)',
    )
    .option('--tta', 'average predictions over flips along z, y and x (4× slower)')
    .option(
      '--batch <n>',
      "patches of the model's own size per GPU batch, 1 to 1024 (larger tiles go fewer at a time)",
      integer(1, 1024),
      4,
    )
    .option(
      '--tile <n>',
      "side of the cube one network pass predicts, a multiple of the model's own tile (default: 64 or 128, whichever computes fewer voxels over the whole scan, also for --region and --shard runs; larger tiles recompute less overlap but use twice the memory)",
      integer(1, MAX_CHUNK),
    )
    .option(
      '--nifti <file>',
      'also export the mask when complete, as NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) or MetaImage (.mha, .mhd) by its name',
    )
    .option(RAW_FLAGS, RAW_HELP, rawOption)
    .option(
      '--region <z0:z1,y0:y1,x0:x1>',
      'segment only the chunks meeting this box of full-resolution voxels (end excluded), in OUT itself: a new OUT holds them alone (the rest absent, marked not segmented in its metadata); an OUT of the same job keeps its chunks and gets these; a later run without --region completes it',
      parseRegion,
    )
    .option(
      '--min-component <voxels>',
      'remove the pieces of the mask (26-connected) with fewer voxels than this once every chunk is written, e.g. specks on bright grains; 0 keeps all. With --region, a piece that reaches a chunk not yet segmented is kept until the scan is complete',
      integer(0),
      MIN_COMPONENT,
    )
    .option(
      '--compact-below <voxels>',
      'also remove the pieces with fewer voxels than this that are compact, not elongated (longest principal axis under 2.5 times the shortest): grain-sized blobs, e.g. 3000 for bright grains in sand; 0 (the default) keeps them, since a root found only in short pieces is compact too',
      integer(0),
      COMPACT_BELOW,
    )
    .option('--overwrite', 'replace an existing output')
    .option('--device <text>', 'use the WebGPU adapter whose name contains this text (see rhizoct gpu)')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the run summary as JSON')
    .option('--stop-after <n>', 'stop after n chunks, as if interrupted (benchmarks, tests)', integer(0))
    .action(async (input: string, output: string, o: SegmentFlags) => {
      await useRawLayout(o.raw, [input]);
      if (o.shard && o.overwrite)
        throw new Error(
          '--overwrite cannot be used with --shard (a shard started late would delete the work of the others, or the finished output); remove OUT and OUT.partial before submitting the shards',
        );
      if (o.region && o.shard)
        throw new Error(
          `--region ${formatRegion(o.region)} cannot be used with --shard (a region is segmented in place by one process; shard whole scans)`,
        );
      if (o.region && o.level > 0) throw new Error('--region is in full-resolution voxels and cannot be used with --level');
      if (o.region && o.nifti)
        throw new Error('--nifti exports a complete mask and cannot be used with --region (the rest of the scan is not segmented)');
      if (o.region) await checkRegionInside(input, o.region);
      const gpu = await acquireGpu(o.device !== undefined ? { adapterMatch: o.device } : {});
      const summary = await segment(
        {
          input,
          output,
          model: o.model,
          threshold: o.threshold,
          chunk: o.chunk,
          ...(o.shard ? { shard: o.shard } : {}),
          tta: Boolean(o.tta),
          batch: o.batch,
          ...(o.tile !== undefined ? { tile: o.tile } : {}),
          overwrite: Boolean(o.overwrite),
          nifti: o.nifti,
          progress: createProgress({ quiet: Boolean(o.quiet) }),
          stopAfter: o.stopAfter,
          level: o.level,
          scales: o.scales,
          inputPyramid: o.inputPyramid !== false,
          ...(o.region ? { region: o.region } : {}),
          minComponent: o.minComponent,
          compactBelow: o.compactBelow,
        },
        gpu,
      ).finally(() => gpu.destroy());
      if (o.json) console.log(JSON.stringify(summary, null, 2));
      else if (!o.quiet) console.log(describeSegmentRun(summary));
    });
}
