import { type Box, type Vec3, boxEnd, fmtVec } from '../volume/box.js';
import { UnionFind } from './union-find.js';

/** Voxel adjacency: faces (6), faces and edges (18), or faces, edges and corners (26). */
export type Connectivity = 6 | 18 | 26;

/** Offsets (dz, dy, dx) of the neighbours visited before a voxel in raster order. */
export function backwardOffsets(connectivity: Connectivity): Vec3[] {
  const out: Vec3[] = [];
  for (let dz = -1; dz <= 0; dz++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        if (dz === 0 && (dy > 0 || (dy === 0 && dx >= 0))) continue;
        const l1 = Math.abs(dz) + Math.abs(dy) + Math.abs(dx);
        if (connectivity === 6 && l1 > 1) continue;
        if (connectivity === 18 && l1 > 2) continue;
        out.push([dz, dy, dx]);
      }
    }
  }
  return out;
}

/** Every offset of the neighbourhood (centre excluded). */
export function neighbourOffsets(connectivity: Connectivity): Vec3[] {
  const back = backwardOffsets(connectivity);
  return [...back, ...back.map(([a, b, c]) => [-a, -b, -c] as Vec3)];
}

export interface Labelling {
  /** 0 for background, 1..count for components, numbered by first voxel in raster order. */
  readonly labels: Int32Array;
  readonly count: number;
  /** Voxels per label (index 0 unused). */
  readonly sizes: Float64Array;
}

/**
 * Connected components of the nonzero voxels (two-pass union-find). Labels are numbered in the
 * order their first voxel appears in raster (z, y, x) order, as scipy.ndimage.label does.
 */
export function labelComponents(mask: ArrayLike<number>, shape: Vec3, connectivity: Connectivity = 26): Labelling {
  const [nz, ny, nx] = shape;
  if (mask.length !== nz * ny * nx) throw new RangeError(`labelComponents: ${mask.length} voxels for shape ${fmtVec(shape)}`);
  const offs = backwardOffsets(connectivity);
  const prov = new Int32Array(mask.length);
  const uf = new UnionFind(256);
  uf.add(); // id 0 = background
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        const i = (z * ny + y) * nx + x;
        if (!mask[i]) continue;
        let lab = 0;
        for (const [dz, dy, dx] of offs) {
          const zz = z + dz;
          const yy = y + dy;
          const xx = x + dx;
          if (zz < 0 || yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
          const l = prov[(zz * ny + yy) * nx + xx]!;
          if (l === 0) continue;
          lab = lab === 0 ? l : uf.union(lab, l);
        }
        prov[i] = lab === 0 ? uf.add() : lab;
      }
    }
  }
  const final = new Int32Array(uf.size);
  let count = 0;
  const sizes: number[] = [0];
  for (let i = 0; i < prov.length; i++) {
    const p = prov[i]!;
    if (p === 0) continue;
    const r = uf.find(p);
    let f = final[r]!;
    if (f === 0) {
      f = ++count;
      final[r] = f;
      sizes.push(0);
    }
    prov[i] = f;
    sizes[f]!++;
  }
  return { labels: prov, count, sizes: Float64Array.from(sizes) };
}

/** One connected component of the whole volume. */
export interface Component {
  /** 1-based, in raster order of each component's first voxel (scipy's numbering). */
  readonly id: number;
  readonly voxels: number;
  /** Bounding box in voxels. */
  readonly box: Box;
  /** Kept as part of the root system (not a speck under the size threshold). */
  readonly kept: boolean;
}

interface Provisional {
  voxels: number;
  first: number;
  lo: [number, number, number];
  hi: [number, number, number];
}

/**
 * Connected components of a volume too large to label at once, block by block: each block is
 * labelled on its own, the foreground voxels on block faces are remembered (a sparse map, its
 * size set by the roots crossing block faces, not by the volume), and labels of voxels that
 * touch across a face, edge or corner are joined with union-find. Memory: one block's labels
 * plus the face map plus a few numbers per component.
 */
