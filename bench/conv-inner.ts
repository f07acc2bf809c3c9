/**
 * What the driver makes of the forward convolution's inner loop (issue 16). Times
 * `shaders/conv_inner_probe.wgsl` — conv3d.wgsl's inner loop without its index arithmetic or
 * bounds checks — with its loads switched on and off, beside the device's FMA ceiling and the real
 * forward convolution on the default model's layer shapes, all in one run:
 *   - the input row made in registers, or loaded at per-invocation addresses (as the convolution
 *     must);
 *   - the weights made in registers, or read from a storage buffer at addresses the same for every
 *     invocation or different per invocation (as conv3d.wgsl's channel group makes them), from a
 *     uniform buffer, or from workgroup memory.
 *
 *   node dist/bench/conv-inner.js [--reps 5] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { acquireGpu } from '../src/gpu/acquire.js';
import type { Gpu } from '../src/gpu/gpu.js';
import { conv3d } from '../src/nn/ops/conv3d.js';
import { Tensor } from '../src/nn/tensor.js';
import { arg } from './args.js';
import { fmaCeiling, timeMedian } from './device-ceiling.js';

type WeightSource = 'computed' | 'storage, same address' | 'storage, per invocation' | 'uniform buffer' | 'workgroup memory';
const WEIGHT_SOURCES: WeightSource[] = [
  'computed',
  'storage, same address',
  'storage, per invocation',
  'uniform buffer',
  'workgroup memory',
];

interface Probe {
  tx: number;
  cb: number;
  input: boolean;
  weights: WeightSource;
}

const PROBES: Probe[] = [
  ...[false, true].flatMap((input) => WEIGHT_SOURCES.map((weights) => ({ tx: 8, cb: 2, input, weights }))),
  { tx: 4, cb: 1, input: false, weights: 'computed' },
  { tx: 4, cb: 1, input: true, weights: 'storage, per invocation' },
];

const probeName = (p: Probe): string => `block ${p.tx}×${p.cb}, input ${p.input ? 'loaded' : 'made'}, weights ${p.weights}`;

// The default model's inference convolutions at the 64³ tile (80³ patch), batch 1.
const CONVS = [
  { name: '8→8 @80³', cin: 8, cout: 8, d: 80 },
  { name: '16→16 @40³', cin: 16, cout: 16, d: 40 },
  { name: '32→32 @20³', cin: 32, cout: 32, d: 20 },
];

const INVOCATIONS = 64 * 1024;
const ROWS = 256;

async function probe(
  gpu: Gpu,
  p: Probe,
  reps: number,
  bufs: { input: GPUBuffer; weight: GPUBuffer; out: GPUBuffer; uweight: Float32Array },
): Promise<number> {
  const constants = {
    TX: p.tx,
    CB: p.cb,
    ROWS,
    INPUT_LOADS: p.input ? 1 : 0,
    WEIGHTS: WEIGHT_SOURCES.indexOf(p.weights),
  };
  const ms = await timeMedian(gpu, reps, () =>
    gpu.run({ shader: 'conv_inner_probe', constants }, [bufs.input, bufs.weight, bufs.out, bufs.uweight], INVOCATIONS / 64),
  );
  return (INVOCATIONS * ROWS * 3 * p.cb * p.tx * 4 * 2) / ms / 1e6;
}

async function main(): Promise<void> {
  const reps = Number(arg('--reps', '5'));
  const gpu = await acquireGpu();
  const device = `${gpu.adapter.description || gpu.adapter.device} (${gpu.adapter.backend})`;
  const values = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const bufs = { input: gpu.upload(values(65536)), weight: gpu.upload(values(1024 * 4)), out: gpu.createBuffer(INVOCATIONS * 16) };
  const ceilingBefore = await fmaCeiling(gpu);
  const probes: { probe: Probe; gflops: number }[] = [];
  for (const p of PROBES) probes.push({ probe: p, gflops: await probe(gpu, p, reps, { ...bufs, uweight: values(1024 * 4) }) });
  const convs: { name: string; gflops: number }[] = [];
  for (const c of CONVS) {
    const r = (n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const x = Tensor.fromArray(gpu, [1, c.cin, c.d, c.d, c.d], r(c.cin * c.d ** 3));
    const w = Tensor.fromArray(gpu, [c.cout, c.cin, 3, 3, 3], r(c.cout * c.cin * 27));
    const g = { kernel: 3, stride: 1, padding: 1 };
    const ms = await timeMedian(gpu, reps, async () => (await conv3d(x, w, null, g)).release());
    convs.push({ name: c.name, gflops: (2 * c.cin * c.cout * 27 * c.d ** 3) / ms / 1e6 });
    x.release();
    w.release();
  }
  const ceilingAfter = await fmaCeiling(gpu);
  for (const b of Object.values(bufs)) gpu.release(b);
  gpu.destroy();

  const ceiling = (ceilingBefore + ceilingAfter) / 2;
  const pct = (g: number): string => `${((100 * g) / ceiling).toFixed(0)}%`;
  console.log(
    `conv3d's inner loop on ${device}; FMA ceiling ${ceilingBefore.toFixed(1)} before, ${ceilingAfter.toFixed(1)} after (GFLOP/s, median of ${reps})`,
  );
  for (const { probe: p, gflops } of probes)
    console.log(`  probe ${probeName(p).padEnd(62)} ${gflops.toFixed(1).padStart(6)} GFLOP/s  ${pct(gflops)} of the ceiling`);
  for (const c of convs)
    console.log(`  conv3d forward ${c.name.padEnd(55)} ${c.gflops.toFixed(1).padStart(6)} GFLOP/s  ${pct(c.gflops)} of the ceiling`);
  const json = arg('--json', '');
  if (json) writeFileSync(json, JSON.stringify({ device, reps, ceilingBefore, ceilingAfter, probes, convs }, null, 1) + '\n');
}

await main();
