import { openMask } from '../io/mask.js';
import type { VolumeSource } from '../io/volume.js';
import { makeBox, type Vec3 } from '../volume/box.js';
import { iterateBlocks, writeInRead } from '../volume/blocks.js';
import { overlapScores, type OverlapScores } from '../volume/overlap.js';
import { skeletonizeBlock } from '../analysis/skeleton.js';
import { radiusClasses, thicknessHalo } from '../analysis/thickness.js';
import { CONTRAST_HALO, visibleRoots } from '../analysis/contrast.js';
import { openVolume } from '../io/open.js';
import type { Progress } from './progress.js';

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export type Scores = OverlapScores;

export interface EvalResult {
  pred: string;
  truth: string;
  shape: readonly number[];
  voxelSize: readonly number[];
  unit: string;
  counts: Counts;
  scores: Scores;
  /** Centreline Dice (Shit et al. 2021) where computed. */
  clDice?: { value: number; topologyPrecision: number; topologySensitivity: number; note: string };
  bands: { zFrom: number; zTo: number; depthFrom: number; depthTo: number; counts: Counts; scores: Scores }[];
  /** Recall by the truth's local root radius, where asked for (see recallByRadius). */
  radius?: RadiusClass[];
}

/**
 * Truth voxels whose local root radius (voxels; analysis/thickness) lies in [from, to): how many,
 * how many the prediction has, and Dice over the scan with truth roots thinner than `from` left
 * out (neither missed nor, where predicted, counted as found or as false positives).
 */
export interface RadiusClass {
  from: number;
  /** null: no upper bound. */
  to: number | null;
  truthVoxels: number;
  tp: number;
  fn: number;
  recall: number;
  diceFrom: number;
  /** With the scan given: the same for the truth voxels that stand out from the soil around them (analysis/contrast). */
  visible?: { truthVoxels: number; tp: number; fn: number; recall: number };
}

/** Dice, IoU, precision and recall, with the trainer's convention for empty masks (volume/overlap). */
export function scores(c: Counts): Scores {
  return overlapScores(c);
}

/**
 * Compares a predicted mask with the truth, streaming slab by slab along z: Dice, IoU, precision
 * and recall over the volume and per depth band. Voxels > 0 are root in both.
 */
export async function evaluate(
  predPath: string,
  truthPath: string,
  opts: {
    bands: number;
    progress: Progress;
    clDice?: (pred: VolumeSource, truth: VolumeSource) => Promise<EvalResult['clDice']>;
    radiusBounds?: readonly number[];
    /** The scan the truth belongs to: recall by radius is also given for the roots that stand out in it. */
    image?: string;
  },
): Promise<EvalResult> {
  const { src: pred } = await openMask(predPath);
  const { src: truth } = await openMask(truthPath);
  try {
    if (pred.shape.some((s, i) => s !== truth.shape[i])) {
      throw new Error(`${predPath} has shape [${pred.shape.join(', ')}] but ${truthPath} has [${truth.shape.join(', ')}]`);
    }
    const [D, H, W] = pred.shape;
    const nb = Math.max(1, Math.min(opts.bands, D));
    const bandOf = (z: number): number => Math.min(nb - 1, Math.floor((z * nb) / D));
    const bandCounts: Counts[] = Array.from({ length: nb }, () => ({ tp: 0, fp: 0, fn: 0, tn: 0 }));
    const slab = Math.max(1, Math.min(D, Math.floor((32 << 20) / (H * W))));
    opts.progress.start(D * H * W, 'voxels', 'eval');
    for (let z0 = 0; z0 < D; z0 += slab) {
      const d = Math.min(slab, D - z0);
      const box = makeBox([z0, 0, 0], [d, H, W]);
      const [p, t] = await Promise.all([pred.readBox(box), truth.readBox(box)]);
      for (let z = 0; z < d; z++) {
        const c = bandCounts[bandOf(z0 + z)]!;
        const base = z * H * W;
        for (let i = base; i < base + H * W; i++) {
          const a = p[i]! > 0;
          const b = t[i]! > 0;
          if (a && b) c.tp++;
          else if (a) c.fp++;
          else if (b) c.fn++;
          else c.tn++;
        }
      }
      opts.progress.advance(d * H * W);
    }
    opts.progress.done();
    const counts = bandCounts.reduce((a, c) => ({ tp: a.tp + c.tp, fp: a.fp + c.fp, fn: a.fn + c.fn, tn: a.tn + c.tn }), {
      tp: 0,
      fp: 0,
      fn: 0,
      tn: 0,
    });
    const vz = truth.voxelSize[0]!;
    const oz = truth.origin[0]!;
    const bands = bandCounts.map((c, b) => {
      const zFrom = Math.ceil((b * D) / nb);
      const zTo = Math.ceil(((b + 1) * D) / nb);
      return { zFrom, zTo, depthFrom: oz + zFrom * vz, depthTo: oz + zTo * vz, counts: c, scores: scores(c) };
    });
    const result: EvalResult = {
      pred: predPath,
      truth: truthPath,
      shape: pred.shape,
      voxelSize: truth.voxelSize,
      unit: truth.unit,
      counts,
      scores: scores(counts),
      bands,
    };
    if (opts.clDice) {
      const cl = await opts.clDice(pred, truth);
      if (cl) result.clDice = cl;
    }
    if (opts.radiusBounds) {
      const image = opts.image ? await openVolume(opts.image) : undefined;
      try {
        if (image && image.shape.some((s, i) => s !== truth.shape[i]))
          throw new Error(`${opts.image} has shape [${image.shape.join(', ')}] but ${truthPath} has [${truth.shape.join(', ')}]`);
        result.radius = await recallByRadius(pred, truth, opts.radiusBounds, counts.fp, 64, image);
      } finally {
        await image?.close();
      }
    } else if (opts.image) throw new Error('eval: the scan (--image) is used for recall by radius, which is off');
    return result;
  } finally {
    await pred.close();
    await truth.close();
  }
}

