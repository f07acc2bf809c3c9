import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { packageRoot } from '../gpu/shader-source-node.js';
import { ANNOTATION_LABEL, AnnotationStore } from '../io/annotation-store.js';
import { isVolumeIoError } from '../io/errors.js';
import { openVolume } from '../io/open.js';
import { isUrl, openZarr, type ZarrSource } from '../io/zarr-source.js';
import { AnnotationApi } from './annotation-api.js';
import { newToken, TOKEN_HEADER } from './annotation-guard.js';
import { AnnotationJobs } from './annotation-jobs.js';
import type { StoreRef, ViewerConfig } from './viewer-config.js';
import type { ViewServerOptions } from './view-server.js';

/**
 * What `rhizoct view` shows, opened and checked before the server listens: the scan, its
 * segmentation, the traits files and, when painting is on, the annotation store and the jobs.
 * The result is the page's /config.json, the folders mounted under URL prefixes, and the lines
 * the command prints.
 */

/** A local folder served under a URL prefix. */
export interface Mount {
  prefix: string;
  root: string;
  /** When set, only these file names (one segment) are served. */
  only?: readonly string[];
  data: boolean;
}

export interface ViewStores {
  config: ViewerConfig;
  /** Matched in order: the data prefixes first, the viewer's own '/' last. */
  mounts: Mount[];
  summary: string[];
  warnings: string[];
  /** The /api/ routes, when annotation is on. */
  api?: AnnotationApi;
  /** The background jobs, when annotation and a model are on. */
  jobs?: AnnotationJobs;
}

const TRAITS_FILES = ['traits.json', 'roots.vtp'] as const;

/** Opens every store `opts` names and mounts the local ones; the viewer bundle in `viewerDir` last. */
export async function openViewStores(opts: ViewServerOptions, viewerDir: string): Promise<ViewStores> {
  const mounts: Mount[] = [];
  const scan = await openScanZarr(opts.scan);
  const config: ViewerConfig = {
    title: basename(opts.scan.replace(/\/+$/, '')),
    scan: storeRef(mounts, opts.scan, scan, '/data/scan/'),
    ...(opts.maxVoxels ? { maxVoxels: opts.maxVoxels } : {}),
  };
  const out: ViewStores = { config, mounts, summary: [describe('scan', scan)], warnings: [] };
  if (opts.seg !== undefined) await addSegmentation(out, opts.seg, scan);
  else if (!scan.labels.includes('roots'))
    out.warnings.push(`${opts.scan} has no labels/roots: no overlay or surface (give a segmentation with --seg)`);
  if (opts.traits !== undefined) await addTraits(out, opts.traits);
  if (opts.annotate ?? !isUrl(opts.scan)) await addAnnotation(out, opts);
  out.mounts.push({ prefix: '/', root: viewerDir, data: false });
  return out;
}

function describe(label: string, s: ZarrSource): string {
  const lv = s.levels.map((l) => l.shape.join('×')).join(', ');
  const vs = s.voxelSize.map((v) => Number(v.toPrecision(4))).join('×');
  return `${label} ${s.path}: ${s.dtype}, levels ${lv}, voxel ${vs} ${s.unit || '(unit not recorded)'}${s.labels.length ? `, labels ${s.labels.join(', ')}` : ''}`;
}

