import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VolumeMeta } from '../../src/io/volume.js';
import { SegmentationOutput } from '../../src/io/segmentation-output.js';
import { OmeZarrWriter } from '../../src/io/zarr-write.js';
import type { Vec3 } from '../../src/volume/box.js';

/**
 * A small synthetic scan for the viewer tests, with its ground truth: three straight roots (two
 * vertical, one lateral) in grainy soil, written the way our tools write them:
 *   scan.zarr   OME-Zarr 0.4 image pyramid, uint16, 3 levels, blosc-lz4 (as `convert` writes)
 *   seg.zarr    root probability + labels/roots mask, one level (as `segment` writes)
 *   labelled.zarr  uint8 pyramid with labels/roots as a pyramid too (as `synth` writes), gzip
 *   traits/     traits.json and roots.vtp (tubes along the roots, with a diameter array)
 * Physical coordinates are millimetres, [x, y, z], z pointing down.
 */

export const SHAPE: Vec3 = [64, 96, 112]; // z, y, x
export const VOXEL: Vec3 = [0.05, 0.04, 0.04]; // z, y, x (mm)
export const ORIGIN: Vec3 = [0.5, 1, 2]; // z, y, x (mm)

export interface Root {
  a: [number, number, number];
  b: [number, number, number];
  radius: number;
}

const X = (i: number): number => ORIGIN[2] + i * VOXEL[2];
const Y = (j: number): number => ORIGIN[1] + j * VOXEL[1];
const Z = (k: number): number => ORIGIN[0] + k * VOXEL[0];

export const ROOTS: Root[] = [
  { a: [X(30), Y(48), Z(4)], b: [X(30), Y(48), Z(60)], radius: 0.2 },
  { a: [X(30), Y(48), Z(40)], b: [X(100), Y(48), Z(40)], radius: 0.12 },
  { a: [X(85), Y(30), Z(10)], b: [X(85), Y(30), Z(50)], radius: 0.14 },
];

function distToSegment(p: [number, number, number], r: Root): number {
  const d = [r.b[0] - r.a[0], r.b[1] - r.a[1], r.b[2] - r.a[2]];
  const w = [p[0] - r.a[0], p[1] - r.a[1], p[2] - r.a[2]];
  const len2 = d[0]! ** 2 + d[1]! ** 2 + d[2]! ** 2;
  const t = Math.max(0, Math.min(1, (w[0]! * d[0]! + w[1]! * d[1]! + w[2]! * d[2]!) / len2));
  return Math.hypot(w[0]! - t * d[0]!, w[1]! - t * d[1]!, w[2]! - t * d[2]!);
}

function hash(i: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** Normalised intensity (0–1) and mask of the whole scan; small enough to hold (0.7 M voxels). */
export function render(): { value: Float32Array; mask: Uint8Array } {
  const [nz, ny, nx] = SHAPE;
  const value = new Float32Array(nz * ny * nx);
  const mask = new Uint8Array(nz * ny * nx);
  for (let z = 0, i = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++, i++) {
        const p: [number, number, number] = [X(x), Y(y), Z(z)];
        const root = ROOTS.some((r) => distToSegment(p, r) <= r.radius);
        // Soil: grains of 4-voxel cells with their own density, some air pores, noise.
        const cell = hash((((z >> 2) * 97 + (y >> 2)) * 131 + (x >> 2)) | 0);
        const soil = cell < 0.12 ? 0.1 : 0.45 + 0.35 * cell;
        const v = root ? 0.35 : soil;
        value[i] = Math.min(1, Math.max(0, v + (hash(i + 7) - 0.5) * 0.06));
        mask[i] = root ? 1 : 0;
      }
    }
  }
  return { value, mask };
}

function levelShape(s: Vec3, l: number): Vec3 {
  const f = 2 ** l;
  return [Math.ceil(s[0] / f), Math.ceil(s[1] / f), Math.ceil(s[2] / f)];
}

