import type { AdapterDescription } from './gpu.js';

/** Every adapter's remembered choices: adapter key → kernel-and-shape key → variant name. */
export type ChoiceTable = Record<string, Record<string, string>>;

/** Where choices are remembered between runs: a file in Node (kernel-choices-node.ts), nothing in a browser. */
export interface ChoiceStore {
  /** The table as last saved; {} when there is none or it cannot be read. */
  read(): ChoiceTable;
  write(table: ChoiceTable): void;
  /** Where it lives, for messages. */
  readonly where: string;
}

/** The adapter and driver a choice was timed on: a different GPU or driver version times again. */
export function adapterKey(a: AdapterDescription): string {
  return [a.backend, a.vendor, a.architecture, a.device, a.description].join(' | ');
}

/** A candidate must beat the first (the default) by this share to be chosen: timing noise on a busy machine must not pick a slower kernel for good. */
const MARGIN = 0.1;
/** Timed runs of each candidate after its warm-up run. */
export const ROUNDS = 3;

/**
 * Which variant of a kernel runs fastest for a given shape on this adapter and driver: the
 * candidates are timed on first use (the caller supplies the timing) and the winner is remembered
 * in the store, so every later run on the same adapter takes it without timing again.
 */
export class KernelChoices {
  private readonly mine: Record<string, string>;
  private readonly pending = new Map<string, Promise<string>>();

  constructor(
    readonly adapter: string,
    private readonly store: ChoiceStore | null,
  ) {
    this.mine = { ...(store?.read()[adapter] ?? {}) };
  }

  /** The remembered variant for `key` on this adapter, if any. */
  get(key: string): string | undefined {
    return this.mine[key];
  }

  /** Where the choices are kept between runs (null: only for this run). */
  get where(): string | null {
    return this.store?.where ?? null;
  }

  /** All of this adapter's remembered choices. */
  all(): Readonly<Record<string, string>> {
    return this.mine;
  }

  /**
   * The remembered variant for `key` among `candidates`, or, on first use, the fastest by
   * `time(variant)` (seconds for one run; a warm-up run each, then the best of ROUNDS interleaved
   * runs), remembered from then on. The first candidate is the default: another replaces it only
   * when faster by more than 10%.
   */
  choose(key: string, candidates: readonly string[], time: (variant: string) => Promise<number>): Promise<string> {
    const known = this.mine[key];
    if (known !== undefined && candidates.includes(known)) return Promise.resolve(known);
    if (candidates.length === 1) return Promise.resolve(candidates[0]!);
    let p = this.pending.get(key);
    if (!p) {
      p = this.timeAll(candidates, time).then((best) => {
        this.remember(key, best);
        this.pending.delete(key);
        return best;
      });
      this.pending.set(key, p);
    }
    return p;
  }

  private async timeAll(candidates: readonly string[], time: (variant: string) => Promise<number>): Promise<string> {
    for (const c of candidates) await time(c); // compiles each pipeline and warms the caches
    // The fastest of ROUNDS interleaved runs each: another process's burst slows one run, not all.
    const seconds = candidates.map(() => Infinity);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? [...candidates.keys()].reverse() : [...candidates.keys()];
      for (const i of order) seconds[i] = Math.min(seconds[i]!, await time(candidates[i]!));
    }
    let best = 0;
    for (let i = 1; i < candidates.length; i++) if (seconds[i]! < seconds[best]! * (best === 0 ? 1 - MARGIN : 1)) best = i;
    return candidates[best]!;
  }

  /** Remembers `variant` for `key` on this adapter (and in the store), as a timing would. */
  remember(key: string, variant: string): void {
    this.mine[key] = variant;
    if (!this.store) return;
    try {
      const table = this.store.read();
      table[this.adapter] = { ...(table[this.adapter] ?? {}), [key]: variant };
      this.store.write(table);
    } catch {
      // A store that cannot be written costs only the timing again in the next run.
    }
  }
}
