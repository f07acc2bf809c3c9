/** Packs scalar uniform fields (u32, i32 or f32, 4 bytes each, in declaration order) for a WGSL struct. */
export type UniformField = number | { i32: number } | { f32: number };

export function uniforms(...fields: UniformField[]): Uint8Array {
  const words = Math.max(4, Math.ceil(fields.length / 4) * 4);
  const buf = new ArrayBuffer(words * 4);
  const u = new Uint32Array(buf);
  const i = new Int32Array(buf);
  const f = new Float32Array(buf);
  fields.forEach((v, k) => {
    if (typeof v === 'number') {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`uniform field ${k}: ${v} is not a u32 (use {i32} or {f32})`);
      u[k] = v;
    } else if ('i32' in v) i[k] = v.i32;
    else f[k] = v.f32;
  });
  return new Uint8Array(buf);
}