/** 2×2×2 reduction (edge blocks partial): mean for images, max for masks. */
function halve(data: ArrayLike<number>, s: Vec3, mode: 'mean' | 'max'): { data: Float64Array; shape: Vec3 } {
  const t = levelShape(s, 1);
  const out = new Float64Array(t[0] * t[1] * t[2]);
  for (let z = 0; z < t[0]; z++) {
    for (let y = 0; y < t[1]; y++) {
      for (let x = 0; x < t[2]; x++) {
        let acc = 0;
        let n = 0;
        for (let dz = 0; dz < 2; dz++) {
          for (let dy = 0; dy < 2; dy++) {
            for (let dx = 0; dx < 2; dx++) {
              const zz = 2 * z + dz;
              const yy = 2 * y + dy;
              const xx = 2 * x + dx;
              if (zz >= s[0] || yy >= s[1] || xx >= s[2]) continue;
              const v = data[(zz * s[1] + yy) * s[2] + xx]!;
              acc = mode === 'mean' ? acc + v : Math.max(acc, v);
              n++;
            }
          }
        }
        out[(z * t[1] + y) * t[2] + x] = mode === 'mean' ? acc / n : acc;
      }
    }
  }
  return { data: out, shape: t };
}

async function writePyramid(
  w: OmeZarrWriter,
  level0: ArrayLike<number>,
  mode: 'mean' | 'max',
  make: (n: number) => Uint8Array | Uint16Array,
): Promise<void> {
  let cur: { data: ArrayLike<number>; shape: Vec3 } = { data: level0, shape: SHAPE };
  for (let l = 0; l < w.opts.levelCount; l++) {
    const arr = make(cur.data.length);
    for (let i = 0; i < arr.length; i++) arr[i] = Math.round(cur.data[i]!);
    await w.writeLevelBox(l, { offset: [0, 0, 0], shape: cur.shape }, arr);
    if (l + 1 < w.opts.levelCount) cur = halve(cur.data, cur.shape, mode);
  }
  await w.finalize();
}

function vtp(roots: Root[]): string {
  const pts: number[] = [];
  const diam: number[] = [];
  const conn: number[] = [];
  const offs: number[] = [];
  const sides = 12;
  for (const r of roots) {
    const d = [r.b[0] - r.a[0], r.b[1] - r.a[1], r.b[2] - r.a[2]];
    const len = Math.hypot(d[0]!, d[1]!, d[2]!);
    const u = d.map((v) => v / len);
    // Two unit vectors across the root.
    const ref = Math.abs(u[2]!) < 0.9 ? [0, 0, 1] : [1, 0, 0];
    const e1 = [u[1]! * ref[2]! - u[2]! * ref[1]!, u[2]! * ref[0]! - u[0]! * ref[2]!, u[0]! * ref[1]! - u[1]! * ref[0]!];
    const n1 = Math.hypot(e1[0]!, e1[1]!, e1[2]!);
    const a1 = e1.map((v) => v / n1);
    const a2 = [u[1]! * a1[2]! - u[2]! * a1[1]!, u[2]! * a1[0]! - u[0]! * a1[2]!, u[0]! * a1[1]! - u[1]! * a1[0]!];
    const base = pts.length / 3;
    for (const end of [r.a, r.b]) {
      for (let s = 0; s < sides; s++) {
        const t = (2 * Math.PI * s) / sides;
        for (let k = 0; k < 3; k++) pts.push(end[k]! + r.radius * (Math.cos(t) * a1[k]! + Math.sin(t) * a2[k]!));
        diam.push(2 * r.radius);
      }
    }
    for (let s = 0; s < sides; s++) {
      const s2 = (s + 1) % sides;
      conn.push(base + s, base + s2, base + sides + s2, base + sides + s);
      offs.push(conn.length);
    }
  }
  const f = (a: number[]): string => a.map((v) => Number(v.toFixed(5))).join(' ');
  return `<?xml version="1.0"?>
<VTKFile type="PolyData" version="0.1" byte_order="LittleEndian">
  <PolyData>
    <Piece NumberOfPoints="${pts.length / 3}" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0" NumberOfPolys="${offs.length}">
      <PointData Scalars="diameter (mm)">
        <DataArray type="Float32" Name="diameter (mm)" format="ascii">${f(diam)}</DataArray>
      </PointData>
      <Points>
        <DataArray type="Float32" NumberOfComponents="3" format="ascii">${f(pts)}</DataArray>
      </Points>
      <Polys>
        <DataArray type="Int32" Name="connectivity" format="ascii">${conn.join(' ')}</DataArray>
        <DataArray type="Int32" Name="offsets" format="ascii">${offs.join(' ')}</DataArray>
      </Polys>
    </Piece>
  </PolyData>
</VTKFile>
`;
}

