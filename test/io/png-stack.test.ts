import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isVolumeIoError } from '../../src/io/errors.js';
import { openVolume } from '../../src/io/open.js';
import { openPngFolder } from '../../src/io/png-stack.js';
import { makeBox } from '../../src/volume/box.js';
import { freshSeed, rng } from '../helpers/random.js';
import { pythonHas, pythonSkipNote, runPython, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());
const seed = freshSeed();

describe('PNG slice folders', () => {
  it.skipIf(!pythonHas('PIL', 'numpy'))(
    `8- and 16-bit slices written by Pillow read back exactly${pythonSkipNote('PIL', 'numpy')}`,
    async () => {
      runPython(
        `
import sys, os, numpy as np
from PIL import Image
out = sys.argv[1]
rng = np.random.default_rng(${seed})
for dt, mode in [('uint8', 'L'), ('uint16', 'I;16')]:
    d = os.path.join(out, dt)
    os.makedirs(d)
    a = rng.integers(0, np.iinfo(dt).max, size=(4, 7, 9), endpoint=True).astype(dt)
    for z in range(4):
        Image.fromarray(a[z], mode=mode).save(os.path.join(d, f'slice_{z * 4 + 2}.png'))
    a.astype('<f8').tofile(d + '.f64')
`,
        dir,
      );
      for (const dt of ['uint8', 'uint16']) {
        const v = await openVolume(join(dir, dt));
        expect(v.format).toBe('png-stack');
        expect(v.dtype).toBe(dt);
        expect(v.shape).toEqual([4, 7, 9]);
        const all = await v.readBox(makeBox([0, 0, 0], v.shape));
        const { readFile } = await import('node:fs/promises');
        const want = new Float64Array((await readFile(join(dir, `${dt}.f64`))).buffer.slice(0));
        expect(Array.from(all)).toEqual(Array.from(want));
        await v.close();
      }
    },
  );

  it(`grey stored as RGB is accepted, colour is refused, mixed sizes are refused (seed ${seed})`, async () => {
    const r = rng(seed);
    const grey = join(dir, 'rgbgrey');
    await mkdir(grey);
    const g = Uint8Array.from({ length: 5 * 4 }, () => Math.floor(r() * 256));
    const rgb = new Uint8Array(5 * 4 * 3).map((_, i) => g[Math.floor(i / 3)]!);
    await writeFile(join(grey, '0.png'), encode({ width: 5, height: 4, data: rgb, channels: 3, depth: 8 }));
    const v = await openPngFolder(grey);
    expect(Array.from(await v.readBox(makeBox([0, 0, 0], v.shape)))).toEqual(Array.from(g));
    const colour = join(dir, 'colour');
    await mkdir(colour);
    rgb[1] = rgb[1]! ^ 1;
    await writeFile(join(colour, '0.png'), encode({ width: 5, height: 4, data: rgb, channels: 3, depth: 8 }));
    const c = await openPngFolder(colour);
    expect(isVolumeIoError(await c.readBox(makeBox([0, 0, 0], c.shape)).catch((e: unknown) => e), 'Unsupported')).toBe(true);
    const mixed = join(dir, 'mixed');
    await mkdir(mixed);
    await writeFile(join(mixed, '0.png'), encode({ width: 5, height: 4, data: g, channels: 1, depth: 8 }));
    await writeFile(join(mixed, '1.png'), encode({ width: 4, height: 5, data: g, channels: 1, depth: 8 }));
    const err = await openPngFolder(mixed).catch((e: unknown) => e);
    expect(isVolumeIoError(err, 'Inconsistent')).toBe(true);
    expect(String(err)).toMatch(/1\.png.*4×5.*5×4/);
    await writeFile(join(mixed, '2.png'), 'not a png at all, just text');
    expect(isVolumeIoError(await openPngFolder(mixed).catch((e: unknown) => e), 'UnknownFormat')).toBe(true);
  });
});