export class StreamingComponents {
  private readonly uf = new UnionFind(1024);
  private readonly prov: Provisional[] = [];
  /** Global linear voxel index → provisional id, for foreground voxels on block faces. */
  private readonly faces = new Map<number, number>();
  /** Block key → first provisional id of its labels. */
  private readonly bases = new Map<string, number>();
  private finalOf: Int32Array | undefined;
  private comps: Component[] = [];
  readonly offsets: Vec3[];

  constructor(
    readonly shape: Vec3,
    readonly connectivity: Connectivity = 26,
  ) {
    this.offsets = neighbourOffsets(connectivity);
  }

  private key(box: Box): string {
    return box.offset.join(',');
  }

  /**
   * Labels one block (its write box; blocks must not overlap) and joins it to the blocks added
   * before. Returns the block's local labelling.
   */
  addBlock(box: Box, mask: ArrayLike<number>): Labelling {
    if (this.finalOf) throw new Error('StreamingComponents: addBlock after finish');
    const lab = labelComponents(mask, box.shape, this.connectivity);
    const base = this.prov.length;
    this.bases.set(this.key(box), base);
    for (let l = 1; l <= lab.count; l++) {
      this.uf.add();
      this.prov.push({ voxels: lab.sizes[l]!, first: Infinity, lo: [Infinity, Infinity, Infinity], hi: [-1, -1, -1] });
    }
    const [bz, by, bx] = box.shape;
    const [oz, oy, ox] = box.offset;
    const [, NY, NX] = this.shape;
    const end = boxEnd(box);
    const seen = new Uint8Array(lab.count + 1);
    for (let z = 0; z < bz; z++) {
      const zFace = z === 0 || z === bz - 1;
      for (let y = 0; y < by; y++) {
        const yFace = zFace || y === 0 || y === by - 1;
        for (let x = 0; x < bx; x++) {
          const l = lab.labels[(z * by + y) * bx + x]!;
          if (l === 0) continue;
          const id = base + l - 1;
          const gz = z + oz;
          const gy = y + oy;
          const gx = x + ox;
          const p = this.prov[id]!;
          if (!seen[l]) {
            seen[l] = 1;
            p.first = Math.min(p.first, (gz * NY + gy) * NX + gx);
          }
          if (gz < p.lo[0]) p.lo[0] = gz;
          if (gy < p.lo[1]) p.lo[1] = gy;
          if (gx < p.lo[2]) p.lo[2] = gx;
          if (gz > p.hi[0]) p.hi[0] = gz;
          if (gy > p.hi[1]) p.hi[1] = gy;
          if (gx > p.hi[2]) p.hi[2] = gx;
          if (!(yFace || x === 0 || x === bx - 1)) continue;
          const g = (gz * NY + gy) * NX + gx;
          this.faces.set(g, id);
          for (const [dz, dy, dx] of this.offsets) {
            const nzz = gz + dz;
            const nyy = gy + dy;
            const nxx = gx + dx;
            // Only neighbours outside this block: inside, the local labelling has joined them.
            if (nzz >= oz && nzz < end[0] && nyy >= oy && nyy < end[1] && nxx >= ox && nxx < end[2]) continue;
            if (nzz < 0 || nyy < 0 || nxx < 0 || nzz >= this.shape[0] || nyy >= NY || nxx >= NX) continue;
            const other = this.faces.get((nzz * NY + nyy) * NX + nxx);
            if (other !== undefined) this.uf.union(id, other);
          }
        }
      }
    }
    return lab;
  }