export interface Fixture {
  dir: string;
  scan: string;
  seg: string;
  labelled: string;
  traits: string;
}

export async function makeFixture(dir: string): Promise<Fixture> {
  await mkdir(dir, { recursive: true });
  const { value, mask } = render();
  const f: Fixture = {
    dir,
    scan: join(dir, 'scan.zarr'),
    seg: join(dir, 'seg.zarr'),
    labelled: join(dir, 'labelled.zarr'),
    traits: join(dir, 'traits'),
  };
  const meta = (dtype: VolumeMeta['dtype']): VolumeMeta => ({ shape: SHAPE, dtype, voxelSize: VOXEL, unit: 'millimeter', origin: ORIGIN });
  const common = { zarrFormat: 2 as const, chunkShape: [32, 32, 32] as Vec3, overwrite: true };

  const scan16 = Float64Array.from(value, (v) => v * 40000 + 2000);
  const scan = await OmeZarrWriter.create(f.scan, meta('uint16'), {
    ...common,
    compression: { compression: 'blosc' },
    levelCount: 3,
    method: 'mean',
    name: 'scan',
  });
  await writePyramid(scan, scan16, 'mean', (n) => new Uint16Array(n));

  const seg = await SegmentationOutput.open(
    f.seg,
    meta('uint8'),
    { input: f.scan, model: 'fixture', threshold: 0.5, tta: false, chunk: [32, 32, 32] },
    { compression: 'zstd' },
    true,
  );
  for (const c of seg.grid.chunksIn({ offset: [0, 0, 0], shape: SHAPE })) {
    const box = seg.grid.chunkBox(c);
    const n = box.shape[0] * box.shape[1] * box.shape[2];
    const prob = new Uint8Array(n);
    const m = new Uint8Array(n);
    let i = 0;
    for (let z = box.offset[0]; z < box.offset[0] + box.shape[0]; z++) {
      for (let y = box.offset[1]; y < box.offset[1] + box.shape[1]; y++) {
        for (let x = box.offset[2]; x < box.offset[2] + box.shape[2]; x++, i++) {
          const k = (z * SHAPE[1] + y) * SHAPE[2] + x;
          m[i] = mask[k]!;
          prob[i] = mask[k] ? 230 : Math.round(20 * hash(k));
        }
      }
    }
    await seg.writeChunk(c, prob, m);
  }
  if (!(await seg.tryFinalize({ fixture: true }))) throw new Error('fixture segmentation did not finalise');

  const lab = await OmeZarrWriter.create(f.labelled, meta('uint8'), {
    ...common,
    compression: { compression: 'gzip' },
    levelCount: 2,
    method: 'mean',
    name: 'synthetic',
  });
  await writePyramid(
    lab,
    Float64Array.from(value, (v) => v * 255),
    'mean',
    (n) => new Uint8Array(n),
  );
  const labW = await OmeZarrWriter.create(f.labelled, meta('uint8'), {
    ...common,
    compression: { compression: 'gzip' },
    levelCount: 2,
    method: 'max',
    label: 'roots',
    colors: [{ 'label-value': 1, rgba: [255, 128, 0, 255] }],
  });
  await writePyramid(labW, mask, 'max', (n) => new Uint8Array(n));

  await mkdir(f.traits, { recursive: true });
  const lengths = ROOTS.map((r) => Math.hypot(r.b[0] - r.a[0], r.b[1] - r.a[1], r.b[2] - r.a[2]));
  await writeFile(
    join(f.traits, 'traits.json'),
    JSON.stringify(
      {
        summary: {
          root_count: ROOTS.length,
          total_length_mm: lengths.reduce((a, b) => a + b, 0),
          max_depth_mm: Math.max(...ROOTS.map((r) => Math.max(r.a[2], r.b[2]))) - ORIGIN[0],
        },
        roots: ROOTS.map((r, i) => ({ id: i, length_mm: lengths[i], diameter_mm: 2 * r.radius })),
      },
      null,
      2,
    ),
  );
  await writeFile(join(f.traits, 'roots.vtp'), vtp(ROOTS));
  return f;
}

// `npx tsx test/viewer/fixture.ts DIR` writes the fixture for a look by hand.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2] ?? 'tmp/viewer-fixture';
  makeFixture(dir).then((f) => console.log(JSON.stringify(f, null, 2)));
}
