import { describe, expect, it } from 'vitest';
import { kernelKey } from '../../src/gpu/kernel-spec.js';
import { defineParams, wgslStructFields } from '../../src/gpu/uniforms.js';

const P = defineParams('Params', { n: 'u32', offset: 'i32', scale: 'f32', count: 'u32', last: 'u32' });

describe('kernel parameters declared once by name (gpu/uniforms defineParams)', () => {
  it('lists its fields in declaration order, as the WGSL struct they stand for and as a signature', () => {
    expect(P.fields).toEqual(['n: u32', 'offset: i32', 'scale: f32', 'count: u32', 'last: u32']);
    expect(P.wgsl).toBe('struct Params {\n  n: u32,\n  offset: i32,\n  scale: f32,\n  count: u32,\n  last: u32,\n}');
    expect(P.signature).toBe('Params{n: u32, offset: i32, scale: f32, count: u32, last: u32}');
  });

  it('packs each value at its declared place, whatever order the values are written in, in whole 16-byte rows', () => {
    const { bytes } = P.pack({ last: 7, scale: 0.25, count: 0xffffffff, offset: -3, n: 5 });
    expect(bytes.byteLength).toBe(32);
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect([v.getUint32(0, true), v.getInt32(4, true), v.getFloat32(8, true), v.getUint32(12, true), v.getUint32(16, true)]).toEqual([
      5, -3, 0.25, 0xffffffff, 7,
    ]);
    expect([v.getUint32(20, true), v.getUint32(24, true), v.getUint32(28, true)]).toEqual([0, 0, 0]);
  });

  it('refuses a value missing, one not declared, and one outside its type, naming them', () => {
    const ok = { n: 1, offset: 0, scale: 1, count: 1, last: 1 };
    const { count: _, ...missing } = ok;
    expect(() => P.pack(missing as typeof ok)).toThrow(/Params: missing count \(declared: n, offset, scale, count, last\)/);
    expect(() => P.pack({ ...ok, cuont: 1 } as typeof ok)).toThrow(/unknown cuont/);
    expect(() => P.pack({ ...ok, n: -1 })).toThrow('n = -1 is not a u32');
    expect(() => P.pack({ ...ok, count: 2 ** 32 })).toThrow('is not a u32');
    expect(() => P.pack({ ...ok, offset: 1.5 })).toThrow('offset = 1.5 is not a i32');
    expect(() => P.pack({ ...ok, offset: 2 ** 31 })).toThrow('is not a i32');
    expect(() => defineParams('Params', { 'in-d': 'u32' })).toThrow('not a WGSL identifier');
    expect(() => defineParams('Params', { d: 'u16' as 'u32' })).toThrow('not u32, i32 or f32');
  });

  it('fields named _… are padding: declared for the layout, never given, written as zero', () => {
    const Q = defineParams('Params', { count: 'u32', _p0: 'u32', scale: 'f32', _p1: 'f32' });
    const { bytes } = Q.pack({ count: 3, scale: 2 });
    expect([...new Uint32Array(bytes.buffer, bytes.byteOffset, 4)]).toEqual([3, 0, 0x40000000, 0]);
    expect(() => Q.pack({ count: 3, scale: 2, _p0: 1 } as never)).toThrow(/unknown _p0/);
    expect(Q.wgsl).toContain('  _p0: u32,');
  });

  it("reads a WGSL struct's fields in order, with the line it starts on, past comments and spacing", () => {
    const code = [
      'override WG: u32 = 64;',
      '// struct Params { wrong: u32 }',
      '/* struct Params {',
      '   also: u32 } */',
      'struct Other { a: u32 }',
      'struct Params {',
      '  n :u32, offset: i32,   // the start',
      '  scale:  f32,',
      '  count: u32, last: u32,',
      '}',
      'struct Params2 { z: u32 }',
    ].join('\n');
    expect(wgslStructFields(code, 'Params')).toEqual({
      fields: ['n: u32', 'offset: i32', 'scale: f32', 'count: u32', 'last: u32'],
      line: 6,
    });
    expect(wgslStructFields(code, 'Params')!.fields).toEqual(P.fields);
    expect(wgslStructFields('struct Params { cout: u32, cin: u32 }', 'Params')).toEqual({ fields: ['cout: u32', 'cin: u32'], line: 1 });
    expect(wgslStructFields(code, 'Missing')).toBeUndefined();
  });

  it('a pipeline built from another layout has another cache key', () => {
    const Q = defineParams('Params', { offset: 'i32', n: 'u32', scale: 'f32', count: 'u32', last: 'u32' });
    const spec = { shader: 's', entry: 'e', constants: { WG: 64 } };
    expect(new Set([kernelKey(spec), kernelKey({ ...spec, params: P }), kernelKey({ ...spec, params: Q })]).size).toBe(3);
    expect(kernelKey({ ...spec, params: P })).toBe(kernelKey({ ...spec, params: defineParams('Params', { ...P.types }) }));
  });
});