/**
 * Centreline Dice (Shit et al., CVPR 2021), which rewards keeping thin roots connected:
 * topology precision |S(P) ∩ T| / |S(P)| and sensitivity |S(T) ∩ P| / |S(T)|, S the 3D skeleton.
 * Streamed block by block: each block is thinned with a halo and only its own part counted, an
 * approximation of thinning the whole volume (skeletons can differ within a few voxels of a seam).
 */
export async function centrelineDice(
  pred: VolumeSource,
  truth: VolumeSource,
  block = 64,
  halo = 12,
): Promise<NonNullable<EvalResult['clDice']>> {
  let sp = 0,
    spInT = 0,
    st = 0,
    stInP = 0;
  for (const b of iterateBlocks({
    shape: truth.shape as Vec3,
    blockShape: [block, block, block],
    halo: [halo, halo, halo],
    edge: 'shrink',
  })) {
    const [p, t] = await Promise.all([pred.readBox(b.read), truth.readBox(b.read)]);
    const pb = Uint8Array.from(p as ArrayLike<number>, (v) => (v > 0 ? 1 : 0));
    const tb = Uint8Array.from(t as ArrayLike<number>, (v) => (v > 0 ? 1 : 0));
    const local = writeInRead(b);
    const skP = skeletonizeBlock(pb, b.read.shape, local);
    const skT = skeletonizeBlock(tb, b.read.shape, local);
    const [wz, wy, wx] = b.write.shape;
    const [, ry, rx] = b.read.shape;
    for (let z = 0; z < wz; z++)
      for (let y = 0; y < wy; y++)
        for (let x = 0; x < wx; x++) {
          const i = (z * wy + y) * wx + x;
          const r = ((z + local.offset[0]) * ry + (y + local.offset[1])) * rx + (x + local.offset[2]);
          if (skP[i]) {
            sp++;
            if (tb[r]) spInT++;
          }
          if (skT[i]) {
            st++;
            if (pb[r]) stInP++;
          }
        }
  }
  const tprec = sp === 0 ? (st === 0 ? 1 : 0) : spInT / sp;
  const tsens = st === 0 ? (sp === 0 ? 1 : 0) : stInP / st;
  return {
    value: tprec + tsens === 0 ? 0 : (2 * tprec * tsens) / (tprec + tsens),
    topologyPrecision: tprec,
    topologySensitivity: tsens,
    note: `skeletons by topology-preserving thinning in ${block}³ blocks with a ${halo}-voxel halo`,
  };
}

/**
 * Recall per class of the truth's local root radius (bounds in voxels, ascending), streamed block
 * by block with the halo the classes need, so it agrees with classifying the whole volume at once.
 * `fp` is the scan's false-positive count, for RadiusClass.diceFrom. With `image` (the scan), each
 * class also counts the truth voxels that stand out from their soil (analysis/contrast).
 */
