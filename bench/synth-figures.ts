/**
 * Figures for `rhizoct synth` (docs/figures/):
 *  - synth-vs-bean.png: a slice of the real bean scan (shared/data/bean-bucket-xct) beside a
 *    synthetic 'medium' scan at about the same scale (grains ≈ 8 voxels), XY and XZ, with the
 *    grey-value histograms of both;
 *  - synth-easy.png, synth-medium.png, synth-hard.png: the three central orthogonal slices of
 *    each difficulty preset, with the root mask in red below;
 * and prints the best-global-threshold Dice of each preset (inside the container).
 *
 *   npx tsx bench/synth-figures.ts [--out docs/figures] [--bean ../shared/data/bean-bucket-xct]
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireGpu } from '../src/gpu/acquire.js';
import { openVolume } from '../src/io/open.js';
import { makeBox, type Vec3 } from '../src/volume/box.js';
import { Canvas, plotHistograms } from '../src/synth/figure.js';
import { buildScene } from '../src/synth/generate.js';
import { IntensityHistograms } from '../src/synth/metrics.js';
import { OrthoPlanes, planesThroughRoot } from '../src/synth/ortho.js';
import { applyOverrides, DIFFICULTIES, presetParams } from '../src/synth/params.js';
import { SlabRenderer } from '../src/synth/tiles.js';
import { arg } from './args.js';

const outDir = arg('--out', 'docs/figures');
const beanDir = arg('--bean', '../shared/data/bean-bucket-xct');
const seed = Number(arg('--seed', '1'));
/** Extra parameter overrides for the bean comparison (to try settings), comma-free path=value list separated by ';'. */
const tweaks = arg('--set', '')
  .split(';')
  .filter((t) => t.length > 0);
const onlyBean = process.argv.includes('--only-bean');
await mkdir(outDir, { recursive: true });
const gpu = await acquireGpu();

/** Grey value (the generator's attenuation scale) → 0..255 like the 8-bit bean scan. */
const to8 = (u16: number, gain: number, offset: number): number => Math.max(0, Math.min(255, Math.round(((u16 - offset) / gain) * 255)));

// ---- bean vs synthetic --------------------------------------------------------------------------
const N = 256;
if (existsSync(beanDir)) {
  const bean = await openVolume(beanDir);
  const [, by, bx] = bean.shape;
  const y0 = (by - N) >> 1;
  const x0 = (bx - N) >> 1;
  const zMid = 250;
  const beanXY = (await bean.readBox(makeBox([zMid, y0, x0], [1, N, N]))) as Uint8Array;
  const beanXZ = (await bean.readBox(makeBox([zMid - N / 2, by >> 1, x0], [N, 1, N]))) as Uint8Array;
  const beanHist = new Float64Array(256);
  for (let z = 60; z < 440; z += 20) {
    const s = (await bean.readBox(makeBox([z, 0, 0], [1, by, bx]))) as Uint8Array;
    for (const v of s) beanHist[v]!++;
  }
  await bean.close();

  const p = applyOverrides(presetParams('medium'), ['container.diameter=-1', ...tweaks]);
  const shape: Vec3 = [N, N, N];
  const scene = buildScene(seed, shape, [0.04, 0.04, 0.04], p);
  const slabs = new SlabRenderer(gpu, scene, [64, N, N]);
  // Planes through a root at mid depth, so the comparison shows one.
  const ortho = new OrthoPlanes(shape, planesThroughRoot(scene.roots, scene.frame));
  const synthHist = new Float64Array(256);
  const classHist = { root: new Float64Array(256), other: new Float64Array(256) };
  for (let z = 0; z < N; z += 64) {
    const r = await slabs.render(makeBox([z, 0, 0], [64, N, N]));
    ortho.add(z, r.image, r.mask);
    for (let i = 0; i < r.image.length; i += 3) {
      const v = to8(r.image[i]!, p.scan.gain, p.scan.offset);
      synthHist[v]!++;
      (r.mask[i] ? classHist.root : classHist.other)[v]!++;
    }
  }
  slabs.dispose();
  const g = (img: Uint16Array): Uint8Array => Uint8Array.from(img, (v) => to8(v, p.scan.gain, p.scan.offset));
  // The bean's 8-bit values come in steps of about 6 (empty bins between): smooth both the same
  // way (Gaussian, sd 4 grey levels).
  const pool = (h: Float64Array): Float64Array =>
    Float64Array.from({ length: 256 }, (_, k) => {
      let s = 0;
      for (let j = -12; j <= 12; j++) s += h[Math.min(255, Math.max(0, k + j))]! * Math.exp(-(j * j) / 32);
      return s;
    });
  const pad = 10;
  const c = new Canvas(3 * pad + 2 * N, 2 * N + 240);
  c.text('REAL: BEAN IN SAND (SHARED/DATA)', pad, 4);
  c.text(`SYNTHETIC: MEDIUM, SEED ${seed}, 40 UM`, 2 * pad + N, 4);
  c.grey(beanXY, N, N, pad, 16);
  c.grey(g(ortho.xy.image), N, N, 2 * pad + N, 16);
  c.grey(beanXZ, N, N, pad, 22 + N);
  c.grey(g(ortho.xz.image), N, N, 2 * pad + N, 22 + N);
  c.text('XY', pad + 4, 20, [255, 255, 0]);
  c.text('XZ', pad + 4, 26 + N, [255, 255, 0]);
  plotHistograms(
    c,
    pad + 10,
    2 * N + 40,
    2 * N - 10,
    150,
    [
      { counts: pool(beanHist), color: [20, 90, 200], label: 'BEAN (WHOLE SLICES)' },
      { counts: pool(synthHist), color: [220, 60, 20], label: 'SYNTHETIC' },
      { counts: pool(classHist.root), color: [30, 160, 60], label: 'SYNTHETIC, ROOT VOXELS ONLY' },
    ],
    { lo: 0, hi: 256, ticks: [0, 64, 128, 192, 255], title: 'GREY VALUE (8-BIT SCALE)' },
  );
  await writeFile(join(outDir, 'synth-vs-bean.png'), c.png());
  console.log(`wrote ${join(outDir, 'synth-vs-bean.png')}`);
} else {
  console.log(`no bean scan at ${beanDir}: skipping the comparison figure`);
}

