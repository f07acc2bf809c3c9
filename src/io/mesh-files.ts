import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Vec3 } from '../volume/box.js';
import { withAtomicFile } from './atomic-write.js';
import { Base64Stream, plyFaces, plyHeader, stlHeader, stlTriangle, vtkHeaderType, vtkLengthHeader, vtpParts } from './mesh-formats.js';

/** The surface mesh files `traits` can write. */
export type MeshFormat = 'vtp' | 'stl' | 'ply';
export const MESH_FORMATS: readonly MeshFormat[] = ['vtp', 'stl', 'ply'];

/** Buffered writes to one file; callers push bytes synchronously, flush() writes them. */
class BufferedFile {
  private parts: Uint8Array[] = [];
  private pending = 0;
  bytes = 0;
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}
  static async create(path: string): Promise<BufferedFile> {
    return new BufferedFile(path, await open(path, 'w'));
  }
  push(b: Uint8Array): void {
    this.parts.push(b);
    this.pending += b.length;
    this.bytes += b.length;
  }
  async flush(): Promise<void> {
    if (!this.pending) return;
    const all = Buffer.concat(this.parts, this.pending);
    this.parts = [];
    this.pending = 0;
    await this.fh.write(all);
  }
  async close(): Promise<void> {
    await this.flush();
    await this.fh.close();
  }
}

/**
 * Streams a surface, as analysis/marching-cubes' SurfaceAssembler gives it (vertices in voxel
 * index space z, y, x; triangles as vertex indices), to temporary files beside the meshes to come
 * (vertices, triangles, STL body), in physical x, y, z, and sums its volume and area. `write`
 * then assembles the mesh files from them.
 */
export class MeshStreams {
  volume = 0;
  area = 0;
  vertices = 0;
  triangles = 0;
  private vbuf: number[] = [];
  private tbuf: number[] = [];
  private sbuf: number[] = [];
  private constructor(
    readonly vfile: BufferedFile,
    readonly tfile: BufferedFile,
    readonly sfile: BufferedFile | undefined,
    private readonly spacing: Vec3,
    private readonly origin: Vec3,
  ) {}
  static async create(dir: string, spacing: Vec3, origin: Vec3, stl: boolean): Promise<MeshStreams> {
    return new MeshStreams(
      await BufferedFile.create(join(dir, '.vertices.tmp')),
      await BufferedFile.create(join(dir, '.triangles.tmp')),
      stl ? await BufferedFile.create(join(dir, '.stl-body.tmp')) : undefined,
      spacing,
      origin,
    );
  }
  private phys(p: ArrayLike<number>): [number, number, number] {
    return [this.origin[2] + p[2]! * this.spacing[2], this.origin[1] + p[1]! * this.spacing[1], this.origin[0] + p[0]! * this.spacing[0]];
  }
  vertex(z: number, y: number, x: number): void {
    this.vbuf.push(...this.phys([z, y, x]));
    this.vertices++;
  }
  triangle(a: number, b: number, c: number, pa: ArrayLike<number>, pb: ArrayLike<number>, pc: ArrayLike<number>): void {
    this.tbuf.push(a, b, c);
    const A = this.phys(pa);
    const B = this.phys(pb);
    const C = this.phys(pc);
    const cx = B[1] * C[2] - B[2] * C[1];
    const cy = B[2] * C[0] - B[0] * C[2];
    const cz = B[0] * C[1] - B[1] * C[0];
    this.volume += (A[0] * cx + A[1] * cy + A[2] * cz) / 6;
    const u = [B[0] - A[0], B[1] - A[1], B[2] - A[2]];
    const w = [C[0] - A[0], C[1] - A[1], C[2] - A[2]];
    this.area += Math.hypot(u[1]! * w[2]! - u[2]! * w[1]!, u[2]! * w[0]! - u[0]! * w[2]!, u[0]! * w[1]! - u[1]! * w[0]!) / 2;
    if (this.sfile) this.sbuf.push(...A, ...B, ...C);
    this.triangles++;
  }
  async flush(): Promise<void> {
    this.vfile.push(new Uint8Array(Float32Array.from(this.vbuf).buffer));
    this.tfile.push(new Uint8Array(Uint32Array.from(this.tbuf).buffer));
    if (this.sfile) {
      const n = this.sbuf.length / 9;
      const rec = new Uint8Array(50 * n);
      const view = new DataView(rec.buffer);
      for (let t = 0; t < n; t++) {
        const q = this.sbuf.slice(9 * t, 9 * t + 9);
        stlTriangle(view, 50 * t, q.slice(0, 3), q.slice(3, 6), q.slice(6, 9));
      }
      this.sfile.push(rec);
    }
    this.vbuf = [];
    this.tbuf = [];
    this.sbuf = [];
    await Promise.all([this.vfile.flush(), this.tfile.flush(), this.sfile?.flush()]);
  }
  async close(): Promise<void> {
    await this.flush();
    await Promise.all([this.vfile.close(), this.tfile.close(), this.sfile?.close()]);
  }

