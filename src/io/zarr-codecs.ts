import * as zarr from 'zarrita';
import Blosc from 'numcodecs/blosc';
import GZip from 'numcodecs/gzip';
import Zlib from 'numcodecs/zlib';
import Zstd from 'numcodecs/zstd';
import type { DType } from './volume.js';

/** Compressions `convert` offers; all are read and written for Zarr v2 and v3. */
export type Compression = 'blosc' | 'zstd' | 'gzip' | 'none';
export const COMPRESSIONS: readonly Compression[] = ['blosc', 'zstd', 'gzip', 'none'];

type NumcodecsCtor = {
  fromConfig(config: never): {
    encode(d: Uint8Array): Uint8Array | Promise<Uint8Array>;
    decode(d: Uint8Array): Uint8Array | Promise<Uint8Array>;
  };
};

/** Wraps a numcodecs codec as a zarrita bytes-to-bytes codec with both directions. */
function bytesCodec(ctor: NumcodecsCtor, mapConfig: (c: Record<string, unknown>) => Record<string, unknown> = (c) => c) {
  return {
    kind: 'bytes_to_bytes' as const,
    fromConfig(config: unknown) {
      const inner = ctor.fromConfig(mapConfig((config ?? {}) as Record<string, unknown>) as never);
      return {
        kind: 'bytes_to_bytes' as const,
        encode: async (d: Uint8Array) => new Uint8Array(await inner.encode(d)),
        decode: async (d: Uint8Array) => new Uint8Array(await inner.decode(d)),
      };
    },
  };
}

const SHUFFLE: Record<string, number> = { noshuffle: 0, shuffle: 1, bitshuffle: 2 };

/** Zarr v3 names Blosc's shuffle with words; numcodecs wants the numbers of Zarr v2. */
function bloscV3Config(c: Record<string, unknown>): Record<string, unknown> {
  const s = c.shuffle;
  return { ...c, shuffle: typeof s === 'string' ? (SHUFFLE[s] ?? 1) : s };
}

let registered = false;

/**
 * zarrita decodes gzip and zlib but cannot encode them; this registers numcodecs' encoders
 * (and Blosc with v3's word-valued shuffle). Safe to call more than once.
 */
export function registerZarrCodecs(): void {
  if (registered) return;
  registered = true;
  const gzip = bytesCodec(GZip as unknown as NumcodecsCtor);
  const zlib = bytesCodec(Zlib as unknown as NumcodecsCtor);
  const zstd = bytesCodec(Zstd as unknown as NumcodecsCtor);
  const bloscV2 = bytesCodec(Blosc as unknown as NumcodecsCtor);
  const bloscV3 = bytesCodec(Blosc as unknown as NumcodecsCtor, bloscV3Config);
  const set = (name: string, entry: unknown): void => {
    zarr.registry.set(name, async () => entry as never);
  };
  set('gzip', gzip);
  set('numcodecs.gzip', gzip);
  set('zlib', zlib);
  set('numcodecs.zlib', zlib);
  set('zstd', zstd);
  set('numcodecs.zstd', zstd);
  set('blosc', bloscV3);
  set('numcodecs.blosc', bloscV2);
}

export interface CompressionChoice {
  readonly compression: Compression;
  /** Codec level; each codec's default when absent. */
  readonly level?: number;
}

/** The Zarr v2 `compressor` entry for a choice. */
export function v2Compressor(c: CompressionChoice): Record<string, unknown> | null {
  switch (c.compression) {
    case 'none':
      return null;
    case 'blosc':
      return { id: 'blosc', cname: 'lz4', clevel: c.level ?? 5, shuffle: 1, blocksize: 0 };
    case 'zstd':
      return { id: 'zstd', level: c.level ?? 3 };
    case 'gzip':
      return { id: 'gzip', level: c.level ?? 5 };
  }
}

/** The Zarr v3 codec chain (bytes, then the compressor) for a choice. */
export function v3Codecs(c: CompressionChoice, dtype: DType): zarr.CodecMetadata[] {
  const bytes: zarr.CodecMetadata = { name: 'bytes', configuration: dtype === 'uint8' ? {} : { endian: 'little' } };
  switch (c.compression) {
    case 'none':
      return [bytes];
    case 'blosc':
      // numcodecs' Blosc shuffles with a type size of 1, so that is what the metadata says.
      return [
        bytes,
        { name: 'blosc', configuration: { cname: 'lz4', clevel: c.level ?? 5, shuffle: 'shuffle', typesize: 1, blocksize: 0 } },
      ];
    case 'zstd':
      return [bytes, { name: 'zstd', configuration: { level: c.level ?? 3, checksum: false } }];
    case 'gzip':
      return [bytes, { name: 'gzip', configuration: { level: c.level ?? 5 } }];
  }
}
