/**
 * Errors of volume input and output. Each class carries a `_tag` so callers can tell them
 * apart with `isVolumeIoError(err, 'Truncated', ...)` and catch only what they expect;
 * each message names the file and what was wrong.
 */
export type VolumeIoErrorTag =
  | 'UnknownFormat'
  | 'Truncated'
  | 'Corrupt'
  | 'Inconsistent'
  | 'MissingChunk'
  | 'Unsupported'
  | 'InvalidMetadata'
  | 'NotFound'
  | 'OutOfBounds'
  | 'OutputExists';

export abstract class VolumeIoError extends Error {
  abstract readonly _tag: VolumeIoErrorTag;
  /** The file, folder or URL concerned. */
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** Not a format we read, or the magic bytes are wrong. */
export class UnknownFormatError extends VolumeIoError {
  readonly _tag = 'UnknownFormat' as const;
  override readonly name = 'UnknownFormatError';
}

/** The file ends before the data its header promises. */
export class TruncatedError extends VolumeIoError {
  readonly _tag = 'Truncated' as const;
  override readonly name = 'TruncatedError';
}

/** Bytes that do not decode: a bad gzip stream, a chunk that fails its codec, a bad IFD. */
export class CorruptDataError extends VolumeIoError {
  readonly _tag = 'Corrupt' as const;
  override readonly name = 'CorruptDataError';
}

/** Parts that should agree do not: slices of mixed sizes or types, dims against file size. */
export class InconsistentError extends VolumeIoError {
  readonly _tag = 'Inconsistent' as const;
  override readonly name = 'InconsistentError';
}

/** A chunk absent where the caller asked for every chunk to exist. */
export class MissingChunkError extends VolumeIoError {
  readonly _tag = 'MissingChunk' as const;
  override readonly name = 'MissingChunkError';
}

/** Valid for its format but outside what we handle (a codec, a data type, RGB pixels). */
export class UnsupportedError extends VolumeIoError {
  readonly _tag = 'Unsupported' as const;
  override readonly name = 'UnsupportedError';
}

/** Metadata that is not JSON, or JSON that does not say what the format requires. */
export class InvalidMetadataError extends VolumeIoError {
  readonly _tag = 'InvalidMetadata' as const;
  override readonly name = 'InvalidMetadataError';
}

export class NotFoundError extends VolumeIoError {
  readonly _tag = 'NotFound' as const;
  override readonly name = 'NotFoundError';
}

/** A box asked for or written that does not fit the volume or its chunks. */
export class OutOfBoundsError extends VolumeIoError {
  readonly _tag = 'OutOfBounds' as const;
  override readonly name = 'OutOfBoundsError';
}

export class OutputExistsError extends VolumeIoError {
  readonly _tag = 'OutputExists' as const;
  override readonly name = 'OutputExistsError';
}

type AnyVolumeIoError =
  | UnknownFormatError
  | TruncatedError
  | CorruptDataError
  | InconsistentError
  | MissingChunkError
  | UnsupportedError
  | InvalidMetadataError
  | NotFoundError
  | OutOfBoundsError
  | OutputExistsError;

/** Narrows to a volume I/O error, optionally only those with one of `tags`. */
export function isVolumeIoError<T extends VolumeIoErrorTag>(err: unknown, ...tags: T[]): err is Extract<AnyVolumeIoError, { _tag: T }> {
  if (!(err instanceof VolumeIoError)) return false;
  return tags.length === 0 || (tags as string[]).includes(err._tag);
}
