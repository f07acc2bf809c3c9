/**
 * Models on the two real scans in ../shared/data, as a lab would run them: each scan converted
 * whole into an OME-Zarr pyramid (voxel size unknown so none recorded) and a region of it segmented
 * with no options but `--region` (all scales; the region's mask is what a whole-scan run writes there),
 * pictures of slices with each model's mask, and scores against the references of
 * bench/real-references (bean: points placed by looking at slices, and the tap root's core;
 * maize: a careful threshold reference) through bench/real-scans-score.py.
 *
 *   node dist/bench/real-scans.js [--models models/default,/tmp/model-old:--scales 0] [--scans bean,maize]
 *     [--work /tmp/rhizoct-real] [--figures docs/figures]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openVolume } from '../src/io/open.js';
import { convertToOmeZarr } from '../src/pipeline/convert.js';
import { Canvas } from '../src/synth/figure.js';
import { type Box, makeBox } from '../src/volume/box.js';
import { formatRegion } from '../src/volume/region.js';
import { arg, modelList } from './args.js';
import { cli, root } from './held-out.js';

const SHARED = join(root, '..', 'shared', 'data');

/**
 * Regions (z, y, x offset and shape, full-resolution voxels; on the 64³ output chunks, so a region
 * costs its own voxels) and the slices (in the region) drawn from each.
 */
const SCANS: Record<string, { dir: string; box: Box; slices: number[] }> = {
  // The bean's upper tap root and the laterals leaving it.
  bean: { dir: join(SHARED, 'bean-bucket-xct'), box: makeBox([64, 128, 128], [192, 192, 192]), slices: [36, 96, 146] },
  // The maize crown: stem and nodal roots below it.
  maize: { dir: join(SHARED, 'maize-crown-ct'), box: makeBox([64, 64, 64], [192, 192, 192]), slices: [6, 66, 126] },
};

/** The whole scan converted into an OME-Zarr pyramid, as a lab's `rhizoct convert` makes it (once per work folder). */
async function scanPyramid(name: string, work: string): Promise<string> {
  const out = join(work, `${name}.zarr`);
  if (!existsSync(out)) await convertToOmeZarr(SCANS[name]!.dir, out, {});
  return out;
}

/** z-slices (and one y-slice) of the box, each model's mask in red, side by side. */
async function figure(name: string, scan: string, segs: { label: string; path: string }[], png: string): Promise<void> {
  const box = SCANS[name]!.box;
  const img = await openVolume(scan);
  const [D, H, W] = box.shape;
  const grey = await img.readBox(box);
  await img.close();
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < grey.length; i += 7) {
    lo = Math.min(lo, grey[i]!);
    hi = Math.max(hi, grey[i]!);
  }
  const masks: Uint8Array[] = [];
  for (const s of segs) {
    const m = await openVolume(s.path, { label: 'roots' });
    masks.push((await m.readBox(box)) as Uint8Array);
    await m.close();
  }
  const slices = SCANS[name]!.slices;
  const cell = 200;
  const scale = cell / Math.max(H, W);
  const c = new Canvas(12 + (slices.length + 1) * (cell + 8), 24 + (segs.length + 1) * (cell + 20));
  const plane = (k: number, axis: 'z' | 'y', mask: Uint8Array | null): { g: Uint8Array; t: Uint8Array; w: number; h: number } => {
    const h = axis === 'z' ? H : D;
    const g = new Uint8Array(h * W);
    const t = new Uint8Array(h * W);
    for (let r = 0; r < h; r++)
      for (let x = 0; x < W; x++) {
        const i = axis === 'z' ? (k * H + r) * W + x : (r * H + k) * W + x;
        g[r * W + x] = Math.round((255 * (grey[i]! - lo)) / Math.max(1, hi - lo));
        t[r * W + x] = mask ? mask[i]! : 0;
      }
    return { g, t, w: W, h };
  };
  const draw = (p: { g: Uint8Array; t: Uint8Array; w: number; h: number }, x: number, y: number): void => {
    // Nearest-neighbour down-scaling into the cell.
    const g = new Uint8Array(cell * cell);
    const t = new Uint8Array(cell * cell);
    for (let j = 0; j < cell; j++)
      for (let i = 0; i < cell; i++) {
        const sy = Math.floor(j / scale);
        const sx = Math.floor(i / scale);
        if (sy >= p.h || sx >= p.w) continue;
        g[j * cell + i] = p.g[sy * p.w + sx]!;
        t[j * cell + i] = p.t[sy * p.w + sx]!;
      }
    c.grey(g, cell, cell, x, y, 1, t);
  };
  c.text(`${name.toUpperCase()} REGION ${box.offset.join(',')} +${D}`, 12, 6);
  const rows = [{ label: 'SCAN', mask: null as Uint8Array | null }, ...segs.map((s, i) => ({ label: s.label, mask: masks[i]! }))];
  rows.forEach((row, r) => {
    const y = 24 + r * (cell + 20);
    c.text(row.label, 12, y);
    slices.forEach((z, k) => draw(plane(z, 'z', row.mask), 12 + k * (cell + 8), y + 10));
    draw(plane(Math.floor(H / 2), 'y', row.mask), 12 + slices.length * (cell + 8), y + 10);
  });
  writeFileSync(png, c.png());
}