export async function recallByRadius(
  pred: VolumeSource,
  truth: VolumeSource,
  bounds: readonly number[],
  fp: number,
  block = 64,
  image?: VolumeSource,
): Promise<RadiusClass[]> {
  const halo = Math.max(thicknessHalo(bounds), image ? CONTRAST_HALO : 0);
  const tp = new Array<number>(bounds.length + 1).fill(0);
  const fn = new Array<number>(bounds.length + 1).fill(0);
  const vtp = new Array<number>(bounds.length + 1).fill(0);
  const vfn = new Array<number>(bounds.length + 1).fill(0);
  for (const b of iterateBlocks({
    shape: truth.shape as Vec3,
    blockShape: [block, block, block],
    halo: [halo, halo, halo],
    edge: 'shrink',
  })) {
    const t = await truth.readBox(b.read);
    const mask = Uint8Array.from(t as ArrayLike<number>, (v) => (v > 0 ? 1 : 0));
    // Most of a large scan holds no root: nothing there to count.
    if (!mask.includes(1)) continue;
    const p = await pred.readBox(b.read);
    const cls = radiusClasses(mask, b.read.shape, bounds);
    const shows = image ? visibleRoots(await image.readBox(b.read), mask, b.read.shape) : null;
    const [wz, wy, wx] = b.write.shape;
    const [, ry, rx] = b.read.shape;
    const o = writeInRead(b).offset;
    for (let z = 0; z < wz; z++)
      for (let y = 0; y < wy; y++)
        for (let x = 0; x < wx; x++) {
          const r = ((z + o[0]!) * ry + (y + o[1]!)) * rx + (x + o[2]!);
          const c = cls[r]!;
          if (c === 0) continue;
          const hit = p[r]! > 0;
          if (hit) tp[c - 1]!++;
          else fn[c - 1]!++;
          if (shows?.[r]) {
            if (hit) vtp[c - 1]!++;
            else vfn[c - 1]!++;
          }
        }
  }
  const edges = [0, ...bounds, null];
  return tp.map((t, k) => {
    const tpFrom = tp.slice(k).reduce((a, v) => a + v, 0);
    const fnFrom = fn.slice(k).reduce((a, v) => a + v, 0);
    return {
      from: edges[k]!,
      to: edges[k + 1] ?? null,
      truthVoxels: t + fn[k]!,
      tp: t,
      fn: fn[k]!,
      recall: scores({ tp: t, fp: 0, fn: fn[k]!, tn: 0 }).recall,
      diceFrom: scores({ tp: tpFrom, fp, fn: fnFrom, tn: 0 }).dice,
      ...(image
        ? {
            visible: {
              truthVoxels: vtp[k]! + vfn[k]!,
              tp: vtp[k]!,
              fn: vfn[k]!,
              recall: scores({ tp: vtp[k]!, fp: 0, fn: vfn[k]!, tn: 0 }).recall,
            },
          }
        : {}),
    };
  });
}

export function formatEvalTable(r: EvalResult): string {
  const f = (v: number): string => v.toFixed(4);
  const lines = [
    `pred  ${r.pred}`,
    `truth ${r.truth}`,
    `         Dice    IoU     prec.   recall`,
    `all      ${f(r.scores.dice)}  ${f(r.scores.iou)}  ${f(r.scores.precision)}  ${f(r.scores.recall)}`,
  ];
  if (r.clDice)
    lines.push(
      `clDice   ${f(r.clDice.value)} (topology precision ${f(r.clDice.topologyPrecision)}, sensitivity ${f(r.clDice.topologySensitivity)}; ${r.clDice.note})`,
    );
  if (r.radius) {
    const vis = r.radius.some((c) => c.visible);
    lines.push(`root radius (voxels)  truth voxels  recall   Dice without thinner roots${vis ? '  visible voxels  recall (visible)' : ''}`);
    for (const c of r.radius)
      lines.push(
        `${(c.to === null ? `≥ ${c.from}` : `${c.from}–${c.to}`).padEnd(21)} ${String(c.truthVoxels).padStart(12)}  ${f(c.recall)}   ${f(c.diceFrom)}` +
          (c.visible ? `                      ${String(c.visible.truthVoxels).padStart(14)}  ${f(c.visible.recall)}` : ''),
      );
    if (vis) lines.push('visible: the root differs from the soil around it by at least one standard deviation of that soil');
  }
  lines.push(`depth band (${r.unit || 'voxels'})`);
  for (const b of r.bands)
    lines.push(
      `${b.depthFrom.toFixed(2).padStart(8)}–${b.depthTo.toFixed(2).padEnd(8)} ${f(b.scores.dice)}  ${f(b.scores.iou)}  ${f(b.scores.precision)}  ${f(b.scores.recall)}  (${b.counts.tp + b.counts.fn} root voxels)`,
    );
  return lines.join('\n');
}
