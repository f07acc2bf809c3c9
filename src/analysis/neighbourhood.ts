/**
 * The 3×3×3 neighbourhood of a voxel as a 27-bit integer and the topology tests on it that
 * thinning needs. Bit n is the voxel at offset (dz, dy, dx) with n = (dz+1)·9 + (dy+1)·3 + (dx+1);
 * bit 13 is the centre. Foreground is 26-connected, background 6-connected throughout.
 */

export const CENTRE = 13;
const CENTRE_BIT = 1 << CENTRE;

/** Offsets (dz, dy, dx) of bit n. */
export function offsetOf(n: number): [number, number, number] {
  return [Math.floor(n / 9) - 1, (Math.floor(n / 3) % 3) - 1, (n % 3) - 1];
}

function bitOf(dz: number, dy: number, dx: number): number {
  return (dz + 1) * 9 + (dy + 1) * 3 + (dx + 1);
}

/** ADJ[n]: mask of the 26-neighbours of bit n inside the 3×3×3 cube, centre excluded. */
const ADJ = new Int32Array(27);
for (let n = 0; n < 27; n++) {
  const [az, ay, ax] = offsetOf(n);
  let m = 0;
  for (let k = 0; k < 27; k++) {
    if (k === n || k === CENTRE) continue;
    const [bz, by, bx] = offsetOf(k);
    if (Math.abs(az - bz) <= 1 && Math.abs(ay - by) <= 1 && Math.abs(ax - bx) <= 1) m |= 1 << k;
  }
  ADJ[n] = m;
}

/**
 * Cells of the centre voxel's boundary (a closed unit cube): 8 corners, 12 edges, 6 faces, each
 * with the mask of the neighbours whose closed cube contains it.
 */
const CORNER_MASKS: number[] = [];
const EDGE_MASKS: number[] = [];
const FACE_MASKS: number[] = [];
{
  const signs = [-1, 1];
  for (const sz of signs) {
    for (const sy of signs) {
      for (const sx of signs) {
        let m = 0;
        for (const dz of [0, sz]) for (const dy of [0, sy]) for (const dx of [0, sx]) if (dz || dy || dx) m |= 1 << bitOf(dz, dy, dx);
        CORNER_MASKS.push(m);
      }
    }
  }
  for (let axis = 0; axis < 3; axis++) {
    for (const s1 of signs) {
      for (const s2 of signs) {
        let m = 0;
        for (const a of [0, s1]) {
          for (const b of [0, s2]) {
            if (!a && !b) continue;
            const d = axis === 0 ? [0, a, b] : axis === 1 ? [a, 0, b] : [a, b, 0];
            m |= 1 << bitOf(d[0]!, d[1]!, d[2]!);
          }
        }
        EDGE_MASKS.push(m);
      }
    }
  }
  for (let axis = 0; axis < 3; axis++) {
    for (const s of signs) {
      const d = [0, 0, 0];
      d[axis] = s;
      FACE_MASKS.push(1 << bitOf(d[0]!, d[1]!, d[2]!));
    }
  }
}

/**
 * True when deleting the centre leaves the Euler characteristic of the (26-connected) object
 * unchanged. With X the rest of the object and c the centre's closed cube,
 * χ(X ∪ c) − χ(X) = 1 − χ(X ∩ c), and X ∩ c is the part of c's boundary that the neighbours'
 * cubes cover: a union of corners, edges and faces whose χ is V − E + F.
 */
export function isEulerInvariant(nb: number): boolean {
  let chi = 0;
  for (let i = 0; i < 8; i++) if (nb & CORNER_MASKS[i]!) chi++;
  for (let i = 0; i < 12; i++) if (nb & EDGE_MASKS[i]!) chi--;
  for (let i = 0; i < 6; i++) if (nb & FACE_MASKS[i]!) chi++;
  return chi === 1;
}

/** Number of 26-connected components among the 26 neighbours (the centre left out), stopping at 2. */
export function neighbourComponents(nb: number): number {
  let rest = nb & ~CENTRE_BIT & 0x7ffffff;
  let count = 0;
  while (rest !== 0) {
    if (++count >= 2) return count;
    let comp = rest & -rest;
    let frontier = comp;
    while (frontier !== 0) {
      let grow = 0;
      let f = frontier;
      while (f !== 0) {
        const low = f & -f;
        grow |= ADJ[31 - Math.clz32(low)]!;
        f ^= low;
      }
      frontier = grow & rest & ~comp;
      comp |= frontier;
    }
    rest &= ~comp;
  }
  return count;
}

/** Deleting the centre does not split its neighbours (Lee et al. 1994, conditions 2 and 3 in the 3×3×3 cube). */
export function isSimple(nb: number): boolean {
  return neighbourComponents(nb) <= 1;
}

export function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** The centre and exactly one neighbour: the end of a line, never deleted. */
export function isEndpoint(nb: number): boolean {
  return popcount(nb) === 2;
}

/** Masks of the eight 2×2×2 octants of the cube that hold the centre. */
const OCTANTS: number[] = [];
for (const sz of [-1, 1]) {
  for (const sy of [-1, 1]) {
    for (const sx of [-1, 1]) {
      let m = 0;
      for (const dz of [0, sz]) for (const dy of [0, sy]) for (const dx of [0, sx]) m |= 1 << bitOf(dz, dy, dx);
      OCTANTS.push(m);
    }
  }
}

/**
 * All the centre's neighbours lie in one octant: the centre is the tip of whatever it belongs to
 * (the end of a line, or of a strip two voxels wide, or a corner).
 */
export function isTip(nb: number): boolean {
  const rest = nb & ~CENTRE_BIT;
  for (const o of OCTANTS) if ((rest & ~o) === 0) return true;
  return false;
}
