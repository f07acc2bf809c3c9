import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Box, Vec3 } from '../volume/box.js';
import type { LengthUnit } from '../volume/voxel-size.js';
import { type FileSinkOptions, itkGeometry, writtenMeta } from './itk-geometry.js';
import { writeFileAtomic } from './atomic-write.js';
import { assembleFile, formatNumber, StagedVoxels } from './staged-sink.js';
import type { Affine, DType, VolumeMeta, VolumeSink, VoxelArray } from './volume.js';

const NRRD_TYPES: Record<DType, string> = { uint8: 'uint8', uint16: 'uint16', int16: 'int16', float32: 'float' };

const vector = (v: readonly number[]): string => `(${v.map(formatNumber).join(',')})`;

/** The text of a NRRD0004 header for `meta` (ending with the empty line that precedes attached data). */
export function nrrdHeaderText(meta: VolumeMeta, opts: { encoding: 'gzip' | 'raw'; dataFile?: string; content?: string }): string {
  const [nz, ny, nx] = meta.shape;
  const g = itkGeometry(meta);
  const col = (c: number): number[] => [g.affine[0]![c]!, g.affine[1]![c]!, g.affine[2]![c]!];
  const lines = [
    'NRRD0004',
    '# written by rhizoct',
    `type: ${NRRD_TYPES[meta.dtype]}`,
    'dimension: 3',
    g.lps ? 'space: left-posterior-superior' : 'space dimension: 3',
    `sizes: ${nx} ${ny} ${nz}`,
    `space directions: ${vector(col(0))} ${vector(col(1))} ${vector(col(2))}`,
    'kinds: domain domain domain',
    'endian: little',
    `encoding: ${opts.encoding}`,
    ...(g.lps ? ['space units: "mm" "mm" "mm"'] : []),
    `space origin: ${vector(col(3))}`,
    ...(opts.content ? [`content: ${opts.content.replace(/[\r\n]+/g, ' ')}`] : []),
    ...(opts.dataFile !== undefined ? [`data file: ${opts.dataFile}`] : []),
  ];
  return lines.join('\n') + (opts.dataFile !== undefined ? '\n' : '\n\n');
}

/**
 * Writes NRRD for 3D Slicer, ITK-SNAP, Fiji and teem: `.nrrd` holds header and data,
 * `.nhdr` a detached header beside its data file (NAME.raw, or NAME.raw.gz when compressed).
 * Voxels are staged uncompressed in a temporary file; finalize() compresses them if asked and
 * moves everything into place, the header last.
 */
export class NrrdSink implements VolumeSink {
  readonly shape: Vec3;
  readonly dtype: DType;
  readonly voxelSize: Vec3;
  readonly unit: LengthUnit;
  readonly origin: Vec3;
  readonly affine: Affine;
  private finished = false;

  private constructor(
    readonly path: string,
    private readonly staged: StagedVoxels,
    private readonly header: string,
    private readonly dataFile: string | undefined,
    private readonly gzip: boolean,
    meta: VolumeMeta,
  ) {
    const w = writtenMeta(meta);
    this.shape = w.shape;
    this.dtype = w.dtype;
    this.voxelSize = w.voxelSize;
    this.unit = w.unit;
    this.origin = w.origin;
    this.affine = w.affine!;
  }

  static async create(path: string, meta: VolumeMeta, opts: FileSinkOptions = {}): Promise<NrrdSink> {
    const gzip = (opts.compression ?? 'gzip') === 'gzip';
    const detached = path.toLowerCase().endsWith('.nhdr');
    const dataName = detached ? `${basename(path).replace(/\.nhdr$/i, '')}.raw${gzip ? '.gz' : ''}` : undefined;
    const header = nrrdHeaderText(meta, {
      encoding: gzip ? 'gzip' : 'raw',
      ...(dataName ? { dataFile: dataName } : {}),
      ...(opts.description ? { content: opts.description } : {}),
    });
    const dataFile = dataName ? join(dirname(path), dataName) : undefined;
    // Uncompressed attached data is staged behind its header, so finishing is a rename.
    const inPlace = !detached && !gzip;
    const staged = await StagedVoxels.create(dataFile ?? path, meta, {
      overwrite: opts.overwrite ?? false,
      ...(inPlace ? { header: Buffer.from(header, 'latin1') } : {}),
      outputs: dataFile ? [path] : [],
    });
    return new NrrdSink(path, staged, header, dataFile, gzip, meta);
  }

  writeBox(box: Box, data: VoxelArray): Promise<void> {
    return this.staged.writeBox(box, data);
  }

  async finalize(): Promise<void> {
    if (this.finished) return;
    await this.staged.close();
    try {
      const head = Buffer.from(this.header, 'latin1');
      if (this.dataFile) {
        if (this.gzip) await assembleFile(this.dataFile, new Uint8Array(0), this.staged.tmp, 0, 'gzip');
        else await rename(this.staged.tmp, this.dataFile);
        await writeFileAtomic(this.path, head);
      } else if (this.gzip) {
        await assembleFile(this.path, head, this.staged.tmp, 0, 'gzip');
      } else {
        await rename(this.staged.tmp, this.path);
      }
      this.finished = true;
    } finally {
      await unlink(this.staged.tmp).catch(() => undefined);
    }
  }

  async abort(): Promise<void> {
    this.finished = true;
    await this.staged.discard();
  }
}
