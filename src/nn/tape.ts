import { add as addOp } from './ops/arith.js';
import { concatChannels, concatChannelsBackward } from './ops/concat.js';
import { centreCrop3d, centreCrop3dBackward } from './ops/crop.js';
import { upsample3d, upsample3dBackward, type UpsampleMode } from './ops/upsample.js';
import { shapeStr, type Tensor } from './tensor.js';

/** How a forward runs: 'eval' (inference, nothing recorded) or training, recording onto a tape. */
export type Pass = Tape | 'eval';

/**
 * An op's backward: the gradients of its inputs from that of its output, or null for an input
 * whose gradient is not `needed`. The tape owns what it returns.
 */
export type Backward = (dy: Tensor, needed: readonly boolean[]) => Promise<(Tensor | null)[]>;

/** A layer with a hand-written backward that keeps what it needs between the two (layers/layer.ts). */
export interface TapeLayer {
  forward(x: Tensor, mode: 'train'): Promise<Tensor>;
  backward(dy: Tensor): Promise<Tensor>;
  clear(): void;
}

interface Entry {
  inputs: readonly Tensor[];
  output: Tensor;
  backward: Backward;
  /** Gives back what the op kept for its backward; called once, whether or not backward ran. */
  drop?: () => void;
}

/**
 * Reverse-mode autodiff for a training forward, after Burn's autodiff: each op records its
 * backward as the forward runs, and backward() runs them in reverse. A tensor is its own node:
 * the tape refers to forward tensors by identity only and never owns them (the forward still
 * releases its intermediates). It owns the gradients it makes, releasing each once, and calls each
 * op's `drop` once. One forward, one backward: backward() or clear() ends it.
 */
export class Tape {
  private entries: Entry[] = [];
  private readonly layers = new Set<TapeLayer>();
  private ended = false;

  record(inputs: readonly Tensor[], output: Tensor, backward: Backward, drop?: () => void): void {
    this.checkOpen('record');
    this.entries.push({ inputs, output, backward, drop });
  }

  /** Runs a layer's training forward and records its backward. */
  async layer(l: TapeLayer, x: Tensor): Promise<Tensor> {
    this.checkOpen('layer');
    // A layer keeps a single forward's state, so a second call would overwrite the first's.
    if (this.layers.has(l))
      throw new Error(
        'Tape.layer: this layer already ran in this forward; a layer keeps one input for its backward, so reuse needs a second layer',
      );
    this.layers.add(l);
    const y = await l.forward(x, 'train');
    this.record(
      [x],
      y,
      async (dy) => [await l.backward(dy)],
      () => l.clear(),
    );
    return y;
  }

  /**
   * Runs the recorded ops back from `seeds`: pairs of a recorded output and the loss's gradient
   * with respect to it (the caller keeps those). Returns the gradients of `wrt` (the caller owns
   * them; null where none arrived). A tensor that feeds several ops gets the sum of their
   * gradients, added in the order those ops ran forward, so the bits do not depend on the
   * order of the backward. Ends the tape.
   */
  async backward(seeds: readonly (readonly [Tensor, Tensor])[], wrt: readonly Tensor[] = []): Promise<(Tensor | null)[]> {
    this.checkOpen('backward');
    if (this.entries.length === 0)
      throw new Error('Tape.backward: nothing was recorded on this tape (backward needs a training forward first)');
    const produced = new Set(this.entries.map((e) => e.output));
    for (const [y, dy] of seeds) {
      if (!produced.has(y))
        throw new Error(`Tape.backward: the seed ${shapeStr(y.shape)} is not the output of an op recorded on this tape`);
      if (dy.shape.some((v, i) => v !== y.shape[i]))
        throw new RangeError(`Tape.backward: gradient ${shapeStr(dy.shape)} for an output of ${shapeStr(y.shape)}`);
    }
    const needed = new Set([...produced, ...wrt]);
    // Each tensor's gradients so far, latest consumer first (ops run back in reverse).
    const pending = new Map<Tensor, Tensor[]>();
    const give = (t: Tensor, g: Tensor): void => {
      if (!needed.has(t)) return g.release();
      const list = pending.get(t);
      if (list) list.push(g);
      else pending.set(t, [g]);
    };
    const take = async (t: Tensor): Promise<Tensor | null> => {
      const list = pending.get(t)?.reverse();
      pending.delete(t);
      if (!list) return null;
      let sum = list[0]!;
      for (const g of list.slice(1)) {
        const s = await addOp(sum, g);
        sum.release();
        g.release();
        sum = s;
      }
      return sum;
    };
    this.ended = true;
    for (const [y, dy] of seeds) give(y, dy.retain());
    try {
      for (let e = this.entries.pop(); e; e = this.entries.pop()) {
        const dy = await take(e.output);
        try {
          if (dy)
            (
              await e.backward(
                dy,
                e.inputs.map((t) => needed.has(t)),
              )
            ).forEach((g, i) => g && give(e!.inputs[i]!, g));
        } finally {
          dy?.release();
          e.drop?.();
        }
      }
      const out: (Tensor | null)[] = [];
      for (const t of wrt) out.push(await take(t));
      return out;
    } finally {
      this.dropAll();
      for (const list of pending.values()) for (const g of list) g.release();
    }
  }

  /** Drops what every op not yet run back kept (a training forward whose backward never comes). */
  clear(): void {
    this.ended = true;
    this.dropAll();
  }

  private dropAll(): void {
    for (let e = this.entries.pop(); e; e = this.entries.pop()) e.drop?.();
    this.layers.clear();
  }

  private checkOpen(what: string): void {
    if (this.ended)
      throw new Error(`Tape.${what}: this tape already ran backward or was cleared; each training forward records on a new tape`);
  }
}

// The differentiable forms of the ops models compose; with 'eval' they only run the op.

/** a + b; dy goes to both. */
export async function add(a: Tensor, b: Tensor, pass: Pass): Promise<Tensor> {
  const y = await addOp(a, b);
  if (pass !== 'eval') pass.record([a, b], y, async (dy, needed) => needed.map((n) => (n ? dy.retain() : null)));
  return y;
}

/** Channel concatenation (torch.cat(parts, dim=1)). */
export async function concat(parts: readonly Tensor[], pass: Pass): Promise<Tensor> {
  const y = await concatChannels(parts);
  const channels = parts.map((p) => p.c);
  if (pass !== 'eval') pass.record(parts, y, (dy) => concatChannelsBackward(dy, channels));
  return y;
}

/** The centred window of `size` (ops/crop.ts's centreCrop3d). */
export async function crop(x: Tensor, size: readonly [number, number, number], pass: Pass): Promise<Tensor> {
  const y = await centreCrop3d(x, size);
  const shape = x.shape;
  if (pass !== 'eval') pass.record([x], y, async (dy, [needed]) => [needed ? await centreCrop3dBackward(dy, shape) : null]);
  return y;
}

/** D, H and W upsampled by `factor` (ops/upsample.ts). */
export async function upsample(x: Tensor, factor: number, mode: UpsampleMode, pass: Pass): Promise<Tensor> {
  const y = await upsample3d(x, factor, mode);
  const shape = x.shape;
  if (pass !== 'eval') pass.record([x], y, async (dy, [needed]) => [needed ? await upsample3dBackward(dy, shape, factor, mode) : null]);
  return y;
}
