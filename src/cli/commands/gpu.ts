import type { Command } from 'commander';
import { gpuCheck } from '../../pipeline/gpu-check.js';

export function register(program: Command): void {
  program
    .command('gpu')
    .description('describe the WebGPU adapter and its limits, and self-check a convolution kernel')
    .option('--adapter <text>', 'use the adapter whose name contains this text')
    .option('--json', 'print JSON')
    .action(async (opts: { adapter?: string; json?: boolean }) => {
      const r = await gpuCheck(opts.adapter ? { adapterMatch: opts.adapter } : {});
      if (opts.json) {
        console.log(JSON.stringify(r, null, 2));
      } else {
        console.log(
          `adapter     ${r.adapter.description || r.adapter.device} (${r.adapter.vendor}, ${r.adapter.backend}${r.adapter.isFallbackAdapter ? ', software' : ''})`,
        );
        console.log(
          `features    timestamp-query ${r.features.timestampQuery ? 'yes' : 'no'}, shader-f16 ${r.features.shaderF16 ? 'yes' : 'no'}`,
        );
        for (const [k, v] of Object.entries(r.limits)) console.log(`limit       ${k} = ${v}`);
        for (const v of r.selfCheck.variants)
          console.log(`self-check  conv3d ${v.variant} vs direct sum: max |error| ${v.maxAbsError.toExponential(2)}`);
        console.log(
          `self-check  ${r.selfCheck.passed ? 'PASS' : 'FAIL'} (worst |error| ${r.selfCheck.conv3dMaxAbsError.toExponential(2)}, tolerance 1e-3)`,
        );
        const chosen = Object.entries(r.kernelChoices.remembered);
        console.log(
          `kernels     ${chosen.length} layer shape${chosen.length === 1 ? '' : 's'} timed on this adapter${r.kernelChoices.where ? ` (${r.kernelChoices.where})` : ''}` +
            (chosen.length
              ? `: ${[...new Set(chosen.map(([, v]) => v))].map((v) => `${v} ×${chosen.filter(([, c]) => c === v).length}`).join(', ')}`
              : ''),
        );
        console.log(
          `speed       conv3d ${r.conv3dGflops.shape}: ${r.conv3dGflops.ms.toFixed(1)} ms, ${r.conv3dGflops.gflops.toFixed(2)} GFLOP/s`,
        );
      }
      if (!r.selfCheck.passed) process.exitCode = 1;
    });
}
