import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname, join, resolve } from 'node:path';
import { packageRoot } from '../gpu/shader-source-node.js';
import { ANNOTATION_LABEL, AnnotationStore } from '../io/annotation-store.js';
import { isVolumeIoError } from '../io/errors.js';
import { openVolume } from '../io/open.js';
import { isUrl, openZarr, type ZarrSource } from '../io/zarr-source.js';
import { AnnotationApi } from './annotation-api.js';
import { newToken, TOKEN_HEADER } from './annotation-guard.js';
import { AnnotationJobs } from './annotation-jobs.js';
import { contentType, isRefusal, parseRange, type Refusal, resolveFileInside, splitRequestPath } from './static-files.js';
import type { StoreRef, ViewerConfig } from './viewer-config.js';

export type { StoreRef, ViewerConfig };

/**
 * `rhizoct view`: a small HTTP server for the browser viewer. It serves the built viewer bundle,
 * a /config.json naming what to show, and read-only the OME-Zarr store(s) and traits files it
 * was given, with byte ranges. Nothing else on disk is reachable: request paths are split and
 * checked segment by segment, then the real path (symbolic links resolved) must lie inside the
 * folder served. Bound to 127.0.0.1 unless told otherwise; on loopback the Host header must name
 * loopback too, so a web page cannot reach the data through DNS rebinding.
 */

export interface ViewServerOptions {
  /** Local OME-Zarr folder or http(s) URL of one. */
  scan: string;
  /** A segmentation (OME-Zarr with labels/roots) of the scan, shown as overlay and surface. */
  seg?: string;
  /** Folder (or URL) holding traits.json and/or roots.vtp written by `rhizoct traits`. */
  traits?: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Add Access-Control-Allow-Origin: * to the data, for viewers on other origins. */
  cors?: boolean;
  maxVoxels?: number;
  /** Where the built viewer is; dist/viewer under the package by default. */
  viewerDir?: string;
  /** Called for each request answered, for --verbose. */
  log?: (line: string) => void;
  /**
   * Let the page paint labels/annotations into the scan's store (default: on for a local
   * store, impossible for a URL); false serves everything read-only.
   */
  annotate?: boolean;
  /** Base model for Train and Segment (default models/default of the package); null turns the jobs off. */
  model?: string | null;
  /** Where Train saves models (default: a `models` folder beside the scan's store). */
  modelsDir?: string;
}

export interface ViewServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly config: ViewerConfig;
  /** One line per store describing it, for the command to print. */
  readonly summary: string[];
  readonly warnings: string[];
  /** The background jobs, when annotation and a model are on. */
  readonly jobs?: AnnotationJobs;
  close(): Promise<void>;
}

export class ViewerNotBuiltError extends Error {
  override readonly name = 'ViewerNotBuiltError';
}

const TRAITS_FILES = ['traits.json', 'roots.vtp'] as const;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function defaultViewerDir(): string {
  return join(packageRoot(), 'dist', 'viewer');
}

function describe(label: string, s: ZarrSource): string {
  const lv = s.levels.map((l) => l.shape.join('×')).join(', ');
  const vs = s.voxelSize.map((v) => Number(v.toPrecision(4))).join('×');
  return `${label} ${s.path}: ${s.dtype}, levels ${lv}, voxel ${vs} ${s.unit || '(unit not recorded)'}${s.labels.length ? `, labels ${s.labels.join(', ')}` : ''}`;
}

