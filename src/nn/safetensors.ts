import { open, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../io/atomic-write.js';

/** A named f32 array with its shape, as stored in a safetensors file. */
export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export class WeightsError extends Error {
  readonly kind = 'weights' as const;
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'WeightsError';
  }
}

/** Headers above this are refused before parsing (the format's own reference caps them at 100 MB). */
export const MAX_HEADER_BYTES = 16 * 2 ** 20;

const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Serialises tensors (f32) and string metadata to safetensors bytes, names sorted for stable output. */
export function encodeSafetensors(tensors: Map<string, NamedArray>, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new RangeError(`tensor ${name}: shape [${t.shape}] needs ${n} values, has ${t.data.length}`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // the format pads the header to 8 bytes
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors.get(name)!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

/** Parses and validates safetensors bytes: header size, JSON, dtypes, shapes and offsets. */
export function decodeSafetensors(bytes: Uint8Array, file: string): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new WeightsError(file, `only ${bytes.length} bytes; a safetensors file starts with an 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw new WeightsError(file, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length)
    throw new WeightsError(file, `header length ${headerLen} runs past the end of the ${bytes.length}-byte file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen))) as Record<string, unknown>;
  } catch (e) {
    throw new WeightsError(file, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new WeightsError(file, 'header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, NamedArray>();
  const spans: [number, number, string][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof v !== 'object' || v === null) throw new WeightsError(file, '__metadata__ is not an object');
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') throw new WeightsError(file, `__metadata__.${k} is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) throw new WeightsError(file, `tensor ${name}: entry is not an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE_BYTES))
      throw new WeightsError(file, `tensor ${name}: unknown dtype ${JSON.stringify(e.dtype)}`);
    if (e.dtype !== 'F32') throw new WeightsError(file, `tensor ${name}: dtype ${e.dtype} is not supported (rhizoct stores F32)`);
    if (!Array.isArray(e.shape) || !e.shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      throw new WeightsError(file, `tensor ${name}: bad shape ${JSON.stringify(e.shape)}`);
    if (!Array.isArray(e.data_offsets) || e.data_offsets.length !== 2 || !e.data_offsets.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      throw new WeightsError(file, `tensor ${name}: bad data_offsets ${JSON.stringify(e.data_offsets)}`);
    }
    const [a, b] = e.data_offsets as [number, number];
    const shape = e.shape as number[];
    const count = shape.reduce((x, y) => x * y, 1);
    if (b < a || b > dataLen)
      throw new WeightsError(file, `tensor ${name}: data_offsets [${a}, ${b}] fall outside the ${dataLen} data bytes`);
    if (b - a !== count * 4)
      throw new WeightsError(file, `tensor ${name}: shape [${shape}] needs ${count * 4} bytes, data_offsets give ${b - a}`);
    spans.push([a, b, name]);
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart + a, dataStart + b));
    tensors.set(name, { shape, data });
  }
  spans.sort((x, y) => x[0] - y[0]);
  let end = 0;
  for (const [a, b, name] of spans) {
    if (a !== end)
      throw new WeightsError(file, `tensor ${name}: data does not follow the previous tensor contiguously (gap or overlap at byte ${a})`);
    end = b;
  }
  if (end !== dataLen) throw new WeightsError(file, `${dataLen - end} trailing bytes after the last tensor`);
  return { tensors, metadata };
}

export async function readSafetensors(path: string): Promise<{ tensors: Map<string, NamedArray>; metadata: Record<string, string> }> {
  const fh = await open(path, 'r').catch((e: Error) => {
    throw new WeightsError(path, `cannot open (${e.message})`);
  });
  try {
    const head = new Uint8Array(8);
    await fh.read(head, 0, 8, 0);
    const n = new DataView(head.buffer).getBigUint64(0, true);
    if (n > BigInt(MAX_HEADER_BYTES)) throw new WeightsError(path, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  } finally {
    await fh.close();
  }
  return decodeSafetensors(new Uint8Array(await readFile(path)), path);
}

/** Writes atomically (io/atomic-write), so a reader never sees half a file. */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, NamedArray>,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