  /**
   * Closes the streams, writes `roots.{stl,ply,vtp}` of the formats asked for into `dir` (each
   * atomically; none when the surface has no triangle) and removes the temporaries. Returns the
   * names of the files written.
   */
  async write(dir: string, formats: readonly MeshFormat[], comment: string): Promise<string[]> {
    await this.close();
    const files: string[] = [];
    const vtmp = this.vfile.path;
    const ttmp = this.tfile.path;
    if (this.triangles > 0) {
      if (formats.includes('stl')) {
        await writePieces(join(dir, 'roots.stl'), [stlHeader(this.triangles, comment), readChunks(this.sfile!.path)]);
        files.push('roots.stl');
      }
      if (formats.includes('ply')) {
        await writePieces(join(dir, 'roots.ply'), [
          plyHeader(this.vertices, this.triangles, [comment]),
          readChunks(vtmp),
          plyFaceChunks(ttmp),
        ]);
        files.push('roots.ply');
      }
      if (formats.includes('vtp')) {
        const ht = vtkHeaderType(Math.max(this.vfile.bytes, this.tfile.bytes));
        const parts = vtpParts(this.vertices, this.triangles, ht, comment);
        await writePieces(join(dir, 'roots.vtp'), [
          parts[0]!,
          base64Of([vtkLengthHeader(this.vfile.bytes, ht), readChunks(vtmp)]),
          parts[1]!,
          base64Of([vtkLengthHeader(this.tfile.bytes, ht), readChunks(ttmp)]),
          parts[2]!,
          base64Of([vtkLengthHeader(4 * this.triangles, ht), offsetChunks(this.triangles)]),
          parts[3]!,
        ]);
        files.push('roots.vtp');
      }
    }
    await Promise.all([vtmp, ttmp, this.sfile?.path].filter((p): p is string => !!p).map((p) => rm(p, { force: true })));
    return files;
  }
}

const CHUNK = 3 << 20; // a multiple of 3, 4 and 12 bytes

async function* readChunks(path: string, size = CHUNK): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const buf = Buffer.alloc(size);
      const { bytesRead } = await fh.read(buf, 0, size, null);
      if (bytesRead === 0) break;
      yield buf.subarray(0, bytesRead);
      if (bytesRead < size) break;
    }
  } finally {
    await fh.close();
  }
}

/** Writes a file atomically (io/atomic-write) from pieces (strings or async byte streams). */
async function writePieces(path: string, pieces: (string | Uint8Array | AsyncIterable<Uint8Array>)[]): Promise<void> {
  await withAtomicFile(path, async (tmp) => {
    const fh = await open(tmp, 'w');
    try {
      for (const p of pieces) {
        if (typeof p === 'string') await fh.write(p);
        else if (p instanceof Uint8Array) await fh.write(p);
        else for await (const b of p) await fh.write(b);
      }
    } finally {
      await fh.close();
    }
  });
}

async function* base64Of(parts: (Uint8Array | AsyncIterable<Uint8Array>)[]): AsyncGenerator<Uint8Array> {
  const enc = new Base64Stream();
  for (const p of parts) {
    if (p instanceof Uint8Array) yield Buffer.from(enc.push(p));
    else for await (const b of p) yield Buffer.from(enc.push(b));
  }
  yield Buffer.from(enc.end());
}

async function* plyFaceChunks(trianglesPath: string): AsyncGenerator<Uint8Array> {
  for await (const b of readChunks(trianglesPath, 12 * 262144))
    yield plyFaces(new Uint32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
}

async function* offsetChunks(n: number): AsyncGenerator<Uint8Array> {
  for (let t0 = 0; t0 < n; t0 += 262144) {
    const k = Math.min(262144, n - t0);
    const a = new Int32Array(k);
    for (let i = 0; i < k; i++) a[i] = 3 * (t0 + i + 1);
    yield new Uint8Array(a.buffer);
  }
}
