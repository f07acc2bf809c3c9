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
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
        throw new RangeError(`uniform field ${k}: ${v} is not a u32 (use {i32} or {f32})`);
      u[k] = v;
    } else if ('i32' in v) i[k] = v.i32;
    else f[k] = v.f32;
  });
  return new Uint8Array(buf);
}

/** The scalar types a kernel's parameter struct may hold (4 bytes each). */
export type ScalarType = 'u32' | 'i32' | 'f32';

/** What a kernel spec and the shader loader need of a parameter layout. */
export interface ParamsStruct {
  readonly structName: string;
  /** Each field as `name: type`, in struct order. */
  readonly fields: readonly string[];
  /** `struct NAME { a: u32, b: i32, … }`, one field a line: what the shader must declare. */
  readonly wgsl: string;
  /** Identifies the layout in cache keys: the struct name, then each field's name and type in order. */
  readonly signature: string;
}

/**
 * A kernel's uniform parameters, declared once by name and type in the order the struct lays them
 * out (after ONNX Runtime's WebGPU EP, which declares a program's uniforms on the host): `pack`
 * fills the struct by name, and a kernel spec that names the layout (`params`) is refused by the
 * Gpu unless its shader's `struct NAME` has exactly these fields, types and order. So a field
 * reordered, renamed, retyped, added or dropped on either side fails loudly instead of silently
 * reading another field's value; a value missing, unknown or out of its type's range fails `pack`.
 * The struct stays written in the WGSL (valid WGSL for other tools, as `// #include` lines are);
 * `wgsl` is what it must say. Fields named `_…` are padding: declared (so the layouts match) but
 * never given; `pack` writes them as zero.
 */
export class ParamsLayout<T extends Record<string, ScalarType>> implements ParamsStruct {
  readonly names: readonly (keyof T & string)[];
  readonly fields: readonly string[];
  readonly wgsl: string;
  readonly signature: string;

  constructor(
    readonly structName: string,
    readonly types: T,
  ) {
    const ident = /^[A-Za-z_][A-Za-z0-9_]*$/;
    if (!ident.test(structName)) throw new RangeError(`params struct name ${JSON.stringify(structName)} is not a WGSL identifier`);
    this.names = Object.keys(types) as (keyof T & string)[];
    if (this.names.length === 0) throw new RangeError(`params struct ${structName} has no fields`);
    for (const n of this.names) {
      if (!ident.test(n)) throw new RangeError(`params struct ${structName}: field ${JSON.stringify(n)} is not a WGSL identifier`);
      if (!['u32', 'i32', 'f32'].includes(types[n]!))
        throw new RangeError(`params struct ${structName}: field ${n} has type ${String(types[n])}, not u32, i32 or f32`);
    }
    this.fields = this.names.map((n) => `${n}: ${types[n]}`);
    this.wgsl = `struct ${structName} {\n${this.fields.map((f) => `  ${f},`).join('\n')}\n}`;
    this.signature = `${structName}{${this.fields.join(', ')}}`;
  }

  /** The struct's bytes with every field set by name (padded to whole 16-byte rows). */
  pack(values: { readonly [K in keyof T as K extends `_${string}` ? never : K]: number }): PackedParams {
    const given = Object.keys(values);
    const unknown = given.filter((k) => !(k in this.types) || isPadding(k));
    const missing = this.names.filter((n) => !isPadding(n) && !given.includes(n));
    if (unknown.length || missing.length) {
      throw new RangeError(
        `params ${this.structName}: ${[missing.length ? `missing ${missing.join(', ')}` : '', unknown.length ? `unknown ${unknown.join(', ')}` : ''].filter(Boolean).join('; ')} (declared: ${this.names.join(', ')})`,
      );
    }
    const words = Math.ceil(this.names.length / 4) * 4;
    const buf = new ArrayBuffer(words * 4);
    const u = new Uint32Array(buf);
    const i = new Int32Array(buf);
    const f = new Float32Array(buf);
    this.names.forEach((n, k) => {
      if (isPadding(n)) return;
      const v = (values as Record<string, number>)[n]!;
      const type = this.types[n];
      const ok =
        type === 'u32'
          ? Number.isInteger(v) && v >= 0 && v <= 0xffffffff
          : type === 'i32'
            ? Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff
            : typeof v === 'number';
      if (!ok) throw new RangeError(`params ${this.structName}: ${n} = ${v} is not a ${type}`);
      if (type === 'u32') u[k] = v;
      else if (type === 'i32') i[k] = v;
      else f[k] = v;
    });
    return new PackedParams(this, new Uint8Array(buf));
  }
}

const isPadding = (name: string): boolean => name.startsWith('_');

/** A parameter struct filled by `ParamsLayout.pack`: bound like uniform bytes, and checked against the kernel's declared layout. */
export class PackedParams {
  constructor(
    readonly layout: ParamsStruct,
    readonly bytes: Uint8Array,
  ) {}
}

/** Declares a kernel's parameter struct: `defineParams('Params', { n: 'u32', inD0: 'i32', … })`, fields in struct order. */
export function defineParams<const T extends Record<string, ScalarType>>(structName: string, fields: T): ParamsLayout<T> {
  return new ParamsLayout(structName, fields);
}

/**
 * The fields of `struct NAME { … }` in WGSL text, each as `name: type` with spacing normalised, and
 * the (1-based) line the struct starts on; undefined when the text declares no such struct.
 */
export function wgslStructFields(code: string, name: string): { fields: string[]; line: number } | undefined {
  // Blank out comments, keeping newlines (and so line numbers).
  const text = code.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, '');
  const m = new RegExp(`\\bstruct\\s+${name}\\s*\\{([^}]*)\\}`).exec(text);
  if (!m) return undefined;
  const fields = m[1]!
    .split(',')
    .map((f) =>
      f
        .trim()
        .replace(/\s*:\s*/, ': ')
        .replace(/\s+/g, ' '),
    )
    .filter((f) => f.length > 0);
  return { fields, line: text.slice(0, m.index).split('\n').length };
}