/** The page's reference to a store: its URL as given, or a local folder mounted under `prefix`. */
function storeRef(mounts: Mount[], path: string, src: ZarrSource, prefix: string): StoreRef {
  const name = basename(path.replace(/\/+$/, '')) || path;
  const known = { name, zarrFormat: src.zarrFormat, labels: [...src.labels] };
  if (isUrl(path)) return { url: path.replace(/\/+$/, ''), ...known };
  mounts.push({ prefix, root: resolve(path), data: true });
  return { url: prefix.replace(/^\//, '').replace(/\/$/, ''), ...known };
}

/**
 * Opens the scan to show, which must be an OME-Zarr (the viewer reads its pyramid); any other
 * scan rhizoct reads gets a one-line error naming the command that makes one.
 */
async function openScanZarr(path: string): Promise<ZarrSource> {
  try {
    return await openZarr(path);
  } catch (err) {
    if (isUrl(path) || !isVolumeIoError(err, 'NotFound')) throw err;
    const other = await openVolume(path).catch(() => undefined);
    if (!other) throw err;
    await other.close();
    const name = basename(path.replace(/\/+$/, '')).replace(/\.(nii\.gz|nii|nrrd|nhdr|mha|mhd|vgi|xtekvolume|vol|tiff?|raw)$/i, '');
    throw new Error(
      `${path} is ${other.format} (${other.shape.join('×')}), not an OME-Zarr; rhizoct view shows OME-Zarr pyramids: make one with \`rhizoct convert ${path} ${name}.zarr\` and view that`,
      { cause: err },
    );
  }
}

/** --seg: opens the segmentation (labels/roots) and warns when it does not span the scan's extent. */
async function addSegmentation(out: ViewStores, path: string, scan: ZarrSource): Promise<void> {
  let seg: ZarrSource;
  try {
    seg = await openZarr(path, { label: 'roots' });
  } catch (err) {
    if (isVolumeIoError(err, 'NotFound'))
      throw new Error(`--seg ${path}: ${err.message.replace(`${path}: `, '')} (a segmentation holds its mask as labels/roots)`, {
        cause: err,
      });
    throw err;
  }
  out.summary.push(describe('segmentation', seg));
  const a = scan.levels[0]!;
  const b = seg.levels[0]!;
  const extent = (l: typeof a): number[] => l.shape.map((n, i) => n * l.voxelSize[i]!);
  const ea = extent(a);
  const eb = extent(b);
  if (ea.some((e, i) => Math.abs(e - eb[i]!) > 1e-3 * Math.max(Math.abs(e), 1e-12))) {
    out.warnings.push(
      `the segmentation covers ${eb.map((e) => Number(e.toPrecision(4))).join('×')} ${seg.unit} but the scan ${ea.map((e) => Number(e.toPrecision(4))).join('×')} ${scan.unit}; they may not be of the same scan`,
    );
  }
  out.config.seg = storeRef(out.mounts, path, seg, '/data/seg/');
}

/** --traits: a URL is referred to as it is; a local folder is mounted with only its traits files. */
async function addTraits(out: ViewStores, folder: string): Promise<void> {
  const t = folder.replace(/\/+$/, '');
  if (isUrl(t)) {
    out.config.traits = { json: `${t}/traits.json`, mesh: `${t}/roots.vtp` };
    return;
  }
  const st = await stat(t).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`--traits ${t}: no such folder (expected the output folder of \`rhizoct traits\`)`);
  const have = TRAITS_FILES.filter((f) => existsSync(join(t, f)));
  if (have.length === 0) throw new Error(`--traits ${t}: holds neither ${TRAITS_FILES.join(' nor ')}`);
  out.mounts.push({ prefix: '/data/traits/', root: resolve(t), only: have, data: true });
  out.config.traits = {
    ...(have.includes('traits.json') ? { json: 'data/traits/traits.json' } : {}),
    ...(have.includes('roots.vtp') ? { mesh: 'data/traits/roots.vtp' } : {}),
  };
  out.summary.push(`traits ${t}: ${have.join(', ')}`);
}

/** Painting: opens the scan's annotation store, a fresh token, and (unless the model is null) the Train/Segment jobs. */
async function addAnnotation(out: ViewStores, opts: ViewServerOptions): Promise<void> {
  if (isUrl(opts.scan))
    throw new Error(`${opts.scan}: annotations are written into the scan's store, which must be a local folder (or pass --read-only)`);
  const store = await AnnotationStore.open(opts.scan);
  const token = newToken();
  let jobs: AnnotationJobs | undefined;
  if (opts.model !== null) {
    const baseModel = resolve(opts.model ?? join(packageRoot(), 'models', 'default'));
    if (!existsSync(join(baseModel, 'card.json')))
      throw new Error(`--model ${baseModel}: no card.json there (a model folder holds model.safetensors and card.json)`);
    const modelsDir = resolve(opts.modelsDir ?? join(dirname(resolve(opts.scan)), 'models'));
    jobs = new AnnotationJobs({ scan: resolve(opts.scan), baseModel, modelsDir, ...(opts.log ? { log: opts.log } : {}) });
  }
  out.api = new AnnotationApi(store, token, jobs);
  if (jobs) out.jobs = jobs;
  const annotate = {
    token,
    header: TOKEN_HEADER,
    label: ANNOTATION_LABEL,
    exists: await store.exists(),
    jobs: jobs !== undefined,
    ...(jobs ? { baseModel: jobs.opts.baseModel, modelsDir: jobs.modelsDir } : {}),
  };
  out.config.annotate = annotate;
  out.summary.push(
    `annotations ${join(opts.scan, 'labels', ANNOTATION_LABEL)}: ${annotate.exists ? 'found, painting adds to them' : 'none yet, created on the first stroke'}${jobs ? `; models saved under ${jobs.modelsDir}` : ''}`,
  );
}
