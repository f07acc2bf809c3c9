import { shapeStr, type Tensor } from '../tensor.js';

/**
 * One dispatch's worth of an elementwise op over tensors of one shape: the buffer of each operand
 * holding elements [start, start + count) of the flattened tensor, and where they begin in it.
 */
export interface Run {
  /** First element of the run in the flattened tensor. */
  start: number;
  count: number;
  /** Per operand, in the order given: its buffer and the element offset of `start` in it. */
  buffers: GPUBuffer[];
  offsets: number[];
}

export function checkSameShape(what: string, ...ts: Tensor[]): void {
  const s0 = ts[0]!.shape;
  for (const t of ts) {
    if (t.shape.some((v, i) => v !== s0[i])) throw new RangeError(`${what}: shapes differ, ${shapeStr(s0)} vs ${shapeStr(t.shape)}`);
  }
}

/**
 * Cuts same-shaped tensors into runs that lie within one piece of every operand, so elementwise
 * kernels handle split tensors by looping over runs (one run when no operand is split). Pieces of
 * tensors split differently need not line up: the runs follow the union of their boundaries.
 */
export function alignedRuns(what: string, ...ts: Tensor[]): Run[] {
  checkSameShape(what, ...ts);
  const plane = ts[0]!.planeSize;
  const cuts = new Set<number>();
  for (const t of ts) for (const p of t.pieces) cuts.add(p.firstPlane).add(p.firstPlane + p.planes);
  const edges = [...cuts].sort((a, b) => a - b);
  const runs: Run[] = [];
  for (let k = 0; k + 1 < edges.length; k++) {
    const a = edges[k]!;
    const b = edges[k + 1]!;
    const buffers: GPUBuffer[] = [];
    const offsets: number[] = [];
    for (const t of ts) {
      const p = t.pieces.find((q) => q.firstPlane <= a && a < q.firstPlane + q.planes)!;
      buffers.push(p.buffer);
      offsets.push((a - p.firstPlane) * plane);
    }
    runs.push({ start: a * plane, count: (b - a) * plane, buffers, offsets });
  }
  return runs;
}
