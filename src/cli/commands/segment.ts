import type { Command } from 'commander';
import { acquireGpu } from '../../gpu/acquire.js';
import { parseShard, segment } from '../../pipeline/segment.js';
import { parseScales } from '../../pipeline/multiscale.js';
import { createProgress } from '../../pipeline/progress.js';
import { packageRoot } from '../../gpu/shader-source-node.js';
import { join } from 'node:path';
import type { RawSpec } from '../../io/scanner-raw.js';
import { RAW_FLAGS, RAW_HELP, rawOption, useRawLayout } from '../raw.js';

export function register(program: Command): void {
  program
    .command('segment')
    .description('segment the roots of a scan, block by block (streaming, resumable, shardable) into an OME-Zarr: probability image + labels/roots mask')
    .argument('<input>', 'scan: OME-Zarr (its pyramid gives the low-resolution context), or any other scan rhizoct reads: NIfTI, NRRD, MetaImage, a Nikon .vol, a TIFF/PNG/BMP slice folder, a raw file with --raw')
    .argument('<output>', 'output OME-Zarr folder')
    .option('--model <path>', 'model folder or .safetensors', join(packageRoot(), 'models', 'default'))
    .option('--threshold <p>', 'probability at or above which a voxel is root', '0.5')
    .option('--chunk <n>', 'output chunk side in voxels (rounded up to the model tile)', '64')
    .option('--shard <i/N>', 'process only chunks i, i+N, i+2N… (SLURM array: --shard $SLURM_ARRAY_TASK_ID/N; Kubernetes indexed job: $JOB_COMPLETION_INDEX/N)')
    .option('--scales <levels>', 'pyramid levels the network runs at, fused at full resolution (a voxel is root if any level finds it): auto (0,1,2 where the scan is large enough, for roots from ~1 to ~40 voxels in radius) or e.g. 0 for full resolution only', 'auto')
    .option('--level <n>', 'segment pyramid level n of an OME-Zarr input (output at that resolution)', '0')
    .option('--no-input-pyramid', 'read a slice folder or NIfTI input directly instead of decoding it once into a temporary pyramid OUT.input.zarr (removed when done)')
    .option('--tta', 'average predictions over flips along z, y and x (4× slower)')
    .option('--batch <n>', 'patches per GPU batch', '4')
    .option('--nifti <file>', 'also export the mask when complete, as NIfTI (.nii, .nii.gz), NRRD (.nrrd, .nhdr) or MetaImage (.mha, .mhd) by its name')
    .option(RAW_FLAGS, RAW_HELP, rawOption)
    .option('--overwrite', 'replace an existing output')
    .option('--device <text>', 'use the WebGPU adapter whose name contains this text (see rhizoct gpu)')
    .option('--quiet', 'no progress output')
    .option('--json', 'print the run summary as JSON')
    .option('--stop-after <n>', 'stop after n chunks, as if interrupted (benchmarks, tests)')
    .action(async (input: string, output: string, o: Record<string, string | boolean | undefined>) => {
      await useRawLayout(o.raw as unknown as RawSpec | undefined, [input]);
      const scales = parseScales(String(o.scales ?? 'auto'));
      const threshold = Number(o.threshold);
      if (!(threshold > 0 && threshold < 1)) throw new Error(`--threshold must be between 0 and 1, got "${o.threshold}"`);
      const shard = parseShard(typeof o.shard === 'string' ? o.shard : undefined);
      const gpu = await acquireGpu(typeof o.device === 'string' ? { adapterMatch: o.device } : {});
      const summary = await segment({
        input,
        output,
        model: String(o.model),
        threshold,
        chunk: Number(o.chunk),
        shard,
        tta: Boolean(o.tta),
        batch: Math.max(1, Number(o.batch)),
        overwrite: Boolean(o.overwrite),
        nifti: typeof o.nifti === 'string' ? o.nifti : undefined,
        progress: createProgress({ quiet: Boolean(o.quiet) }),
        stopAfter: o.stopAfter === undefined ? undefined : Number(o.stopAfter),
        level: Number(o.level ?? 0),
        scales,
        inputPyramid: o.inputPyramid !== false,
      }, gpu).finally(() => gpu.destroy());
      if (o.json) console.log(JSON.stringify(summary, null, 2));
      else if (!o.quiet) {
        console.log(`${summary.complete ? 'wrote' : 'partly wrote (other shards pending)'} ${output}: ${summary.chunks.written} chunks written, ${summary.chunks.skipped} already done; ${(summary.voxelsPerSecond / 1e6).toFixed(3)} Mvoxel/s, peak RSS ${summary.peakRssMiB.toFixed(0)} MiB`);
      }
    });
}
