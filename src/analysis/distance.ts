import { type Vec3, fmtVec } from '../volume/box.js';

/**
 * Exact Euclidean distance transform (Felzenszwalb & Huttenlocher 2012, separable lower
 * envelopes of parabolas): for each foreground voxel, the physical distance to the nearest
 * background voxel centre; 0 on background. `spacing` is the voxel size (z, y, x). As with
 * scipy.ndimage.distance_transform_edt, only background voxels inside the array count: a block
 * needs a halo at least as wide as the largest radius it measures. A mask with no background
 * gets +Infinity everywhere.
 */
export function distanceTransform(mask: ArrayLike<number>, shape: Vec3, spacing: Vec3 = [1, 1, 1]): Float32Array {
  const [nz, ny, nx] = shape;
  const n = nz * ny * nx;
  if (mask.length !== n) throw new RangeError(`distanceTransform: ${mask.length} voxels for shape ${fmtVec(shape)}`);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = mask[i] ? Infinity : 0;
  const maxLen = Math.max(nz, ny, nx);
  const f = new Float64Array(maxLen);
  const out = new Float64Array(maxLen);
  const v = new Int32Array(maxLen);
  const zk = new Float64Array(maxLen + 1);
  const pass = (len: number, stride: number, starts: Iterable<number>, w: number): void => {
    const w2 = w * w;
    for (const s of starts) {
      let any = false;
      for (let i = 0; i < len; i++) {
        f[i] = d[s + i * stride]!;
        if (f[i] !== Infinity) any = true;
      }
      if (!any) continue;
      envelope(len, w2);
      for (let i = 0; i < len; i++) d[s + i * stride] = out[i]!;
    }
  };
  // Lower envelope of parabolas y = w²(p − q)² + f(q) over sites q with finite f.
  const envelope = (len: number, w2: number): void => {
    let k = -1;
    for (let q = 0; q < len; q++) {
      const fq = f[q]!;
      if (fq === Infinity) continue;
      while (k >= 0) {
        const p = v[k]!;
        const s = (fq + w2 * q * q - (f[p]! + w2 * p * p)) / (2 * w2 * (q - p));
        if (s <= zk[k]!) k--;
        else break;
      }
      k++;
      v[k] = q;
      zk[k] = k === 0 ? -Infinity : (fq + w2 * q * q - (f[v[k - 1]!]! + w2 * v[k - 1]! * v[k - 1]!)) / (2 * w2 * (q - v[k - 1]!));
      zk[k + 1] = Infinity;
    }
    let j = 0;
    for (let p = 0; p < len; p++) {
      while (zk[j + 1]! < p) j++;
      const q = v[j]!;
      out[p] = w2 * (p - q) * (p - q) + f[q]!;
    }
  };
  function* rows(): Generator<number> {
    for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) yield (z * ny + y) * nx;
  }
  function* cols(): Generator<number> {
    for (let z = 0; z < nz; z++) for (let x = 0; x < nx; x++) yield z * ny * nx + x;
  }
  function* pillars(): Generator<number> {
    for (let i = 0; i < ny * nx; i++) yield i;
  }
  pass(nx, 1, rows(), spacing[2]);
  pass(ny, nx, cols(), spacing[1]);
  pass(nz, ny * nx, pillars(), spacing[0]);
  const res = new Float32Array(n);
  for (let i = 0; i < n; i++) res[i] = Math.sqrt(d[i]!);
  return res;
}
