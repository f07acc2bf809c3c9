import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type NamedArray } from '../../src/nn/safetensors.js';

const sample = (): Map<string, NamedArray> =>
  new Map([
    ['conv.weight', { shape: [2, 3, 1, 1, 1], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ['conv.bias', { shape: [2], data: Float32Array.from([-1.5, 0.25]) }],
  ]);

function withHeader(json: string, data = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips tensors and metadata, header padded to 8 bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const path = join(dir, 'm.safetensors');
    await writeSafetensors(path, sample(), { arch: 'mlmr' });
    const { tensors, metadata } = await readSafetensors(path);
    expect(metadata.arch).toBe('mlmr');
    expect([...tensors.get('conv.weight')!.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tensors.get('conv.bias')!.shape).toEqual([2]);
    const bytes = encodeSafetensors(sample());
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
  });

  it('is read by an independent reader (the format spec, parsed in Python with struct/json)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const path = join(dir, 'm.safetensors');
    writeFileSync(path, encodeSafetensors(sample()));
    let out: string;
    try {
      out = execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          `
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
e = h['conv.bias']; s, t = e['data_offsets']
print(json.dumps(list(struct.unpack('<2f', b[8 + n + s:8 + n + t]))))
`,
          path,
        ],
        { encoding: 'utf8' },
      );
    } catch {
      console.warn('skipped: /usr/bin/python3 not available');
      return;
    }
    expect(JSON.parse(out)).toEqual([-1.5, 0.25]);
  });

  it('rejects malformed and oversized headers with the file named', () => {
    const f = 'bad.safetensors';
    expect(() => decodeSafetensors(new Uint8Array(3), f)).toThrow(/bad.safetensors: only 3 bytes/);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    expect(() => decodeSafetensors(huge, f)).toThrow(/exceeds the .*limit/);
    expect(() => decodeSafetensors(withHeader('{not json'), f)).toThrow(/not valid UTF-8 JSON/);
    expect(() => decodeSafetensors(withHeader('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', new Uint8Array(4)), f)).toThrow(
      /needs 8 bytes/,
    );
    expect(() => decodeSafetensors(withHeader('{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), f)).toThrow(
      /unknown dtype/,
    );
    expect(() => decodeSafetensors(withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,40]}}', new Uint8Array(4)), f)).toThrow(
      /outside/,
    );
    expect(() => decodeSafetensors(withHeader('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', new Uint8Array(8)), f)).toThrow(
      /contiguously/,
    );
  });
});
