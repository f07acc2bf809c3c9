/**
 * conv3d backward-weight on the training step's layer shapes: median time, GFLOP/s, and a digest
 * of dW's bytes for fixed inputs, so two builds can be compared for speed and for bit-identical
 * results (run the same command from each build's folder, one after the other).
 *
 *   node dist/bench/conv-wgrad.js [--reps 5]
 */
import { createHash } from 'node:crypto';
import { acquireGpu } from '../src/gpu/acquire.js';
import { conv3dBackwardWeight } from '../src/nn/ops/conv3d.js';
import { Tensor } from '../src/nn/tensor.js';
import { arg, median } from './args.js';

interface Shape {
  n: number;
  cin: number;
  cout: number;
  side: number;
  k: number;
  stride: number;
  padding: number;
}

// The default preset's heaviest backward-weight layers, then odd shapes (channels past a block,
// stride 2, 1³ and 2³ kernels) where a blocking change would first go wrong.
const SHAPES: Shape[] = [
  { n: 2, cin: 24, cout: 8, side: 48, k: 3, stride: 1, padding: 1 },
  { n: 2, cin: 8, cout: 8, side: 48, k: 3, stride: 1, padding: 1 },
  { n: 2, cin: 48, cout: 16, side: 24, k: 3, stride: 1, padding: 1 },
  { n: 1, cin: 5, cout: 7, side: 9, k: 3, stride: 2, padding: 1 },
  { n: 2, cin: 3, cout: 6, side: 10, k: 1, stride: 1, padding: 0 },
  { n: 1, cin: 4, cout: 5, side: 11, k: 2, stride: 2, padding: 0 },
];

/** A fixed stream of values in [-1, 1): the same inputs in every build. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

async function main(): Promise<void> {
  const gpu = await acquireGpu();
  const reps = Number(arg('--reps', '5'));
  const next = lcg(12345);
  console.log(`conv3d backward-weight: ${gpu.adapter.description || gpu.adapter.device} (${gpu.adapter.backend}), median of ${reps}`);
  for (const s of SHAPES) {
    const out = Math.floor((s.side + 2 * s.padding - s.k) / s.stride) + 1;
    const x = Tensor.fromArray(gpu, [s.n, s.cin, s.side, s.side, s.side], Float32Array.from({ length: s.n * s.cin * s.side ** 3 }, next));
    const dy = Tensor.fromArray(gpu, [s.n, s.cout, out, out, out], Float32Array.from({ length: s.n * s.cout * out ** 3 }, next));
    const dw = Tensor.empty(gpu, [s.cout, s.cin, s.k, s.k, s.k]);
    const g = { kernel: s.k, stride: s.stride, padding: s.padding };
    await conv3dBackwardWeight(x, dy, dw, g);
    await gpu.sync();
    const ms: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      await conv3dBackwardWeight(x, dy, dw, g);
      await gpu.sync();
      ms.push(performance.now() - t0);
    }
    const digest = createHash('sha1')
      .update(new Uint8Array((await dw.toArray()).buffer))
      .digest('hex')
      .slice(0, 12);
    const gflop = (2 * s.n * s.cin * s.cout * s.k ** 3 * out ** 3) / 1e9;
    const t = median(ms);
    console.log(
      `${s.n}×${s.cin}→${s.cout} @${s.side}³ k${s.k} s${s.stride}: ${t.toFixed(1)} ms, ${(gflop / (t / 1000)).toFixed(1)} GFLOP/s, dW sha1 ${digest}`,
    );
    for (const t of [x, dy, dw]) t.release();
  }
  gpu.destroy();
}

await main();