  /**
   * Resolves the joins and numbers the components; those under `minVoxels` are marked as
   * not kept. Returns every component, by id.
   */
  finish(minVoxels = 0): Component[] {
    const roots = new Map<number, Provisional>();
    for (let i = 0; i < this.prov.length; i++) {
      const r = this.uf.find(i);
      const p = this.prov[i]!;
      const q = roots.get(r);
      if (!q) {
        roots.set(r, { voxels: p.voxels, first: p.first, lo: [...p.lo], hi: [...p.hi] });
      } else {
        q.voxels += p.voxels;
        q.first = Math.min(q.first, p.first);
        for (let a = 0; a < 3; a++) {
          q.lo[a] = Math.min(q.lo[a]!, p.lo[a]!);
          q.hi[a] = Math.max(q.hi[a]!, p.hi[a]!);
        }
      }
    }
    const order = [...roots.entries()].sort((a, b) => a[1].first - b[1].first);
    const idOfRoot = new Map<number, number>();
    this.comps = order.map(([r, p], k) => {
      idOfRoot.set(r, k + 1);
      return {
        id: k + 1,
        voxels: p.voxels,
        box: { offset: [p.lo[0], p.lo[1], p.lo[2]], shape: [p.hi[0] - p.lo[0] + 1, p.hi[1] - p.lo[1] + 1, p.hi[2] - p.lo[2] + 1] },
        kept: p.voxels >= minVoxels,
      };
    });
    this.finalOf = new Int32Array(this.prov.length);
    for (let i = 0; i < this.prov.length; i++) this.finalOf[i] = idOfRoot.get(this.uf.find(i))!;
    return this.comps;
  }

  get components(): readonly Component[] {
    return this.comps;
  }

  private final(): Int32Array {
    if (!this.finalOf) throw new Error('StreamingComponents: finish() first');
    return this.finalOf;
  }

  /** Maps a block's local labels (as addBlock returned them) to global component ids, in place. */
  globalise(box: Box, local: Int32Array): Int32Array {
    const f = this.final();
    const base = this.bases.get(this.key(box));
    if (base === undefined) throw new RangeError(`no block was added at offset ${fmtVec(box.offset)}`);
    for (let i = 0; i < local.length; i++) if (local[i]! > 0) local[i] = f[base + local[i]! - 1]!;
    return local;
  }

  /** The global id of a foreground voxel on a block face, or 0 when it is not one. */
  faceComponent(z: number, y: number, x: number): number {
    const id = this.faces.get((z * this.shape[1] + y) * this.shape[2] + x);
    return id === undefined ? 0 : this.final()[id]!;
  }

  /** Number of face voxels remembered (what the streaming costs beyond one block). */
  get faceVoxels(): number {
    return this.faces.size;
  }
}

/**
 * The voxels of a read box (a block's write box plus halo) that belong to kept components.
 * `writeIds` are the global ids of the write box's voxels (its labelling, globalised). A part
 * of the read box that is connected inside it to the write box or to a remembered face voxel
 * takes that component's fate; a part reaching neither lies wholly in the halo and does not
 * touch this block's output (thinning and surfaces of disconnected parts do not interact), so it
 * is dropped.
 */
export function keptInReadBox(
  comps: StreamingComponents,
  read: Box,
  readData: ArrayLike<number>,
  write: Box,
  writeIds: Int32Array,
): Uint8Array {
  const lab = labelComponents(readData, read.shape, comps.connectivity);
  const fate = new Int8Array(lab.count + 1); // 0 unknown, 1 kept, −1 dropped
  const [rz, ry, rx] = read.shape;
  const [wz, wy, wx] = write.shape;
  const wo = [write.offset[0] - read.offset[0], write.offset[1] - read.offset[1], write.offset[2] - read.offset[2]];
  const all = comps.components;
  const decide = (l: number, id: number): void => {
    if (fate[l] === 0 && id > 0) fate[l] = all[id - 1]!.kept ? 1 : -1;
  };
  for (let z = 0; z < rz; z++) {
    for (let y = 0; y < ry; y++) {
      for (let x = 0; x < rx; x++) {
        const l = lab.labels[(z * ry + y) * rx + x]!;
        if (l === 0 || fate[l] !== 0) continue;
        const lz = z - wo[0]!;
        const ly = y - wo[1]!;
        const lx = x - wo[2]!;
        if (lz >= 0 && lz < wz && ly >= 0 && ly < wy && lx >= 0 && lx < wx) decide(l, writeIds[(lz * wy + ly) * wx + lx]!);
        else decide(l, comps.faceComponent(z + read.offset[0], y + read.offset[1], x + read.offset[2]));
      }
    }
  }
  const out = new Uint8Array(lab.labels.length);
  for (let i = 0; i < out.length; i++) out[i] = fate[lab.labels[i]!] === 1 ? 1 : 0;
  return out;
}
