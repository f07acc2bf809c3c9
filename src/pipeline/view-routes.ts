import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { contentType, isRefusal, parseRange, type Refusal, resolveFileInside, splitRequestPath } from './static-files.js';
import type { Mount, ViewStores } from './view-stores.js';

/**
 * The routes of `rhizoct view`, in the order a request meets them: the Host check (loopback
 * only), CORS preflight, the /api/ routes (annotation), /config.json, then files: a job's
 * overlay under /data/overlay/N/, else the first mount whose prefix the path starts with.
 */

export interface ViewRoutes {
  stores: ViewStores;
  /** Add CORS headers to the answers about data. */
  cors: boolean;
  /** Answer only requests whose Host header names loopback. */
  loopbackOnly: boolean;
}

export const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** The page's own code only; data may come from other origins (a remote Zarr). numcodecs'
 * Emscripten glue for blosc and zstd evaluates code, hence 'unsafe-eval'. */
const PAGE_CSP =
  "default-src 'self'; script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src *; worker-src 'self' blob:";

/** Plain-text answers and refusals, carrying the CORS headers when the request is about data. */
class Reply {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly cors: Record<string, string>,
  ) {}

  send(status: number, body: string, headers: Record<string, string> = {}): void {
    this.res.writeHead(status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      ...this.cors,
      ...headers,
    });
    this.res.end(this.req.method === 'HEAD' ? undefined : `${body}\n`);
  }

  refuse(r: Refusal): void {
    this.send(r.status, r.status === 404 ? 'not found' : r.status === 400 ? 'bad request' : 'forbidden');
  }
}

/** Answers one request of the viewer. */
export async function handleViewRequest(routes: ViewRoutes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { api, mounts } = routes.stores;
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const path = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const mount = mounts.find((m) => path.startsWith(m.prefix));
  const reply = new Reply(req, res, routes.cors && mount?.data ? corsHeaders() : {});
  if (routes.loopbackOnly) {
    const h = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!LOOPBACK.has(h)) return reply.send(403, 'forbidden: unexpected Host header');
  }
  if (req.method === 'OPTIONS' && routes.cors) {
    res.writeHead(204, { ...reply.cors, 'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS' });
    res.end();
    return;
  }
  if (path.startsWith('/api/')) {
    if (!api) return reply.send(404, 'not found: this viewer is read-only (started with --read-only, or the scan is a URL)');
    return api.handle(req, res, path);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply.send(405, 'method not allowed', { Allow: 'GET, HEAD' });
  if (!path.startsWith('/')) return reply.send(400, 'bad request');
  if (path === '/config.json') return serveConfig(routes.stores, req, res);
  let served = mount;
  const ov = /^\/data\/overlay\/(\d+)\//.exec(path);
  if (ov && routes.stores.jobs) {
    const root = routes.stores.jobs.overlayRoot(Number(ov[1]));
    if (!root) return reply.send(404, 'not found: that segmentation has been replaced');
    served = { prefix: ov[0], root, data: true };
  }
  if (!served) return reply.send(404, 'not found');
  return serveFile(reply, served, path);
}

/**
 * With --cors, every answer about data carries these, refusals too: a page elsewhere must see a
 * missing key as 404 (the Zarr fill value), not as a network error.
 */
function corsHeaders(): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Range',
    'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges',
  };
}

/** /config.json. Whether the annotation label exists changes with the first stroke: asked afresh each time. */
async function serveConfig(stores: ViewStores, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { config, api } = stores;
  if (config.annotate && api && !config.annotate.exists) config.annotate.exists = await api.store.exists();
  const body = Buffer.from(`${JSON.stringify(config, null, 2)}\n`);
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Content-Length': String(body.length),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A file under `served` (checked segment by segment, then by its real path), whole or one byte range. */
async function serveFile(reply: Reply, served: Mount, path: string): Promise<void> {
  const { req, res } = reply;
  const rel = path === '/' ? 'index.html' : path.slice(served.prefix.length);
  const segments = splitRequestPath(rel);
  if (isRefusal(segments)) return reply.refuse(segments);
  if (segments.length === 0) return reply.send(404, 'not found');
  if (served.only && (segments.length !== 1 || !served.only.includes(segments[0]!))) return reply.send(404, 'not found');
  const found = await resolveFileInside(served.root, segments);
  if (isRefusal(found)) return reply.refuse(found);
  const headers: Record<string, string> = {
    'Content-Type': contentType(found.file),
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-cache',
    'Last-Modified': found.mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
    ...reply.cors,
  };
  if (!served.data && found.file.endsWith('.html')) headers['Content-Security-Policy'] = PAGE_CSP;
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
}
