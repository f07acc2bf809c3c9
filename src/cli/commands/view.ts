import type { Command } from 'commander';
import { openInBrowser, startViewServer } from '../../pipeline/view-server.js';
import { integer } from '../parse.js';

interface ViewFlags {
  seg?: string;
  traits?: string;
  port: number;
  host: string;
  open?: boolean;
  cors?: boolean;
  maxVoxels?: number;
  verbose?: boolean;
  readOnly?: boolean;
  model?: string;
  models?: string;
}

export function register(program: Command): void {
  program
    .command('view')
    .description(
      'look at a scan, its segmentation and traits in the browser (vtk.js): volume rendering, three slices with the mask overlaid, the root surface; ' +
        'for a local store, paint root / not root corrections on full-resolution slices into labels/annotations of the store, fine-tune a model on them (Train) and segment again (Segment)',
    )
    .argument('<path>', 'OME-Zarr (a scan from convert/synth, or a segmentation) folder, or an http(s) URL of one')
    .option('--seg <path>', 'segmentation of the scan (OME-Zarr with labels/roots, as `rhizoct segment` writes)')
    .option('--traits <dir>', 'output folder of `rhizoct traits` (traits.json, roots.vtp)')
    .option('--port <n>', 'port to listen on, 0 (any free port) to 65535', integer(0, 65535), 8765)
    .option('--host <addr>', 'address to bind; the default serves this computer only, 0.0.0.0 exposes it to the network', '127.0.0.1')
    .option('--open', 'open the page in the default browser')
    .option('--cors', 'let pages from other origins read the data (Access-Control-Allow-Origin: *)')
    .option(
      '--max-voxels <n>',
      'largest volume the page loads into the GPU, in voxels (default: 2^27, half that for 16-bit data)',
      integer(1),
    )
    .option('--read-only', 'no painting, no Train or Segment: serve everything read-only (the default for an http(s) URL)')
    .option('--model <dir>', 'base model for Train and Segment (default: models/default of rhizoct)')
    .option('--models <dir>', "folder Train saves the models you name in (default: `models` beside the scan's store)")
    .option('--verbose', 'print each request')
    .action(async (path: string, f: ViewFlags) => {
      const server = await startViewServer({
        scan: path,
        port: f.port,
        host: f.host,
        ...(f.seg !== undefined ? { seg: f.seg } : {}),
        ...(f.traits !== undefined ? { traits: f.traits } : {}),
        ...(f.cors ? { cors: true } : {}),
        ...(f.maxVoxels !== undefined ? { maxVoxels: f.maxVoxels } : {}),
        ...(f.verbose ? { log: (line: string) => console.error(line) } : {}),
        ...(f.readOnly ? { annotate: false } : {}),
        ...(f.model !== undefined ? { model: f.model } : {}),
        ...(f.models !== undefined ? { modelsDir: f.models } : {}),
      });
      for (const line of server.summary) console.log(line);
      for (const w of server.warnings) console.error(`rhizoct view: warning: ${w}`);
      if (f.host !== '127.0.0.1' && f.host !== 'localhost' && f.host !== '::1') {
        console.error(
          `rhizoct view: warning: listening on ${f.host}: anyone who can reach this address can read the data${server.config.annotate ? " (writes still need this run's token, which only the page gets)" : ''}`,
        );
      }
      console.log(`viewer at ${server.url}  (Ctrl+C to stop)`);
      if (f.open) openInBrowser(server.url, (msg) => console.error(`rhizoct view: ${msg}`));
      const stop = (): void => {
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
