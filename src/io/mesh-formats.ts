/**
 * Byte layouts of the mesh files we write, as pieces a writer can stream: binary STL (80-byte
 * header, uint32 count, 50 bytes per triangle), binary little-endian PLY (text header with the
 * counts, float32 x y z per vertex, `uchar 3` + three uint32 per face), and VTK XML PolyData
 * (.vtp, inline base64 "binary" arrays, each a length header then the values, as one base64
 * stream; readable by VTK/ParaView and vtk.js). Coordinates are x, y, z in the unit the header
 * names. Streamed to files by io/mesh-files.
 */

/** A whole mesh in memory (analysis/marching-cubes' Mesh is one): x, y, z per vertex, three vertex indices per triangle. */
export interface Mesh {
  readonly positions: Float32Array;
  readonly triangles: Uint32Array;
}

export function stlHeader(triangles: number, comment: string): Uint8Array {
  const out = new Uint8Array(84);
  const text = new TextEncoder().encode(comment.replace(/^solid/i, 'Solid')).subarray(0, 80);
  out.set(text);
  new DataView(out.buffer).setUint32(80, triangles, true);
  return out;
}

/** Writes one STL triangle (normal, three vertices, attribute 0) at `offset` (50 bytes). */
export function stlTriangle(view: DataView, offset: number, a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>): void {
  const u = [b[0]! - a[0]!, b[1]! - a[1]!, b[2]! - a[2]!];
  const v = [c[0]! - a[0]!, c[1]! - a[1]!, c[2]! - a[2]!];
  let n = [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
  const l = Math.hypot(n[0]!, n[1]!, n[2]!);
  n = l > 0 ? n.map((k) => k / l) : [0, 0, 0];
  let o = offset;
  for (const p of [n, a, b, c]) {
    for (let k = 0; k < 3; k++) {
      view.setFloat32(o, p[k]!, true);
      o += 4;
    }
  }
  view.setUint16(o, 0, true);
}

export function plyHeader(vertices: number, faces: number, comments: readonly string[] = []): string {
  return [
    'ply',
    'format binary_little_endian 1.0',
    ...comments.map((c) => `comment ${c.replace(/[\r\n]/g, ' ')}`),
    `element vertex ${vertices}`,
    'property float x',
    'property float y',
    'property float z',
    `element face ${faces}`,
    'property list uchar uint vertex_indices',
    'end_header',
    '',
  ].join('\n');
}

/** PLY face records (13 bytes each) for triangles given as vertex index triples. */
export function plyFaces(tri: Uint32Array): Uint8Array {
  const n = tri.length / 3;
  const out = new Uint8Array(13 * n);
  const view = new DataView(out.buffer);
  for (let t = 0; t < n; t++) {
    out[13 * t] = 3;
    view.setUint32(13 * t + 1, tri[3 * t]!, true);
    view.setUint32(13 * t + 5, tri[3 * t + 1]!, true);
    view.setUint32(13 * t + 9, tri[3 * t + 2]!, true);
  }
  return out;
}

/** Base64 over a stream of byte chunks (what VTK's inline binary arrays hold). */
export class Base64Stream {
  private carry = new Uint8Array(0);

  push(bytes: Uint8Array): string {
    const all = new Uint8Array(this.carry.length + bytes.length);
    all.set(this.carry);
    all.set(bytes, this.carry.length);
    const whole = all.length - (all.length % 3);
    this.carry = all.slice(whole);
    return Buffer.from(all.buffer, all.byteOffset, whole).toString('base64');
  }

  end(): string {
    const s = Buffer.from(this.carry).toString('base64');
    this.carry = new Uint8Array(0);
    return s;
  }
}

/** The length header of one VTK binary array: UInt32, or UInt64 when the array is 4 GiB or more. */
export function vtkHeaderType(largestArrayBytes: number): 'UInt32' | 'UInt64' {
  return largestArrayBytes >= 2 ** 32 ? 'UInt64' : 'UInt32';
}

export function vtkLengthHeader(bytes: number, type: 'UInt32' | 'UInt64'): Uint8Array {
  const out = new Uint8Array(type === 'UInt32' ? 4 : 8);
  const v = new DataView(out.buffer);
  if (type === 'UInt32') v.setUint32(0, bytes, true);
  else v.setBigUint64(0, BigInt(bytes), true);
  return out;
}

/**
 * The .vtp text around three arrays, in order: Points (Float32 ×3), Polys connectivity (Int32),
 * Polys offsets (Int32). `parts[i]` goes before array i, `parts[3]` after the last.
 */
export function vtpParts(vertices: number, triangles: number, headerType: 'UInt32' | 'UInt64', comment: string): string[] {
  const da = (type: string, name: string, comps = 1): string =>
    `        <DataArray type="${type}" Name="${name}"${comps > 1 ? ` NumberOfComponents="${comps}"` : ''} format="binary">`;
  return [
    [
      '<?xml version="1.0"?>',
      `<!-- ${comment.replace(/--/g, '- -')} -->`,
      `<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="${headerType}">`,
      '  <PolyData>',
      `    <Piece NumberOfPoints="${vertices}" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0" NumberOfPolys="${triangles}">`,
      '      <Points>',
      da('Float32', 'Points', 3),
    ].join('\n'),
    ['</DataArray>', '      </Points>', '      <Polys>', da('Int32', 'connectivity')].join('\n'),
    ['</DataArray>', da('Int32', 'offsets')].join('\n'),
    ['</DataArray>', '      </Polys>', '    </Piece>', '  </PolyData>', '</VTKFile>', ''].join('\n'),
  ];
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Small meshes, whole in memory: the same bytes the streaming writer produces. */
export function encodeStl(m: Mesh, comment = 'rhizoct'): Uint8Array {
  const n = m.triangles.length / 3;
  const out = new Uint8Array(84 + 50 * n);
  out.set(stlHeader(n, comment));
  const view = new DataView(out.buffer);
  const p = m.positions;
  const at = (i: number): Float32Array => p.subarray(3 * i, 3 * i + 3);
  for (let t = 0; t < n; t++)
    stlTriangle(view, 84 + 50 * t, at(m.triangles[3 * t]!), at(m.triangles[3 * t + 1]!), at(m.triangles[3 * t + 2]!));
  return out;
}

export function encodePly(m: Mesh, comments: readonly string[] = []): Uint8Array {
  const head = new TextEncoder().encode(plyHeader(m.positions.length / 3, m.triangles.length / 3, comments));
  const faces = plyFaces(m.triangles);
  const out = new Uint8Array(head.length + m.positions.byteLength + faces.length);
  out.set(head);
  out.set(bytesOf(m.positions), head.length);
  out.set(faces, head.length + m.positions.byteLength);
  return out;
}

export function encodeVtp(m: Mesh, comment = 'rhizoct'): string {
  const nv = m.positions.length / 3;
  const nt = m.triangles.length / 3;
  const offsets = new Int32Array(nt);
  for (let t = 0; t < nt; t++) offsets[t] = 3 * (t + 1);
  const conn = new Int32Array(m.triangles.buffer, m.triangles.byteOffset, m.triangles.length);
  const ht = vtkHeaderType(Math.max(m.positions.byteLength, conn.byteLength));
  const parts = vtpParts(nv, nt, ht, comment);
  const arr = (a: ArrayBufferView): string => {
    const b = new Base64Stream();
    return b.push(vtkLengthHeader(a.byteLength, ht)) + b.push(bytesOf(a)) + b.end();
  };
  return parts[0]! + arr(m.positions) + parts[1]! + arr(conn) + parts[2]! + arr(offsets) + parts[3]!;
}
