import { Tensor, shapeStr, type Shape5 } from '../tensor.js';
import { regionCopy } from './region-copy.js';

/** Concatenates tensors along channels (torch.cat(parts, dim=1)). Split tensors are rejected. */
export async function concatChannels(parts: readonly Tensor[]): Promise<Tensor> {
  if (parts.length === 0) throw new RangeError('concatChannels: no parts');
  const [n, , d, h, w] = parts[0]!.shape;
  for (const p of parts) {
    if (p.n !== n || p.d !== d || p.h !== h || p.w !== w)
      throw new RangeError(`concatChannels: part ${shapeStr(p.shape)} differs from ${shapeStr(parts[0]!.shape)} outside the channel axis`);
  }
  const c = parts.reduce((s, p) => s + p.c, 0);
  const y = Tensor.empty(parts[0]!.gpu, [n, c, d, h, w]);
  let c0 = 0;
  for (const p of parts) {
    await regionCopy(p, y, { channels: p.c, srcC0: 0, dstC0: c0, shift: [0, 0, 0] });
    c0 += p.c;
  }
  return y;
}

/** Slices the gradient of a channel concat back into one tensor per part (channel counts in order). */
export async function concatChannelsBackward(dy: Tensor, channels: readonly number[]): Promise<Tensor[]> {
  const total = channels.reduce((s, c) => s + c, 0);
  if (total !== dy.c) throw new RangeError(`concatChannelsBackward: parts have ${total} channels, dy ${shapeStr(dy.shape)} has ${dy.c}`);
  const out: Tensor[] = [];
  let c0 = 0;
  for (const c of channels) {
    const shape: Shape5 = [dy.n, c, dy.d, dy.h, dy.w];
    const g = Tensor.empty(dy.gpu, shape);
    await regionCopy(dy, g, { channels: c, srcC0: c0, dstC0: 0, shift: [0, 0, 0] });
    out.push(g);
    c0 += c;
  }
  return out;
}