/** Mount points of local folders, by the URL prefix they answer under. */
interface Mount {
  prefix: string;
  root: string;
  /** When set, only these file names (one segment) are served. */
  only?: readonly string[];
  data: boolean;
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

export async function startViewServer(opts: ViewServerOptions): Promise<ViewServer> {
  const viewerDir = resolve(opts.viewerDir ?? defaultViewerDir());
  for (const f of ['index.html', 'main.js']) {
    if (!existsSync(join(viewerDir, f))) {
      throw new ViewerNotBuiltError(
        `${viewerDir}: the viewer is not built (${f} is missing); run \`npm run build:viewer\` in the rhizoct folder`,
      );
    }
  }
  const host = opts.host ?? '127.0.0.1';
  const summary: string[] = [];
  const warnings: string[] = [];
  const mounts: Mount[] = [];

  const scan = await openScanZarr(opts.scan);
  summary.push(describe('scan', scan));
  const storeRef = (path: string, src: ZarrSource, prefix: string): StoreRef => {
    const name = basename(path.replace(/\/+$/, '')) || path;
    const known = { name, zarrFormat: src.zarrFormat, labels: [...src.labels] };
    if (isUrl(path)) return { url: path.replace(/\/+$/, ''), ...known };
    mounts.push({ prefix, root: resolve(path), data: true });
    return { url: prefix.replace(/^\//, '').replace(/\/$/, ''), ...known };
  };
  const config: ViewerConfig = {
    title: basename(opts.scan.replace(/\/+$/, '')),
    scan: storeRef(opts.scan, scan, '/data/scan/'),
    ...(opts.maxVoxels ? { maxVoxels: opts.maxVoxels } : {}),
  };

  if (opts.seg !== undefined) {
    let seg: ZarrSource;
    try {
      seg = await openZarr(opts.seg, { label: 'roots' });
    } catch (err) {
      if (isVolumeIoError(err, 'NotFound'))
        throw new Error(`--seg ${opts.seg}: ${err.message.replace(`${opts.seg}: `, '')} (a segmentation holds its mask as labels/roots)`, {
          cause: err,
        });
      throw err;
    }
    summary.push(describe('segmentation', seg));
    const a = scan.levels[0]!;
    const b = seg.levels[0]!;
    const extent = (l: typeof a): number[] => l.shape.map((n, i) => n * l.voxelSize[i]!);
    const ea = extent(a);
    const eb = extent(b);
    if (ea.some((e, i) => Math.abs(e - eb[i]!) > 1e-3 * Math.max(Math.abs(e), 1e-12))) {
      warnings.push(
        `the segmentation covers ${eb.map((e) => Number(e.toPrecision(4))).join('×')} ${seg.unit} but the scan ${ea.map((e) => Number(e.toPrecision(4))).join('×')} ${scan.unit}; they may not be of the same scan`,
      );
    }
    config.seg = storeRef(opts.seg, seg, '/data/seg/');
  } else if (!scan.labels.includes('roots')) {
    warnings.push(`${opts.scan} has no labels/roots: no overlay or surface (give a segmentation with --seg)`);
  }

  if (opts.traits !== undefined) {
    const t = opts.traits.replace(/\/+$/, '');
    if (isUrl(t)) {
      config.traits = { json: `${t}/traits.json`, mesh: `${t}/roots.vtp` };
    } else {
      const st = await stat(t).catch(() => undefined);
      if (!st?.isDirectory()) throw new Error(`--traits ${t}: no such folder (expected the output folder of \`rhizoct traits\`)`);
      const have = TRAITS_FILES.filter((f) => existsSync(join(t, f)));
      if (have.length === 0) throw new Error(`--traits ${t}: holds neither ${TRAITS_FILES.join(' nor ')}`);
      mounts.push({ prefix: '/data/traits/', root: resolve(t), only: have, data: true });
      config.traits = {
        ...(have.includes('traits.json') ? { json: 'data/traits/traits.json' } : {}),
        ...(have.includes('roots.vtp') ? { mesh: 'data/traits/roots.vtp' } : {}),
      };
      summary.push(`traits ${t}: ${have.join(', ')}`);
    }
  }
  let api: AnnotationApi | undefined;
  let jobs: AnnotationJobs | undefined;
  const annotate = opts.annotate ?? !isUrl(opts.scan);
  if (annotate) {
    if (isUrl(opts.scan))
      throw new Error(`${opts.scan}: annotations are written into the scan's store, which must be a local folder (or pass --read-only)`);
    const store = await AnnotationStore.open(opts.scan);
    const token = newToken();
    if (opts.model !== null) {
      const baseModel = resolve(opts.model ?? join(packageRoot(), 'models', 'default'));
      if (!existsSync(join(baseModel, 'card.json')))
        throw new Error(`--model ${baseModel}: no card.json there (a model folder holds model.safetensors and card.json)`);
      const modelsDir = resolve(opts.modelsDir ?? join(dirname(resolve(opts.scan)), 'models'));
      jobs = new AnnotationJobs({ scan: resolve(opts.scan), baseModel, modelsDir, ...(opts.log ? { log: opts.log } : {}) });
    }
    api = new AnnotationApi(store, token, jobs);
    config.annotate = {
      token,
      header: TOKEN_HEADER,
      label: ANNOTATION_LABEL,
      exists: await store.exists(),
      jobs: jobs !== undefined,
      ...(jobs ? { baseModel: jobs.opts.baseModel, modelsDir: jobs.modelsDir } : {}),
    };
    summary.push(
      `annotations ${join(opts.scan, 'labels', ANNOTATION_LABEL)}: ${config.annotate.exists ? 'found, painting adds to them' : 'none yet, created on the first stroke'}${jobs ? `; models saved under ${jobs.modelsDir}` : ''}`,
    );
  }
  mounts.push({ prefix: '/', root: viewerDir, data: false });

  // Whether the annotation label exists changes with the first stroke: asked afresh each time.
  const configBody = async (): Promise<Buffer> => {
    if (config.annotate && api && !config.annotate.exists) config.annotate.exists = await api.store.exists();
    return Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
  };
  const loopbackOnly = LOOPBACK.has(host);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
    const mount = mounts.find((m) => path.startsWith(m.prefix));
    // With --cors, every answer about data carries the headers, refusals too: a page elsewhere
    // must see a missing key as 404 (the Zarr fill value), not as a network error.
    const cors: Record<string, string> =
      opts.cors && mount?.data
        ? {
            'Access-Control-Allow-Origin': '*',
            'Access-Control-Allow-Headers': 'Range',
            'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges',
          }
        : {};
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...cors, ...headers });
      res.end(req.method === 'HEAD' ? undefined : `${body}\n`);
    };
    const refuse = (r: Refusal): void => send(r.status, r.status === 404 ? 'not found' : r.status === 400 ? 'bad request' : 'forbidden');
    if (loopbackOnly) {
      const h = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (!LOOPBACK.has(h)) return send(403, 'forbidden: unexpected Host header');
    }
    if (req.method === 'OPTIONS' && opts.cors) {
      res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS' });
      res.end();
      return;
    }
    if (path.startsWith('/api/')) {
      if (!api) return send(404, 'not found: this viewer is read-only (started with --read-only, or the scan is a URL)');
      return api.handle(req, res, path);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed', { Allow: 'GET, HEAD' });
    if (!path.startsWith('/')) return send(400, 'bad request');
    if (path === '/config.json') {
      const body = await configBody();
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': String(body.length),
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    let served = mount;
    const ov = /^\/data\/overlay\/(\d+)\//.exec(path);
    if (ov && jobs) {
      const root = jobs.overlayRoot(Number(ov[1]));
      if (!root) return send(404, 'not found: that segmentation has been replaced');
      served = { prefix: ov[0], root, data: true };
    }
    if (!served) return send(404, 'not found');
    const rel = path === '/' ? 'index.html' : path.slice(served.prefix.length);
    const segments = splitRequestPath(rel);
    if (isRefusal(segments)) return refuse(segments);
    if (segments.length === 0) return send(404, 'not found');
    if (served.only && (segments.length !== 1 || !served.only.includes(segments[0]!))) return send(404, 'not found');
    const found = await resolveFileInside(served.root, segments);
    if (isRefusal(found)) return refuse(found);
    const headers: Record<string, string> = {
      'Content-Type': contentType(found.file),
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'no-cache',
      'Last-Modified': found.mtime.toUTCString(),
      'X-Content-Type-Options': 'nosniff',
      ...cors,
    };
    if (!served.data && found.file.endsWith('.html')) {
      // The page's own code only; data may come from other origins (a remote Zarr). numcodecs'
      // Emscripten glue for blosc and zstd evaluates code, hence 'unsafe-eval'.
      headers['Content-Security-Policy'] =
        "default-src 'self'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src *; worker-src 'self' blob:";
    }
    const range = parseRange(req.headers.range, found.size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${found.size}` });
      res.end();
      return;
    }
    const [start, end] = range ? [range.start, range.end] : [0, found.size - 1];
    const length = Math.max(0, end - start + 1);
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${found.size}`;
    headers['Content-Length'] = String(length);
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    const stream = createReadStream(found.file, { start, end });
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  };

  const server: Server = createServer((req, res) => {
    res.on('finish', () => opts.log?.(`${req.method} ${req.url} ${res.statusCode}`));
    handle(req, res).catch((err: unknown) => {
      opts.log?.(`error serving ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end();
    });
  });
  await new Promise<void>((ok, fail) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      fail(err.code === 'EADDRINUSE' ? new Error(`port ${opts.port} on ${host} is in use; pick another with --port`, { cause: err }) : err);
    };
    server.once('error', onError);
    server.listen(opts.port, host, () => {
      server.off('error', onError);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${port}/`,
    host,
    port,
    config,
    summary,
    warnings,
    ...(jobs ? { jobs } : {}),
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** Opens a URL in the desktop's browser; failures are reported, never thrown. */
export function openInBrowser(url: string, onError: (msg: string) => void): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args as string[], { detached: true, stdio: 'ignore' });
    child.on('error', (e) => onError(`could not open a browser (${cmd}: ${e.message}); open ${url} yourself`));
    child.unref();
  } catch (e) {
    onError(`could not open a browser (${(e as Error).message}); open ${url} yourself`);
  }
}
