import { type Command, InvalidArgumentError, Option } from 'commander';
import { MESH_FORMATS, type MeshFormat } from '../../io/mesh-files.js';
import { measureTraitsBatch, type TraitsReport } from '../../pipeline/traits.js';
import { createProgress } from '../../pipeline/progress.js';
import type { RawSpec } from '../../io/scanner-raw.js';
import { integer, number } from '../parse.js';
import { RAW_FLAGS, RAW_HELP, rawOption, useRawLayout } from '../raw.js';

function meshList(text: string): MeshFormat[] {
  if (text === 'none') return [];
  const parts = text.split(',').map((s) => s.trim().toLowerCase());
  for (const p of parts)
    if (!(MESH_FORMATS as readonly string[]).includes(p))
      throw new InvalidArgumentError(`mesh formats are ${MESH_FORMATS.join(', ')} or none`);
  return parts as MeshFormat[];
}

function edges(text: string): number[] {
  const v = text.split(',').map(Number);
  if (v.length < 2 || v.some((x) => !Number.isFinite(x) || x < 0) || v.some((x, i) => i > 0 && x <= v[i - 1]!)) {
    throw new InvalidArgumentError('must be increasing numbers ≥ 0, e.g. 0,0.2,0.5,1,2');
  }
  return v;
}

interface TraitsFlags {
  out: string;
  label: string;
  level?: number;
  threshold?: number;
  minVoxels: number;
  block: number;
  halo: number;
  mesh: MeshFormat[];
  smooth: number;
  decimate: number;
  rawMesh?: boolean;
  depthBand?: number;
  diameterBins?: number[];
  json?: boolean;
  quiet?: boolean;
  raw?: RawSpec;
}

function num(v: number | null, digits = 4): string {
  return v === null ? '–' : Number(v.toPrecision(digits)).toString();
}

/** A short human summary of one scan's traits. */
export function formatTraits(r: TraitsReport): string {
  const t = r.traits;
  const u = t.unit;
  const lines = [
    `${r.scan}  (${r.input}, ${r.source})`,
    `  length ${num(t.totalLength)} ${u}  volume ${num(t.volume)} ${u}³  surface ${num(t.surfaceArea)} ${u}²`,
    `  diameter mean ${num(t.meanDiameter)}  median ${num(t.medianDiameter)}  max ${num(t.maxDiameter)} ${u}`,
    `  tips ${t.tips} (+${t.cutEnds} cut by the scan)  branch points ${t.branchPoints}  loops ${t.loops}  roots ${t.roots} (${t.lateralRoots} laterals)`,
    `  depth ${num(t.maxDepth)} ${u}  width ${num(t.maxWidth)} ${u}  hull ${num(t.convexHullVolume)} ${u}³  solidity ${num(t.solidity, 3)}  branching angle ${num(t.branchingAngleMedian, 3)}°`,
    `  components ${r.components.kept} kept, ${r.components.dropped} dropped (${r.components.droppedVoxels} voxels under ${r.components.minVoxels})`,
  ];
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('traits')
    .description(
      'measure root traits from segmentations (streamed block by block): traits.json/.csv, RSML and a surface mesh (VTP, STL, PLY)',
    )
    .argument('<inputs...>', 'segmentations: OME-Zarr from `rhizoct segment` (labels/roots is read) or any mask volume rhizoct reads')
    .requiredOption('-o, --out <dir>', 'output folder; with several inputs each scan goes in a subfolder and traits.csv has a row per scan')
    .option('--label <name>', 'label image to measure', 'roots')
    .option('--level <n>', 'pyramid level to measure (0 = full resolution)', integer(0, 30))
    .option('--threshold <t>', 'voxels ≥ t are root (for probability or non-binary images)', number())
    .option('--min-voxels <n>', 'components smaller than this are specks: dropped and reported', integer(1), 64)
    .option('--block <n>', 'block edge in voxels (rounded to whole chunks); memory grows with its cube', integer(16, 4096), 128)
    .option('--halo <n>', 'context around each block; should exceed the thickest root radius in voxels', integer(1, 1024), 16)
    .addOption(
      new Option('--mesh <formats>', `mesh formats: comma-separated ${MESH_FORMATS.join(', ')}, or none`)
        .argParser(meshList)
        .default([...MESH_FORMATS]),
    )
    .option('--smooth <passes>', 'Taubin smoothing passes on the mesh', integer(0, 10_000), 0)
    .option('--decimate <voxels>', 'decimate the mesh by merging vertices within cubes of this many voxels', integer(0, 1024), 0)
    .option(
      '--raw-mesh',
      "keep marching cubes' mid-edge vertices (by default they move ≤ 0.35 voxel so the mesh encloses the mask's volume)",
    )
    .option(
      '--depth-band <length>',
      'depth band thickness for root length density, in mm (voxels when the scan has no voxel size)',
      number({ min: 0, minExclusive: true }),
    )
    .option('--diameter-bins <edges>', 'diameter histogram bin edges, e.g. 0,0.2,0.5,1,2 (mm)', edges)
    .option('--json', 'print the reports as JSON')
    .option(RAW_FLAGS, `${RAW_HELP} (applies to each input that is a headerless file)`, rawOption)
    .option('-q, --quiet', 'no progress bar')
    .action(async (inputs: string[], f: TraitsFlags) => {
      await useRawLayout(f.raw, inputs);
      const res = await measureTraitsBatch(inputs, {
        out: f.out,
        label: f.label,
        ...(f.level !== undefined ? { level: f.level } : {}),
        ...(f.threshold !== undefined ? { threshold: f.threshold } : {}),
        minVoxels: f.minVoxels,
        block: f.block,
        halo: f.halo,
        meshFormats: f.mesh,
        smooth: f.smooth,
        decimate: f.decimate,
        preserveVolume: !(f.rawMesh ?? false),
        ...(f.depthBand !== undefined ? { depthBand: f.depthBand } : {}),
        ...(f.diameterBins ? { diameterEdges: f.diameterBins } : {}),
        progress: createProgress({ quiet: (f.quiet ?? false) || (f.json ?? false) }),
      });
      if (f.json) console.log(JSON.stringify({ reports: res.reports, failures: res.failures, csv: res.csv }, null, 2));
      else {
        for (const r of res.reports) console.log(formatTraits(r));
        console.log(`traits: ${res.csv}`);
        for (const x of res.failures) console.error(`rhizoct traits: ${x.error}`);
      }
      if (res.failures.length) process.exitCode = 1;
    });
}
