import type { Tensor } from '../tensor.js';
import type { Pass } from '../tape.js';

/** A trainable tensor and its gradient (allocated by the layer on first backward). */
export interface Parameter {
  value: Tensor;
  grad: Tensor | null;
  /** Frozen parameters get no update (fine-tuning with a frozen encoder). */
  frozen: boolean;
}

/** A parameter or a state tensor (batch-norm running statistics) under its dotted name. */
export interface Named<T> {
  name: string;
  item: T;
}

export type Mode = 'train' | 'eval';

/**
 * One op of the network (conv, batch norm, ReLU, pool, upsample) with a forward and a hand-written
 * backward, which a tape calls (see Block and apply; containers and models write no backward). In
 * 'train' mode forward keeps what backward needs (retained tensors) and backward releases it;
 * 'eval' keeps nothing. Forward returns a tensor the caller owns; backward returns dX, which the
 * caller owns, and accumulates parameter gradients into `grad` (zero them between steps).
 */
export interface Layer {
  forward(x: Tensor, mode: Mode): Promise<Tensor>;
  backward(dy: Tensor): Promise<Tensor>;
  parameters(): Named<Parameter>[];
  /** Non-trainable tensors saved with the weights. */
  state(): Named<Tensor>[];
  /** Drops whatever forward kept. */
  clear(): void;
}

/**
 * A part of a model written as its forward only: in training, the layers and ops it runs record
 * their backward on the tape (tape.ts), which releases what they keep.
 */
export interface Block {
  forward(x: Tensor, pass: Pass): Promise<Tensor>;
  parameters(): Named<Parameter>[];
  state(): Named<Tensor>[];
}

/** Runs a layer or a block; a layer in training records its backward on the tape. */
export function apply(m: Layer | Block, x: Tensor, pass: Pass): Promise<Tensor> {
  if (!('backward' in m)) return m.forward(x, pass);
  return pass === 'eval' ? m.forward(x, 'eval') : pass.layer(m, x);
}

export function withPrefix<T>(prefix: string, items: Named<T>[]): Named<T>[] {
  return items.map(({ name, item }) => ({ name: `${prefix}.${name}`, item }));
}

/**
 * The entries of `all` (a model's named parameters) that belong to `layers`, matched by identity,
 * so a subset keeps the names the whole model gives its parameters.
 */
export function parametersOf(all: Named<Parameter>[], layers: { parameters(): Named<Parameter>[] }[]): Named<Parameter>[] {
  const mine = new Set(layers.flatMap((l) => l.parameters().map((p) => p.item)));
  return all.filter((p) => mine.has(p.item));
}

/** Releases `t` if set and returns null, for `this.saved = drop(this.saved)`. */
export function drop(t: Tensor | null): null {
  t?.release();
  return null;
}
