import type { Command } from 'commander';
import { type VolumeInfo, volumeInfo } from '../../pipeline/info.js';
import { createProgress, formatCount } from '../../pipeline/progress.js';
import { integer } from '../parse.js';
import type { RawSpec } from '../../io/scanner-raw.js';
import { RAW_FLAGS, RAW_HELP, rawOption, useRawLayout } from '../raw.js';

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : Number(v.toPrecision(6)).toString();
}

/** The human-readable report `rhizoct info` prints. */
export function formatInfo(i: VolumeInfo): string {
  const lines: string[] = [];
  const row = (k: string, v: string): void => {
    lines.push(`${k.padEnd(11)} ${v}`);
  };
  const [nz, ny, nx] = i.shape;
  row('path', i.path);
  row('format', `${i.format}${i.zarrFormat ? ` (Zarr v${i.zarrFormat}${i.ngffVersion ? `, OME-NGFF ${i.ngffVersion}` : ''})` : ''}`);
  row('shape', `${nz} × ${ny} × ${nx} (z × y × x), ${formatCount(nz * ny * nx)} voxels`);
  row('dtype', i.dtype);
  row('voxel size', `${i.voxelSize.map(num).join(' × ')} ${i.unit || '(unit not recorded)'}`);
  row('origin', `${i.origin.map(num).join(', ')}${i.unit ? ` ${i.unit}` : ''}`);
  if (i.chunkShape) row('chunks', i.chunkShape.join(' × '));
  if (i.header) {
    Object.entries(i.header).forEach(([k, v], n) => row(n === 0 ? 'header' : '', `${k}: ${v}`));
  }
  for (const [n, note] of (i.notes ?? []).entries()) row(n === 0 ? 'read as' : '', note);
  if (i.levels) {
    for (const l of i.levels) {
      row(
        l.level === 0 ? 'levels' : '',
        `${l.level}: ${l.shape.join('×')}  chunks ${l.chunkShape.join('×')}  voxel ${l.voxelSize.map(num).join('×')}  ${l.compression}`,
      );
    }
  }
  if (i.labels && i.labels.length) row('labels', i.labels.join(', '));
  const s = i.stats;
  if (s) {
    row(
      'values',
      `min ${num(s.min)}  max ${num(s.max)}  mean ${num(s.mean)}  std ${num(s.std)}${i.statsLevel ? `  (level ${i.statsLevel})` : ''}`,
    );
    row('percentiles', `1% ${num(s.p1)}  50% ${num(s.p50)}  99% ${num(s.p99)}`);
    const peak = Math.max(1, ...s.histogram.counts);
    s.histogram.counts.forEach((c, k) => {
      const lo = num(s.histogram.edges[k]!);
      const hi = num(s.histogram.edges[k + 1]!);
      const bar = '#'.repeat(Math.round((30 * c) / peak));
      row(k === 0 ? 'histogram' : '', `[${lo}, ${hi})`.padEnd(22) + ` ${bar.padEnd(30)} ${formatCount(c)}`);
    });
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('info')
    .description('describe a volume: format, shape, type, voxel size, chunks, pyramid levels and its values (streamed, never loaded whole)')
    .argument(
      '<path>',
      '.nii/.nii.gz, .nrrd/.nhdr, .mha/.mhd, Nikon .xtekVolume/.vgi (or its .vol), folder of .tif/.png/.bmp slices (SkyScan: with its .log), .tif, .zarr or an http(s) URL of an OME-Zarr',
    )
    .option('--json', 'print JSON')
    .option('--level <n>', 'compute the value statistics on this pyramid level (faster)', integer(0, 30))
    .option('--no-stats', 'metadata only; do not read the voxels')
    .option('--bins <n>', 'histogram bins', integer(1, 100_000), 16)
    .option(RAW_FLAGS, RAW_HELP, rawOption)
    .option('-q, --quiet', 'no progress bar')
    .action(async (path: string, f: { json?: boolean; level?: number; stats: boolean; bins: number; quiet?: boolean; raw?: RawSpec }) => {
      await useRawLayout(f.raw, [path]);
      const info = await volumeInfo(path, {
        ...(f.level !== undefined ? { level: f.level } : {}),
        noStats: !f.stats,
        bins: f.bins,
        progress: createProgress({ quiet: (f.quiet ?? false) || (f.json ?? false) }),
      });
      console.log(f.json ? JSON.stringify(info, null, 2) : formatInfo(info));
    });
}
