import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { openVolume } from '../../src/io/open.js';
import { makeBox } from '../../src/volume/box.js';
import { SHARED_DATA } from './helpers.js';

const bean = join(SHARED_DATA, 'bean-bucket-xct');
const maize = join(SHARED_DATA, 'maize-crown-ct');
const note = (p: string): string => (existsSync(p) ? '' : ` [SKIPPED: ${p} is absent]`);

describe('real scans from ../shared/data', () => {
  it.skipIf(!existsSync(bean))(`bean bucket: 500 ImageJ big-endian uint8 TIFF slices${note(bean)}`, async () => {
    const v = await openVolume(bean);
    expect(v.format).toBe('tiff-stack');
    expect(v.shape).toEqual([500, 500, 500]);
    expect(v.dtype).toBe('uint8');
    // Independent decode: uncompressed pixels start at byte 160 of each slice file.
    for (const [z, y, x] of [
      [0, 0, 0],
      [123, 456, 78],
      [499, 499, 499],
      [250, 1, 498],
    ] as const) {
      const fh = await open(join(bean, `bean_bucket_${String(z).padStart(4, '0')}.tif`), 'r');
      const b = Buffer.alloc(1);
      await fh.read(b, 0, 1, 160 + y * 500 + x);
      await fh.close();
      const got = await v.readBox(makeBox([z, y, x], [1, 1, 1]));
      expect(got[0], `voxel ${z},${y},${x}`).toBe(b[0]);
    }
    await v.close();
  });

  it.skipIf(!existsSync(maize))(`maize crown: 471 PNG slices${note(maize)}`, async () => {
    const v = await openVolume(maize);
    expect(v.format).toBe('png-stack');
    expect(v.shape).toEqual([471, 375, 375]);
    expect(v.dtype).toBe('uint8');
    // Independent decode of one slice: concatenate IDAT, inflate, undo each row's PNG filter.
    const z = 300;
    const png = await readFile(join(maize, `${String(z).padStart(4, '0')}.png`));
    const idat: Buffer[] = [];
    for (let p = 8; p < png.length;) {
      const len = png.readUInt32BE(p);
      if (png.toString('latin1', p + 4, p + 8) === 'IDAT') idat.push(png.subarray(p + 8, p + 8 + len));
      p += 12 + len;
    }
    const raw = inflateSync(Buffer.concat(idat));
    const w = 375;
    const rows: Uint8Array[] = [];
    for (let y = 0; y < 375; y++) {
      const f = raw[y * (w + 1)]!;
      const line = Uint8Array.from(raw.subarray(y * (w + 1) + 1, (y + 1) * (w + 1)));
      const up = rows[y - 1] ?? new Uint8Array(w);
      for (let x = 0; x < w; x++) {
        const a = x > 0 ? line[x - 1]! : 0;
        const b = up[x]!;
        const c = x > 0 ? up[x - 1]! : 0;
        const pa = Math.abs(b - c),
          pb = Math.abs(a - c),
          pc = Math.abs(a + b - 2 * c);
        const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        line[x] = (line[x]! + pred) & 0xff;
      }
      rows.push(line);
    }
    const got = await v.readBox(makeBox([z, 0, 0], [1, 375, 375]));
    for (const [y, x] of [
      [0, 0],
      [187, 187],
      [374, 374],
      [100, 250],
      [300, 20],
    ] as const) {
      expect(got[y * 375 + x], `voxel ${z},${y},${x}`).toBe(rows[y]![x]);
    }
    await v.close();
  });
});
