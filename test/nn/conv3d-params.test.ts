import { beforeAll, describe, expect, it } from 'vitest';
import { isGpuError } from '../../src/gpu/errors.js';
import type { Gpu } from '../../src/gpu/gpu.js';
import { defineParams, type ScalarType } from '../../src/gpu/uniforms.js';
import { CONV_PARAMS, PACK_PARAMS, WGRAD_PARAMS } from '../../src/nn/ops/conv3d.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

// conv3d_pack.wgsl's entry `forward`, the smallest kernel of the family: W[co][ci][k] → [ci][k][co padded].
const cout = 3;
const cin = 2;
const kk = 5;
const outerPad = 4;
const total = cin * kk * outerPad;
const values = { cout, cin, kk, outerPad, total };
const weights = Float32Array.from({ length: cout * cin * kk }, (_, i) => i + 1);
const expected = Float32Array.from({ length: total }, (_, i) => {
  const co = i % outerPad;
  const k = Math.floor(i / outerPad) % kk;
  const ci = Math.floor(i / outerPad / kk);
  return co < cout ? weights[(co * cin + ci) * kk + k]! : 0;
});

/** Runs conv3d_pack's `forward` with its parameters declared on the host as `types` and packed by name from `vals`. */
async function runPack(types: Record<string, ScalarType>, vals: Record<string, number>): Promise<Float32Array> {
  const layout = defineParams('Params', types);
  const src = gpu.upload(weights);
  const dst = gpu.createBuffer(total * 4);
  try {
    await gpu.run({ shader: 'conv3d_pack', entry: 'forward', constants: { WG: 64 }, params: layout }, [src, dst, layout.pack(vals)], 1);
    return await gpu.readF32(dst, total);
  } finally {
    gpu.release(src);
    gpu.release(dst);
  }
}

const refused =
  (text: RegExp) =>
  (e: unknown): boolean =>
    isGpuError(e, 'shader') && text.test((e as Error).message);

describe("the conv3d family's parameters are declared once on the host, by name, and checked against each shader", () => {
  it("each shader of the family declares exactly its host's struct, and compiles", async () => {
    const specs = [
      { shader: 'conv3d', entry: 'forward', params: CONV_PARAMS },
      { shader: 'conv3d_tiled', entry: 'forward', params: CONV_PARAMS },
      { shader: 'conv3d_transpose', entry: 'main', params: CONV_PARAMS },
      { shader: 'conv3d_wgrad', entry: 'partial', params: WGRAD_PARAMS },
      { shader: 'conv3d_wgrad', entry: 'reduce', params: WGRAD_PARAMS },
      { shader: 'conv3d_pack', entry: 'pad_bias', params: PACK_PARAMS },
    ];
    for (const s of specs) await expect(gpu.kernel(s), `${s.shader}:${s.entry}`).resolves.toBeDefined();
    expect([...(await runPack(PACK_PARAMS.types, values))]).toEqual([...expected]);
  });

  it('a reordered field is refused before anything runs, naming the shader line and the first field that differs', async () => {
    // Declared the other way round, the values would land in each other's places: kk in cin's, cin in kk's.
    const swapped = { cout: 'u32', kk: 'u32', cin: 'u32', outerPad: 'u32', total: 'u32' } as const;
    await expect(runPack(swapped, values)).rejects.toSatisfy(
      refused(
        /shader conv3d_pack: struct Params at shaders\/conv3d_pack\.wgsl:\d+ differs from its host's declaration at field 1: cin: u32 in the shader, kk: u32 on the host/,
      ),
    );
    const reversed = Object.fromEntries(Object.entries(PACK_PARAMS.types).reverse());
    await expect(runPack(reversed, values)).rejects.toSatisfy(refused(/at field 0: cout: u32 in the shader, total: u32 on the host/));
  });

  it('a field renamed, retyped, dropped or added on the host is refused', async () => {
    const t = PACK_PARAMS.types;
    const { outerPad: _, ...lacking } = t;
    const { outerPad: __, ...rest } = values;
    await expect(runPack({ ...lacking, pad: 'u32' }, { ...rest, pad: outerPad })).rejects.toSatisfy(
      refused(/at field 3: outerPad: u32 in the shader, total: u32 on the host/),
    );
    await expect(runPack({ ...t, outerPad: 'i32' }, values)).rejects.toSatisfy(
      refused(/at field 3: outerPad: u32 in the shader, outerPad: i32 on the host/),
    );
    await expect(runPack(lacking, rest)).rejects.toSatisfy(refused(/at field 3: outerPad: u32 in the shader, total: u32 on the host/));
    await expect(runPack({ ...t, spare: 'f32' }, { ...values, spare: 0 })).rejects.toSatisfy(
      refused(/at field 5: nothing in the shader, spare: f32 on the host/),
    );
    await expect(runPack({ ...t, spare: 'f32' }, { ...values, spare: 0 })).rejects.toSatisfy(
      refused(/the host declares:\nstruct Params \{\n {2}cout: u32,/),
    );
  });

  it('parameters packed with another layout, none bound, or packed for a spec that names none are refused', async () => {
    const src = gpu.upload(weights);
    const dst = gpu.createBuffer(total * 4);
    try {
      const spec = { shader: 'conv3d_pack', entry: 'forward', constants: { WG: 64 } };
      const other = defineParams('Params', { ...PACK_PARAMS.types, spare: 'u32' });
      await expect(gpu.run({ ...spec, params: PACK_PARAMS }, [src, dst, other.pack({ ...values, spare: 0 })], 1)).rejects.toSatisfy(
        refused(
          /parameters packed as Params\{cout: u32, .*spare: u32\} but the kernel declares Params\{cout: u32, cin: u32, kk: u32, outerPad: u32, total: u32\}/,
        ),
      );
      await expect(gpu.run(spec, [src, dst, PACK_PARAMS.pack(values)], 1)).rejects.toSatisfy(refused(/the kernel declares none/));
      const positional = new Uint8Array(new Uint32Array([cout, cin, kk, outerPad, total, 0, 0, 0]).buffer);
      await expect(gpu.run({ ...spec, params: PACK_PARAMS }, [src, dst, positional], 1)).rejects.toSatisfy(
        refused(/declares parameters Params but none were bound/),
      );
    } finally {
      gpu.release(src);
      gpu.release(dst);
    }
  });
});
