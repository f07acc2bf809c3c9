/** A point or extent in voxels, ordered z, y, x (x varies fastest in memory). */
export type Vec3 = readonly [number, number, number];

/** A patch centre or a sampled position: z, y, x in full-resolution voxels. */
export type Point = [number, number, number];

/** An axis-aligned box of voxels: `offset` is its first voxel, `shape` its extent. */
export interface Box {
  readonly offset: Vec3;
  readonly shape: Vec3;
}

export function makeBox(offset: Vec3, shape: Vec3): Box {
  for (let a = 0; a < 3; a++) {
    const o = offset[a]!;
    const s = shape[a]!;
    if (!Number.isInteger(o) || !Number.isInteger(s) || s < 0) {
      throw new RangeError(`invalid box: offset ${fmtVec(offset)} shape ${fmtVec(shape)}`);
    }
  }
  return { offset: [offset[0], offset[1], offset[2]], shape: [shape[0], shape[1], shape[2]] };
}

/** The box covering a whole volume of the given shape. */
export function wholeBox(shape: Vec3): Box {
  return makeBox([0, 0, 0], shape);
}

/** One past the last voxel on each axis. */
export function boxEnd(b: Box): Vec3 {
  return [b.offset[0] + b.shape[0], b.offset[1] + b.shape[1], b.offset[2] + b.shape[2]];
}

export function voxelCount(shape: Vec3): number {
  return shape[0] * shape[1] * shape[2];
}

export function boxVoxels(b: Box): number {
  return voxelCount(b.shape);
}

export function isEmptyBox(b: Box): boolean {
  return b.shape[0] === 0 || b.shape[1] === 0 || b.shape[2] === 0;
}

/** The common part of two boxes, or undefined when they share no voxel. */
export function intersectBoxes(a: Box, b: Box): Box | undefined {
  const ae = boxEnd(a);
  const be = boxEnd(b);
  const lo = [0, 0, 0];
  const sh = [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const l = Math.max(a.offset[i]!, b.offset[i]!);
    const h = Math.min(ae[i]!, be[i]!);
    if (h <= l) return undefined;
    lo[i] = l;
    sh[i] = h - l;
  }
  return makeBox(lo as unknown as Vec3, sh as unknown as Vec3);
}

/** True when every voxel of `inner` lies in `outer` (an empty inner box is contained anywhere). */
export function boxContains(outer: Box, inner: Box): boolean {
  if (isEmptyBox(inner)) return true;
  const oe = boxEnd(outer);
  const ie = boxEnd(inner);
  for (let i = 0; i < 3; i++) {
    if (inner.offset[i]! < outer.offset[i]! || ie[i]! > oe[i]!) return false;
  }
  return true;
}

export function boxesEqual(a: Box, b: Box): boolean {
  return vecEqual(a.offset, b.offset) && vecEqual(a.shape, b.shape);
}

/** The box grown by `margin` voxels on both sides of each axis. */
export function growBox(b: Box, margin: Vec3): Box {
  return makeBox(
    [b.offset[0] - margin[0], b.offset[1] - margin[1], b.offset[2] - margin[2]],
    [b.shape[0] + 2 * margin[0], b.shape[1] + 2 * margin[1], b.shape[2] + 2 * margin[2]],
  );
}

export function translateBox(b: Box, delta: Vec3): Box {
  return makeBox([b.offset[0] + delta[0], b.offset[1] + delta[1], b.offset[2] + delta[2]], b.shape);
}

/** The part of `b` inside a volume of `shape`, or undefined if none is. */
export function clipBox(b: Box, shape: Vec3): Box | undefined {
  return intersectBoxes(b, wholeBox(shape));
}

export function vecEqual(a: Vec3, b: Vec3): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

export function fmtVec(v: Vec3): string {
  return `[${v[0]}, ${v[1]}, ${v[2]}]`;
}

export function fmtBox(b: Box): string {
  return `box(offset ${fmtVec(b.offset)}, shape ${fmtVec(b.shape)})`;
}
