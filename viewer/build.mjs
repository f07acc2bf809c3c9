// Builds the browser viewer into dist/viewer/ (index.html, main.js, style.css).
// `node viewer/build.mjs [--outdir DIR] [--dev]`; --dev skips minification.
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const at = args.indexOf('--outdir');
const outdir = resolve(at >= 0 ? args[at + 1] : join(here, '..', 'dist', 'viewer'));
const dev = args.includes('--dev');

// Built beside the output and swapped in, so a page loading from a running server never reads
// a half-written main.js (tests serve dist/viewer while others may build it).
const staging = `${outdir}.build-${process.pid}`;
await rm(staging, { recursive: true, force: true });
await mkdir(staging, { recursive: true });
const result = await esbuild.build({
  entryPoints: [join(here, 'src', 'main.ts')],
  outdir: staging,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  // Codecs (blosc, zstd: WebAssembly, 1.3 MiB) load only when a store uses them.
  splitting: true,
  bundle: true,
  format: 'esm',
  // 'browser' makes any import of a Node module (fs, path, …) a build error.
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  minify: !dev,
  sourcemap: true,
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
  // vtk.js's XML reader imports xmlbuilder2, which needs Node; a DOMParser shim replaces it.
  alias: { xmlbuilder2: join(here, 'shims', 'xmlbuilder2.ts') },
});
for (const f of ['index.html', 'style.css']) await copyFile(join(here, f), join(staging, f));
const old = `${outdir}.old-${process.pid}`;
await rename(outdir, old).catch((e) => {
  if (e.code !== 'ENOENT') throw e;
});
await rename(staging, outdir);
await rm(old, { recursive: true, force: true });
const bytes = Object.values(result.metafile.outputs).reduce((a, o) => a + o.bytes, 0);
console.log(`viewer: built ${outdir} (${(bytes / 2 ** 20).toFixed(1)} MiB with source map)`);
