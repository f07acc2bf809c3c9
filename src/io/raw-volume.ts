import { type Box, boxVoxels, type Vec3 } from '../volume/box.js';
import type { LengthUnit } from '../volume/voxel-size.js';
import { InconsistentError, TruncatedError } from './errors.js';
import { RangeFile } from './file-range.js';
import { GzipCursor } from './gzip-cursor.js';
import { boxSpans, VoxelBytes } from './voxel-bytes.js';
import { decodeSamples, sampleBytes, sampleReadType, type SampleType } from './sample-type.js';
import { type Affine, checkBoxInside, type DType, type VolumeSource, type VoxelArray } from './volume.js';

/** Where and how a volume's voxels lie in a data file: x fastest, then y, then z. */
export interface RawLayout {
  /** The data file (for attached headers, the header's own file). */
  readonly file: string;
  /** z, y, x. */
  readonly shape: Vec3;
  readonly sampleType: SampleType;
  readonly littleEndian: boolean;
  /** Byte of the first voxel: in the file, or, when compressed, in the decompressed stream. */
  readonly offset: number;
  /** Compressed data: the stream's format and the file byte where it starts. */
  readonly compression?: { readonly format: 'gzip' | 'zlib'; readonly start: number };
}

/** Where the voxels sit in space; the affine, when given, is NIfTI's RAS voxel-to-world. */
export interface RawPlacement {
  readonly voxelSize: Vec3;
  readonly unit: LengthUnit;
  readonly origin: Vec3;
  readonly affine?: Affine;
}

/** What a header said and how it was read, for `rhizoct info`. */
export interface HeaderReport {
  /** The header's fields as written there (name → value), in file order. */
  readonly header: Readonly<Record<string, string>>;
  /** How rhizoct read them where the format leaves something open (an assumed unit, a converted frame). */
  readonly notes: readonly string[];
}

/** Bytes the voxels of `layout` take, uncompressed. */
export function rawDataBytes(layout: Pick<RawLayout, 'shape' | 'sampleType'>): number {
  return layout.shape[0] * layout.shape[1] * layout.shape[2] * sampleBytes(layout.sampleType);
}

/**
 * A volume stored as raw samples in one file, perhaps compressed: NRRD, MetaImage, a scanner's
 * .vol, or a headerless file described on the command line. Uncompressed data is read by byte
 * range, a box at a time; compressed data is streamed forwards (a read behind the cursor
 * restarts the stream), so memory stays bounded whatever the volume's size.
 */
export class RawVolumeSource implements VolumeSource, HeaderReport {
  readonly shape: Vec3;
  readonly dtype: DType;
  readonly voxelSize: Vec3;
  readonly unit: LengthUnit;
  readonly origin: Vec3;
  readonly affine?: Affine;
  private readonly bytes: VoxelBytes;

  private constructor(
    readonly format: string,
    readonly path: string,
    readonly layout: RawLayout,
    placement: RawPlacement,
    readonly header: Readonly<Record<string, string>>,
    readonly notes: readonly string[],
    raw: RangeFile | undefined,
    gz: GzipCursor | undefined,
  ) {
    this.shape = layout.shape;
    this.dtype = sampleReadType(layout.sampleType);
    this.voxelSize = placement.voxelSize;
    this.unit = placement.unit;
    this.origin = placement.origin;
    if (placement.affine) this.affine = placement.affine;
    this.bytes = new VoxelBytes(raw, gz);
  }

  get compressed(): boolean {
    return this.bytes.compressed;
  }

