import { Tensor, shapeStr, type Shape5 } from '../tensor.js';
import { regionCopy } from './region-copy.js';

type Vec3 = readonly [number, number, number];

/** Offset of a centred window of `size` in `extent`: floor((extent − size) / 2) per axis. */
export function centreOffset(extent: Vec3, size: Vec3): [number, number, number] {
  return [0, 1, 2].map((i) => Math.floor((extent[i]! - size[i]!) / 2)) as [number, number, number];
}

/** Refuses a window of `size` at `offset` that does not lie inside the spatial extents of shape `s`. */
export function checkWindow(what: string, s: Shape5, offset: Vec3, size: Vec3, tensorName = ''): void {
  for (let i = 0; i < 3; i++) {
    if (!(
      Number.isInteger(offset[i]) &&
      Number.isInteger(size[i]) &&
      offset[i]! >= 0 &&
      size[i]! >= 1 &&
      offset[i]! + size[i]! <= s[i + 2]!
    )) {
      throw new RangeError(
        `${what}: window at [${offset.join(', ')}] of [${size.join(', ')}] does not fit in ${tensorName ? `${tensorName} ` : ''}${shapeStr(s)}`,
      );
    }
  }
}

/** The spatial window [offset, offset + size) of x, all channels. */
export async function crop3d(x: Tensor, offset: Vec3, size: Vec3): Promise<Tensor> {
  checkWindow('crop3d', x.shape, offset, size);
  const y = Tensor.empty(x.gpu, [x.n, x.c, size[0], size[1], size[2]]);
  await regionCopy(x, y, { channels: x.c, srcC0: 0, dstC0: 0, shift: offset });
  return y;
}

/** The gradient of crop3d: dy placed at `offset` in zeros of the input shape. */
export async function crop3dBackward(dy: Tensor, xShape: Shape5, offset: Vec3): Promise<Tensor> {
  checkWindow('crop3dBackward', xShape, offset, [dy.d, dy.h, dy.w]);
  if (dy.n !== xShape[0] || dy.c !== xShape[1])
    throw new RangeError(`crop3dBackward: dy ${shapeStr(dy.shape)} vs input ${shapeStr(xShape)}`);
  const dx = Tensor.empty(dy.gpu, xShape);
  await regionCopy(dy, dx, { channels: dy.c, srcC0: 0, dstC0: 0, shift: [-offset[0], -offset[1], -offset[2]] });
  return dx;
}

/** The centred window of `size` (offset floor((extent − size)/2), as U-Net's crop). */
export function centreCrop3d(x: Tensor, size: Vec3): Promise<Tensor> {
  return crop3d(x, centreOffset([x.d, x.h, x.w], size), size);
}

export function centreCrop3dBackward(dy: Tensor, xShape: Shape5): Promise<Tensor> {
  return crop3dBackward(dy, xShape, centreOffset([xShape[2], xShape[3], xShape[4]], [dy.d, dy.h, dy.w]));
}