// ---- one figure per difficulty, and the threshold baseline ---------------------------------------
const M = 160;
for (const d of onlyBean ? [] : DIFFICULTIES) {
  const p = presetParams(d);
  const shape: Vec3 = [M, M, M];
  const vs = 0.05;
  const scene = buildScene(seed, shape, [vs, vs, vs], p);
  const slabs = new SlabRenderer(gpu, scene, [64, M, M]);
  const ortho = new OrthoPlanes(shape, planesThroughRoot(scene.roots, scene.frame));
  const hist = new IntensityHistograms();
  const f = scene.frame;
  const region = new Uint8Array(M * M);
  for (let y = 0; y < M; y++)
    for (let x = 0; x < M; x++) region[y * M + x] = Math.hypot(x * vs - f.axis[0], y * vs - f.axis[1]) < f.rin ? 1 : 0;
  let masked = 0;
  const t0 = performance.now();
  for (let z = 0; z < M; z += 64) {
    const depth = Math.min(64, M - z);
    const r = await slabs.render(makeBox([z, 0, 0], [depth, M, M]));
    ortho.add(z, r.image, r.mask);
    for (let k = 0; k < depth; k++)
      hist.add(r.image.subarray(k * M * M, (k + 1) * M * M), r.mask.subarray(k * M * M, (k + 1) * M * M), region);
    masked += r.maskVoxels;
  }
  const secs = (performance.now() - t0) / 1000;
  slabs.dispose();
  const b = hist.bestThreshold();
  const fig = ortho.figure(
    p.scan.offset,
    p.scan.offset + p.scan.gain,
    `${d.toUpperCase()}  SEED ${seed}  ${M}X${M}X${M} AT 50 UM   BEST THRESHOLD DICE ${b.dice.toFixed(2)}`,
    320,
  );
  await writeFile(join(outDir, `synth-${d}.png`), fig.png());
  console.log(
    `${d.padEnd(6)} root voxels ${((100 * masked) / M ** 3).toFixed(1)}%  best threshold Dice ${b.dice.toFixed(3)} (roots ${b.rootsBrighter ? 'brighter' : 'darker'})  best band Dice ${b.bandDice.toFixed(3)}  render ${(M ** 3 / secs / 1e6).toFixed(2)} Mvoxels/s`,
  );
}
gpu.destroy();