  /**
   * Opens the data file and checks that it holds what the header promises: uncompressed
   * data must fit in the file (exactly, with `exact`); a gzip stream's recorded size must
   * cover it; a zlib stream must have `compressedBytes` bytes where given. `sizeField` names
   * the header field(s) that set the size, for the error message.
   */
  static async open(args: {
    format: string;
    path: string;
    layout: RawLayout;
    placement: RawPlacement;
    report: HeaderReport;
    sizeField: string;
    exact?: boolean;
    /** Added to the message when an exact size check finds bytes left over (given their count). */
    leftoverHint?: (extra: number) => string;
    compressedBytes?: number;
  }): Promise<RawVolumeSource> {
    const { format, path, layout, placement, report, sizeField } = args;
    const need = rawDataBytes(layout);
    const shapeText = `${layout.shape[2]}×${layout.shape[1]}×${layout.shape[0]} (x×y×z) ${layout.sampleType}`;
    const where = path === layout.file ? '' : ` in ${path}`;
    const f = await RangeFile.open(layout.file);
    try {
      if (!layout.compression) {
        const end = layout.offset + need;
        if (f.size < end) {
          throw new TruncatedError(
            layout.file,
            `${sizeField}${where} describes ${shapeText} voxels: ${need} bytes from byte ${layout.offset}, but the file has ${f.size} bytes (${end - f.size} missing): the data is truncated or the header's size is wrong`,
          );
        }
        if (args.exact && f.size > end) {
          throw new InconsistentError(
            layout.file,
            `${sizeField}${where} describes ${shapeText} voxels: ${need} bytes from byte ${layout.offset}, but the file has ${f.size} bytes (${f.size - end} left over): the size or voxel type is wrong${args.leftoverHint?.(f.size - end) ?? ''}`,
          );
        }
        return new RawVolumeSource(format, path, layout, placement, report.header, report.notes, f, undefined);
      }
      const c = layout.compression;
      if (f.size <= c.start) {
        throw new TruncatedError(
          layout.file,
          `${sizeField}${where} promises ${c.format}-compressed data from byte ${c.start}, but the file has ${f.size} bytes`,
        );
      }
      if (c.format === 'gzip' && f.size - c.start >= 18) {
        // ISIZE: the decompressed size modulo 2^32, in the last 4 bytes of a gzip stream that ends the file.
        const isize = new DataView((await f.read(f.size - 4, 4, 'gzip trailer')).buffer).getUint32(0, true);
        const want = layout.offset + need;
        if (want < 2 ** 32 && isize < want) {
          throw new InconsistentError(
            layout.file,
            `${sizeField}${where} describes ${shapeText} voxels: ${want} decompressed bytes, but the gzip trailer records ${isize}: the data is truncated or the header's size is wrong`,
          );
        }
      }
      if (c.format === 'zlib' && args.compressedBytes !== undefined && f.size - c.start < args.compressedBytes) {
        throw new TruncatedError(
          layout.file,
          `CompressedDataSize${where} is ${args.compressedBytes} bytes from byte ${c.start}, but the file has only ${f.size - c.start} there: the data is truncated`,
        );
      }
      await f.close();
      const gz = new GzipCursor(layout.file, { start: c.start, format: c.format });
      return new RawVolumeSource(format, path, layout, placement, report.header, report.notes, undefined, gz);
    } catch (err) {
      await f.close().catch(() => undefined);
      throw err;
    }
  }

  async readBox(box: Box): Promise<VoxelArray> {
    checkBoxInside(this.path, this.shape, box);
    const bpv = sampleBytes(this.layout.sampleType);
    const bytes = await this.bytes.read(boxSpans(this.layout.shape, this.layout.offset, bpv, box), boxVoxels(box) * bpv);
    return decodeSamples(this.layout.sampleType, this.layout.littleEndian, bytes);
  }

  async close(): Promise<void> {
    await this.bytes.close();
  }
}

/** A voxel-to-world affine (RAS, row-major) from per-axis direction vectors (x, y, z axes) and an origin. */
export function affineFromDirections(dirs: readonly (readonly number[])[], origin: readonly number[]): Affine {
  return [
    [dirs[0]![0]!, dirs[1]![0]!, dirs[2]![0]!, origin[0]!],
    [dirs[0]![1]!, dirs[1]![1]!, dirs[2]![1]!, origin[1]!],
    [dirs[0]![2]!, dirs[1]![2]!, dirs[2]![2]!, origin[2]!],
    [0, 0, 0, 1],
  ];
}

/** Voxel size (z, y, x: column lengths) and origin (z, y, x: translation) of an affine. */
export function placementOfAffine(affine: Affine, unit: LengthUnit): RawPlacement {
  const len = (c: number): number => Math.hypot(affine[0]![c]!, affine[1]![c]!, affine[2]![c]!);
  const zero = (v: number): number => (Object.is(v, -0) ? 0 : v);
  return {
    voxelSize: [len(2), len(1), len(0)],
    unit,
    origin: [zero(affine[2]![3]!), zero(affine[1]![3]!), zero(affine[0]![3]!)],
    affine: affine.map((r) => r.map(zero)),
  };
}

/** Negates rows 0 and 1 of an affine: LPS (ITK, MetaImage, most NRRD) ↔ RAS (NIfTI, rhizoct). */
export function flipLpsRas(affine: Affine): Affine {
  return affine.map((r, i) => (i < 2 ? r.map((v) => (v === 0 ? 0 : -v)) : [...r]));
}

/** True when the affine is diagonal with a positive diagonal (no rotation or flip). */
export function isAxisAligned(affine: Affine): boolean {
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      const v = affine[r]![c]!;
      if (r === c ? !(v > 0) : v !== 0) return false;
    }
  }
  return true;
}
