import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Box, Vec3 } from '../volume/box.js';
import type { LengthUnit } from '../volume/voxel-size.js';
import type { FileSinkOptions } from './itk-geometry.js';
import { volumeAffine } from './nifti-write.js';
import { flipLpsRas, placementOfAffine } from './raw-volume.js';
import { writeFileAtomic } from './atomic-write.js';
import { assembleFile, formatNumber, StagedVoxels } from './staged-sink.js';
import type { Affine, DType, VolumeMeta, VolumeSink, VoxelArray } from './volume.js';

const MET_TYPES: Record<DType, string> = { uint8: 'MET_UCHAR', uint16: 'MET_USHORT', int16: 'MET_SHORT', float32: 'MET_FLOAT' };

/**
 * MetaImage geometry: ITK's left-posterior-superior world (rhizoct's RAS with x and y
 * negated), lengths in millimetres. A volume with no unit keeps its numbers, and leaves out
 * ElementSpacing when it is all ones, so that it reads back with no unit.
 */
function metaGeometry(meta: VolumeMeta): { lps: Affine; spacing: number[]; unit: LengthUnit; writeSpacing: boolean } {
  const unit: LengthUnit = meta.unit === '' ? '' : 'millimeter';
  const lps = flipLpsRas(volumeAffine(meta, unit));
  const spacing = [0, 1, 2].map((c) => Math.hypot(lps[0]![c]!, lps[1]![c]!, lps[2]![c]!));
  const writeSpacing = unit !== '' || spacing.some((s) => s !== 1);
  return { lps, spacing, unit: writeSpacing ? 'millimeter' : '', writeSpacing };
}

/** The text of a MetaImage header for `meta`, ending with its ElementDataFile line. */
export function metaImageHeaderText(meta: VolumeMeta, opts: { dataFile: string; compressedBytes?: number; comment?: string }): string {
  const [nz, ny, nx] = meta.shape;
  const g = metaGeometry(meta);
  const dir = [0, 1, 2].flatMap((c) => [0, 1, 2].map((r) => g.lps[r]![c]! / g.spacing[c]!));
  const lines = [
    'ObjectType = Image',
    'NDims = 3',
    ...(opts.comment ? [`Comment = ${opts.comment.replace(/[\r\n]+/g, ' ')}`] : []),
    'BinaryData = True',
    'BinaryDataByteOrderMSB = False',
    `CompressedData = ${opts.compressedBytes !== undefined ? 'True' : 'False'}`,
    ...(opts.compressedBytes !== undefined ? [`CompressedDataSize = ${opts.compressedBytes}`] : []),
    `TransformMatrix = ${dir.map(formatNumber).join(' ')}`,
    `Offset = ${[0, 1, 2].map((r) => formatNumber(g.lps[r]![3]!)).join(' ')}`,
    'CenterOfRotation = 0 0 0',
    ...(g.writeSpacing ? [`ElementSpacing = ${g.spacing.map(formatNumber).join(' ')}`] : []),
    `DimSize = ${nx} ${ny} ${nz}`,
    `ElementType = ${MET_TYPES[meta.dtype]}`,
    `ElementDataFile = ${opts.dataFile}`,
  ];
  return lines.join('\n') + '\n';
}

/**
 * Writes MetaImage for ITK, VTK, 3D Slicer, ITK-SNAP and Fiji: `.mha` holds header and data,
 * `.mhd` a header beside its data file (NAME.raw, or NAME.zraw when compressed: one zlib
 * stream, as MetaIO writes). Voxels are staged uncompressed in a temporary file; finalize()
 * compresses them if asked and moves everything into place, the header last.
 */
export class MetaImageSink implements VolumeSink {
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
    private readonly meta: VolumeMeta,
    private readonly dataFile: string | undefined,
    private readonly compress: boolean,
    private readonly comment: string | undefined,
  ) {
    const g = metaGeometry(meta);
    const p = placementOfAffine(flipLpsRas(g.lps), g.unit);
    this.shape = meta.shape;
    this.dtype = meta.dtype;
    this.voxelSize = p.voxelSize;
    this.unit = p.unit;
    this.origin = p.origin;
    this.affine = p.affine!;
  }

  static async create(path: string, meta: VolumeMeta, opts: FileSinkOptions = {}): Promise<MetaImageSink> {
    const compress = (opts.compression ?? 'gzip') === 'gzip';
    const detached = path.toLowerCase().endsWith('.mhd');
    const dataFile = detached ? join(dirname(path), `${basename(path).replace(/\.mhd$/i, '')}.${compress ? 'zraw' : 'raw'}`) : undefined;
    const inPlace = !detached && !compress;
    const header = inPlace
      ? Buffer.from(metaImageHeaderText(meta, { dataFile: 'LOCAL', ...(opts.description ? { comment: opts.description } : {}) }), 'latin1')
      : undefined;
    const staged = await StagedVoxels.create(dataFile ?? path, meta, {
      overwrite: opts.overwrite ?? false,
      ...(header ? { header } : {}),
      outputs: dataFile ? [path] : [],
    });
    return new MetaImageSink(path, staged, meta, dataFile, compress, opts.description);
  }

  writeBox(box: Box, data: VoxelArray): Promise<void> {
    return this.staged.writeBox(box, data);
  }

  async finalize(): Promise<void> {
    if (this.finished) return;
    await this.staged.close();
    const comment = this.comment ? { comment: this.comment } : {};
    const zipped = `${this.staged.tmp}.zlib`;
    try {
      if (this.dataFile) {
        let compressedBytes: number | undefined;
        if (this.compress) compressedBytes = await assembleFile(this.dataFile, new Uint8Array(0), this.staged.tmp, 0, 'zlib');
        else await rename(this.staged.tmp, this.dataFile);
        const text = metaImageHeaderText(this.meta, {
          dataFile: basename(this.dataFile),
          ...(compressedBytes !== undefined ? { compressedBytes } : {}),
          ...comment,
        });
        await writeFileAtomic(this.path, Buffer.from(text, 'latin1'));
      } else if (this.compress) {
        // The header gives the compressed size, so the data is compressed first.
        const compressedBytes = await assembleFile(zipped, new Uint8Array(0), this.staged.tmp, 0, 'zlib');
        const text = metaImageHeaderText(this.meta, { dataFile: 'LOCAL', compressedBytes, ...comment });
        await assembleFile(this.path, Buffer.from(text, 'latin1'), zipped, 0, 'none');
      } else {
        await rename(this.staged.tmp, this.path);
      }
      this.finished = true;
    } finally {
      await unlink(zipped).catch(() => undefined);
      await unlink(this.staged.tmp).catch(() => undefined);
    }
  }

  async abort(): Promise<void> {
    this.finished = true;
    await this.staged.discard();
  }
}
