import { type Box, fmtBox, intersectBoxes, voxelCount } from './box.js';

/** Any typed array of numbers laid out z, y, x with x fastest. */
export type NumArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

function checkLength(a: NumArray, b: Box, what: string): void {
  if (a.length !== voxelCount(b.shape)) {
    throw new RangeError(`${what} holds ${a.length} values but ${fmtBox(b)} has ${voxelCount(b.shape)}`);
  }
}

/**
 * Copies the voxels where `srcBox` and `dstBox` (and `region`, when given) overlap from
 * `src` (covering srcBox) into `dst` (covering dstBox). Returns the box copied, if any.
 */
export function copyBox(src: NumArray, srcBox: Box, dst: NumArray, dstBox: Box, region?: Box): Box | undefined {
  checkLength(src, srcBox, 'source');
  checkLength(dst, dstBox, 'destination');
  let r = intersectBoxes(srcBox, dstBox);
  if (r && region) r = intersectBoxes(r, region);
  if (!r) return undefined;
  const [, sy, sx] = srcBox.shape;
  const [, dy, dx] = dstBox.shape;
  const rowLen = r.shape[2];
  for (let z = 0; z < r.shape[0]; z++) {
    const zs = r.offset[0] + z - srcBox.offset[0];
    const zd = r.offset[0] + z - dstBox.offset[0];
    for (let y = 0; y < r.shape[1]; y++) {
      const ys = r.offset[1] + y - srcBox.offset[1];
      const yd = r.offset[1] + y - dstBox.offset[1];
      const s = (zs * sy + ys) * sx + (r.offset[2] - srcBox.offset[2]);
      const d = (zd * dy + yd) * dx + (r.offset[2] - dstBox.offset[2]);
      dst.set(src.subarray(s, s + rowLen), d);
    }
  }
  return r;
}

/** Sets the voxels of `dst` (covering dstBox) that lie in `region` to `value`. */
export function fillBox(dst: NumArray, dstBox: Box, region: Box, value: number): void {
  checkLength(dst, dstBox, 'destination');
  const r = intersectBoxes(dstBox, region);
  if (!r) return;
  const [, dy, dx] = dstBox.shape;
  for (let z = 0; z < r.shape[0]; z++) {
    const zd = r.offset[0] + z - dstBox.offset[0];
    for (let y = 0; y < r.shape[1]; y++) {
      const yd = r.offset[1] + y - dstBox.offset[1];
      const d = (zd * dy + yd) * dx + (r.offset[2] - dstBox.offset[2]);
      dst.fill(value, d, d + r.shape[2]);
    }
  }
}
