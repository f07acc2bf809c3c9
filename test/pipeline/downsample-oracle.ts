import type { Vec3 } from '../../src/volume/box.js';

/**
 * Float64 reference for a 2×2×2 reduction, written plainly (used only as the tests' oracle):
 * mean rounds half up for integer types, mode breaks ties towards the larger value.
 */
export function downsampleOracle(input: ArrayLike<number>, shape: Vec3, method: 'mean' | 'max' | 'mode', integer: boolean): Float64Array {
  const [nz, ny, nx] = shape;
  const oz = Math.ceil(nz / 2);
  const oy = Math.ceil(ny / 2);
  const ox = Math.ceil(nx / 2);
  const out = new Float64Array(oz * oy * ox);
  for (let z = 0; z < oz; z++) {
    for (let y = 0; y < oy; y++) {
      for (let x = 0; x < ox; x++) {
        const vals: number[] = [];
        for (let dz = 0; dz < 2; dz++) {
          for (let dy = 0; dy < 2; dy++) {
            for (let dx = 0; dx < 2; dx++) {
              const iz = 2 * z + dz;
              const iy = 2 * y + dy;
              const ix = 2 * x + dx;
              if (iz < nz && iy < ny && ix < nx) vals.push(input[(iz * ny + iy) * nx + ix]!);
            }
          }
        }
        let v: number;
        if (method === 'max') v = Math.max(...vals);
        else if (method === 'mode') {
          const counts = new Map<number, number>();
          for (const a of vals) counts.set(a, (counts.get(a) ?? 0) + 1);
          let best = -Infinity;
          let bestN = 0;
          for (const [a, n] of counts) if (n > bestN || (n === bestN && a > best)) [best, bestN] = [a, n];
          v = best;
        } else {
          const mean = vals.reduce((s, a) => s + a, 0) / vals.length;
          v = integer ? Math.floor(mean + 0.5) : mean;
        }
        out[(z * oy + y) * ox + x] = v;
      }
    }
  }
  return out;
}