/** The maize threshold reference and its air region (bench/real-references/maize_reference.py), made once. */
function maizeReference(work: string): [string, string] {
  const ref = join(work, 'maize-ref.npy');
  const air = join(work, 'maize-air.npy');
  if (!existsSync(ref) || !existsSync(air))
    execFileSync('/usr/bin/python3', [join(root, 'bench/real-references/maize_reference.py'), ref, '--air', air], { stdio: 'inherit' });
  return [ref, air];
}

async function main(): Promise<void> {
  const work = arg('--work', '/tmp/rhizoct-real');
  const models = modelList(arg('--models', 'models/default'));
  const scans = arg('--scans', 'bean,maize').split(',');
  const figures = arg('--figures', join(root, 'docs/figures'));
  if (!existsSync(SHARED)) {
    console.log(`real-scans: ${SHARED} is absent; nothing to do`);
    return;
  }
  mkdirSync(work, { recursive: true });
  mkdirSync(figures, { recursive: true });
  const results: Record<string, unknown>[] = [];
  for (const name of scans) {
    const scan = await scanPyramid(name, work);
    const segs: { label: string; path: string }[] = [];
    for (const [k, m] of models.entries()) {
      const [model, extra] = m.split(':');
      const seg = join(work, `${name}-seg-${k}.zarr`);
      const t0 = performance.now();
      cli([
        'segment',
        scan,
        seg,
        '--model',
        model!,
        '--region',
        formatRegion(SCANS[name]!.box),
        '--quiet',
        '--overwrite',
        ...(extra ? extra.trim().split(/\s+/) : []),
      ]);
      const seconds = (performance.now() - t0) / 1000;
      segs.push({ label: m.replace(root + '/', ''), path: seg });
      const refs = name === 'maize' ? maizeReference(work) : null;
      const score = JSON.parse(
        execFileSync(
          '/usr/bin/python3',
          [
            join(root, 'bench/real-scans-score.py'),
            join(seg, 'labels/roots/0'),
            '--scan',
            name,
            '--crop',
            [...SCANS[name]!.box.offset, ...SCANS[name]!.box.shape].join(','),
            ...(refs ? ['--ref', refs[0], '--air', refs[1]] : []),
            '--json',
          ],
          { encoding: 'utf8' },
        ),
      ) as Record<string, unknown>;
      results.push({ scan: name, model: m, seconds, score });
      console.log(`${name} ${m}: ${JSON.stringify(score)} (${seconds.toFixed(0)} s)`);
    }
    await figure(name, scan, segs, join(figures, `real-${name}.png`));
  }
  mkdirSync(join(root, 'bench/out'), { recursive: true });
  writeFileSync(
    join(root, 'bench/out/real-scans.json'),
    JSON.stringify({ date: new Date().toISOString(), regions: SCANS, results }, null, 2),
  );
}

await main();
