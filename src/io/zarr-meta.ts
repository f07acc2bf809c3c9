import * as zarr from 'zarrita';
import { InvalidMetadataError, UnsupportedError } from './errors.js';
import { registerZarrCodecs } from './zarr-codecs.js';

/** A store we read from: the local file system or HTTP. */
export type ReadStore = zarr.AsyncReadable;

/** Reads and parses one JSON metadata key; undefined when absent. `base` names the store for errors. */
export async function readJson(store: ReadStore, base: string, key: string): Promise<Record<string, unknown> | undefined> {
  const bytes = await store.get(`/${key.replace(/^\/+/, '')}` as zarr.AbsolutePath);
  if (!bytes) return undefined;
  const file = joinKey(base, key);
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new InvalidMetadataError(file, `is not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidMetadataError(file, 'is JSON but not an object');
  return v as Record<string, unknown>;
}

export function joinKey(base: string, key: string): string {
  return `${base.replace(/\/+$/, '')}/${key.replace(/^\/+/, '')}`;
}

/** What a Zarr node's metadata says, v2 and v3 alike. */
export type NodeMeta =
  | { kind: 'group'; zarrFormat: 2 | 3; attrs: Record<string, unknown>; file: string }
  | { kind: 'array'; zarrFormat: 2 | 3; array: ArrayMeta; attrs: Record<string, unknown>; file: string };

export interface ArrayMeta {
  shape: number[];
  chunks: number[];
  dataType: string;
  /** Codec names as zarrita's registry knows them. */
  codecs: string[];
  /** Human-readable summary of the compression, e.g. "blosc(lz4, clevel 5)". */
  compression: string;
}

const V2_DTYPES: Record<string, string> = {
  '|u1': 'uint8',
  '|i1': 'int8',
  '<u2': 'uint16',
  '>u2': 'uint16',
  '<i2': 'int16',
  '>i2': 'int16',
  '<u4': 'uint32',
  '>u4': 'uint32',
  '<i4': 'int32',
  '>i4': 'int32',
  '<f4': 'float32',
  '>f4': 'float32',
  '<f8': 'float64',
  '>f8': 'float64',
  '|b1': 'bool',
  '<u8': 'uint64',
  '<i8': 'int64',
  '<f2': 'float16',
  u1: 'uint8',
  i1: 'int8',
};

function describeCodec(name: string, cfg: Record<string, unknown>): string {
  const short = name.replace(/^numcodecs\./, '');
  if (short === 'blosc') return `blosc(${String(cfg.cname ?? '?')}, clevel ${String(cfg.clevel ?? '?')})`;
  if (short === 'zstd' || short === 'gzip' || short === 'zlib') return `${short}(level ${String(cfg.level ?? '?')})`;
  return short;
}

function checkCodecs(file: string, names: string[]): void {
  registerZarrCodecs();
  for (const n of names) {
    if (n === 'sharding_indexed' || zarr.registry.has(n)) continue;
    throw new UnsupportedError(
      file,
      `uses codec "${n.replace(/^numcodecs\./, '')}", which is not available (known: ${[...zarr.registry.keys()].filter((k) => !k.startsWith('numcodecs.')).join(', ')})`,
    );
  }
}

function v2Array(file: string, m: Record<string, unknown>): ArrayMeta {
  const shape = m.shape;
  const chunks = m.chunks;
  if (!Array.isArray(shape) || !Array.isArray(chunks) || shape.length !== chunks.length) {
    throw new InvalidMetadataError(file, 'shape and chunks must be lists of the same length');
  }
  const dataType = V2_DTYPES[String(m.dtype)];
  if (!dataType) throw new UnsupportedError(file, `dtype ${JSON.stringify(m.dtype)} is not read`);
  const codecs: string[] = [];
  const parts: string[] = [];
  for (const f of (m.filters as Record<string, unknown>[] | null) ?? []) {
    codecs.push(`numcodecs.${String(f.id)}`);
    parts.push(describeCodec(String(f.id), f));
  }
  const comp = m.compressor as Record<string, unknown> | null | undefined;
  if (comp) {
    codecs.push(`numcodecs.${String(comp.id)}`);
    parts.push(describeCodec(String(comp.id), comp));
  }
  checkCodecs(file, codecs);
  return { shape: shape as number[], chunks: chunks as number[], dataType, codecs, compression: parts.join(' + ') || 'none' };
}

function v3Array(file: string, m: Record<string, unknown>): ArrayMeta {
  const shape = m.shape;
  const grid = m.chunk_grid as { configuration?: { chunk_shape?: unknown } } | undefined;
  let chunks = grid?.configuration?.chunk_shape;
  if (!Array.isArray(shape) || !Array.isArray(chunks) || shape.length !== chunks.length) {
    throw new InvalidMetadataError(file, 'shape and chunk_grid.configuration.chunk_shape must be lists of the same length');
  }
  const list = (m.codecs ?? []) as { name?: unknown; configuration?: Record<string, unknown> }[];
  if (!Array.isArray(list)) throw new InvalidMetadataError(file, 'codecs is not a list');
  const names: string[] = [];
  const parts: string[] = [];
  const walk = (cs: typeof list): void => {
    for (const c of cs) {
      const name = String(c.name);
      names.push(name);
      if (name === 'sharding_indexed') {
        const inner = (c.configuration?.codecs ?? []) as typeof list;
        chunks = (c.configuration?.chunk_shape as number[] | undefined) ?? chunks;
        parts.push('sharded');
        walk(inner);
      } else if (name !== 'bytes') {
        parts.push(describeCodec(name, c.configuration ?? {}));
      }
    }
  };
  walk(list);
  checkCodecs(file, names);
  return {
    shape: shape as number[],
    chunks: chunks as number[],
    dataType: String(m.data_type),
    codecs: names,
    compression: parts.join(' + ') || 'none',
  };
}

/** Reads the metadata of the node at `path` (a key prefix, '' for the root); undefined if there is none. */
export async function readNode(store: ReadStore, base: string, path: string): Promise<NodeMeta | undefined> {
  const p = path ? `${path.replace(/\/+$/, '')}/` : '';
  const v3 = await readJson(store, base, `${p}zarr.json`);
  if (v3) {
    const file = joinKey(base, `${p}zarr.json`);
    if (v3.zarr_format !== 3) throw new InvalidMetadataError(file, `zarr_format is ${JSON.stringify(v3.zarr_format)}, expected 3`);
    const attrs = (v3.attributes ?? {}) as Record<string, unknown>;
    if (v3.node_type === 'group') return { kind: 'group', zarrFormat: 3, attrs, file };
    if (v3.node_type === 'array') return { kind: 'array', zarrFormat: 3, array: v3Array(file, v3), attrs, file };
    throw new InvalidMetadataError(file, `node_type is ${JSON.stringify(v3.node_type)}, expected "group" or "array"`);
  }
  const zarray = await readJson(store, base, `${p}.zarray`);
  const zgroup = zarray ? undefined : await readJson(store, base, `${p}.zgroup`);
  if (!zarray && !zgroup) return undefined;
  const attrs = (await readJson(store, base, `${p}.zattrs`)) ?? {};
  if (zarray) {
    const file = joinKey(base, `${p}.zarray`);
    if (zarray.zarr_format !== 2) throw new InvalidMetadataError(file, `zarr_format is ${JSON.stringify(zarray.zarr_format)}, expected 2`);
    return { kind: 'array', zarrFormat: 2, array: v2Array(file, zarray), attrs, file: joinKey(base, `${p}.zattrs`) };
  }
  return { kind: 'group', zarrFormat: 2, attrs, file: joinKey(base, `${p}.zattrs`) };
}
