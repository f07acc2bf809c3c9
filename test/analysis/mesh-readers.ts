import type { Mesh } from '../../src/analysis/marching-cubes.js';

/**
 * Readers written from the format descriptions, independent of our writers' code: binary STL
 * (80-byte header, uint32 count, per triangle a normal, three vertices and a uint16), binary
 * little-endian PLY (ASCII header, then elements as declared) and VTK XML PolyData with inline
 * base64 arrays (a length header of header_type, then the values).
 */

/** STL gives triangle soup; vertices are merged by exact position to get an indexed mesh. */
export function readStl(buf: Uint8Array): Mesh & { normals: Float32Array } {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = v.getUint32(80, true);
  if (buf.length !== 84 + 50 * n) throw new Error(`STL: ${buf.length} bytes for ${n} triangles`);
  const index = new Map<string, number>();
  const pos: number[] = [];
  const tri = new Uint32Array(3 * n);
  const normals = new Float32Array(3 * n);
  for (let t = 0; t < n; t++) {
    const o = 84 + 50 * t;
    for (let k = 0; k < 3; k++) normals[3 * t + k] = v.getFloat32(o + 4 * k, true);
    for (let c = 0; c < 3; c++) {
      const p = [0, 1, 2].map((k) => v.getFloat32(o + 12 + 12 * c + 4 * k, true));
      const key = p.join(',');
      let id = index.get(key);
      if (id === undefined) {
        id = pos.length / 3;
        index.set(key, id);
        pos.push(...p);
      }
      tri[3 * t + c] = id;
    }
  }
  return { positions: Float32Array.from(pos), triangles: tri, normals };
}

export function readPly(buf: Uint8Array): Mesh {
  const headEnd = Buffer.from(buf).indexOf('end_header\n');
  if (headEnd < 0) throw new Error('PLY: no end_header');
  const head = Buffer.from(buf.subarray(0, headEnd)).toString('latin1').split('\n');
  if (head[0] !== 'ply' || head[1] !== 'format binary_little_endian 1.0')
    throw new Error(`PLY: unexpected header ${head.slice(0, 2).join(' / ')}`);
  const elements: { name: string; count: number; props: string[][] }[] = [];
  for (const line of head) {
    const w = line.trim().split(/\s+/);
    if (w[0] === 'element') elements.push({ name: w[1]!, count: Number(w[2]), props: [] });
    else if (w[0] === 'property') elements[elements.length - 1]!.props.push(w.slice(1));
  }
  const size: Record<string, number> = { char: 1, uchar: 1, short: 2, ushort: 2, int: 4, uint: 4, float: 4, double: 8 };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = headEnd + 'end_header\n'.length;
  const read = (type: string): number => {
    let x: number;
    switch (type) {
      case 'uchar':
        x = view.getUint8(o);
        break;
      case 'uint':
        x = view.getUint32(o, true);
        break;
      case 'int':
        x = view.getInt32(o, true);
        break;
      case 'float':
        x = view.getFloat32(o, true);
        break;
      case 'double':
        x = view.getFloat64(o, true);
        break;
      default:
        throw new Error(`PLY: type ${type} not handled`);
    }
    o += size[type]!;
    return x;
  };
  const pos: number[] = [];
  const tri: number[] = [];
  for (const el of elements) {
    for (let i = 0; i < el.count; i++) {
      for (const p of el.props) {
        if (p[0] === 'list') {
          const n = read(p[1]!);
          const vals = Array.from({ length: n }, () => read(p[2]!));
          if (el.name === 'face') {
            for (let k = 1; k + 1 < n; k++) tri.push(vals[0]!, vals[k]!, vals[k + 1]!);
          }
        } else {
          const x = read(p[0]!);
          if (el.name === 'vertex' && ['x', 'y', 'z'].includes(p[1]!)) pos.push(x);
        }
      }
    }
  }
  if (o !== buf.length) throw new Error(`PLY: ${buf.length - o} bytes after the last element`);
  return { positions: Float32Array.from(pos), triangles: Uint32Array.from(tri) };
}

export function readVtp(text: string): Mesh {
  const root = /<VTKFile([^>]*)>/.exec(text);
  if (!root || !/type="PolyData"/.test(root[1]!)) throw new Error('VTP: not a PolyData VTKFile');
  if (!/byte_order="LittleEndian"/.test(root[1]!)) throw new Error('VTP: not little-endian');
  const headerType = /header_type="(UInt32|UInt64)"/.exec(root[1]!)?.[1] ?? 'UInt32';
  const hb = headerType === 'UInt64' ? 8 : 4;
  const piece = /<Piece([^>]*)>/.exec(text)![1]!;
  const nPoints = Number(/NumberOfPoints="(\d+)"/.exec(piece)![1]);
  const nPolys = Number(/NumberOfPolys="(\d+)"/.exec(piece)![1]);
  const arrays = new Map<string, { type: string; bytes: Uint8Array }>();
  for (const m of text.matchAll(/<DataArray([^>]*)>([^<]*)<\/DataArray>/g)) {
    const attrs = m[1]!;
    const name = /Name="([^"]*)"/.exec(attrs)![1]!;
    if (!/format="binary"/.test(attrs)) throw new Error(`VTP: ${name} is not inline binary`);
    const raw = Buffer.from(m[2]!.trim(), 'base64');
    const len = hb === 8 ? Number(raw.readBigUInt64LE(0)) : raw.readUInt32LE(0);
    if (raw.length !== hb + len) throw new Error(`VTP: ${name} header says ${len} bytes, has ${raw.length - hb}`);
    arrays.set(name, {
      type: /type="([^"]*)"/.exec(attrs)![1]!,
      bytes: new Uint8Array(raw.buffer.slice(raw.byteOffset + hb, raw.byteOffset + hb + len)),
    });
  }
  const pts = arrays.get('Points')!;
  if (pts.type !== 'Float32') throw new Error(`VTP: Points are ${pts.type}`);
  const positions = new Float32Array(pts.bytes.buffer);
  const conn = new Int32Array(arrays.get('connectivity')!.bytes.buffer);
  const offs = new Int32Array(arrays.get('offsets')!.bytes.buffer);
  if (positions.length !== 3 * nPoints || offs.length !== nPolys) throw new Error('VTP: counts disagree with the Piece');
  const tri: number[] = [];
  let start = 0;
  for (const end of offs) {
    if (end - start !== 3) throw new Error('VTP: a polygon that is not a triangle');
    tri.push(conn[start]!, conn[start + 1]!, conn[start + 2]!);
    start = end;
  }
  return { positions, triangles: Uint32Array.from(tri) };
}
