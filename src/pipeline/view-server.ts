import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { packageRoot } from '../gpu/shader-source-node.js';
import type { AnnotationJobs } from './annotation-jobs.js';
import { handleViewRequest, LOOPBACK } from './view-routes.js';
import { openViewStores } from './view-stores.js';
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

export function defaultViewerDir(): string {
  return join(packageRoot(), 'dist', 'viewer');
}

/**
 * The phases: check the viewer is built, open what it shows (view-stores.ts), listen with the
 * routes of view-routes.ts, and hand back the address and a way to close.
 */
export async function startViewServer(opts: ViewServerOptions): Promise<ViewServer> {
  const viewerDir = resolve(opts.viewerDir ?? defaultViewerDir());
  checkViewerBuilt(viewerDir);
  const host = opts.host ?? '127.0.0.1';
  const stores = await openViewStores(opts, viewerDir);
  const routes = { stores, cors: opts.cors === true, loopbackOnly: LOOPBACK.has(host) };
  const server: Server = createServer((req, res) => {
    res.on('finish', () => opts.log?.(`${req.method} ${req.url} ${res.statusCode}`));
    handleViewRequest(routes, req, res).catch((err: unknown) => {
      opts.log?.(`error serving ${req.url}: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end();
    });
  });
  await listen(server, opts.port, host);
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const { config, summary, warnings, jobs } = stores;
  return {
    url: `http://${urlHost}:${port}/`,
    host,
    port,
    config,
    summary,
    warnings,
    ...(jobs ? { jobs } : {}),
    close: async () => {
      await jobs?.close();
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      });
    },
  };
}

function checkViewerBuilt(viewerDir: string): void {
  for (const f of ['index.html', 'main.js']) {
    if (!existsSync(join(viewerDir, f))) {
      throw new ViewerNotBuiltError(
        `${viewerDir}: the viewer is not built (${f} is missing); run \`npm run build:viewer\` in the rhizoct folder`,
      );
    }
  }
}

/** Listens on `port` of `host`; a port in use is said so, with the flag that picks another. */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((ok, fail) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      fail(err.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is in use; pick another with --port`, { cause: err }) : err);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      ok();
    });
  });
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
