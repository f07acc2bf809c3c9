import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelChoices, ROUNDS, type ChoiceStore, type ChoiceTable } from '../../src/gpu/kernel-choices.js';
import { fileChoiceStore } from '../../src/gpu/kernel-choices-node.js';

function memoryStore(table: ChoiceTable = {}): ChoiceStore & { table: ChoiceTable; writes: number } {
  const s = {
    table,
    writes: 0,
    where: 'memory',
    read: (): ChoiceTable => structuredClone(s.table),
    write: (t: ChoiceTable): void => {
      s.table = structuredClone(t);
      s.writes++;
    },
  };
  return s;
}

/** A timer that answers from a table of seconds per variant, counting the calls. */
function timer(seconds: Record<string, number>): { time: (v: string) => Promise<number>; calls: string[] } {
  const calls: string[] = [];
  return { calls, time: async (v) => (calls.push(v), seconds[v]!) };
}

describe('kernel choices: timed once per adapter and shape, remembered', () => {
  it('keeps the default unless another is faster by more than 10%, and times each candidate after a warm-up', async () => {
    const c = new KernelChoices('A', memoryStore());
    const close = timer({ a: 1, b: 0.95, c: 0.92 });
    expect(await c.choose('k1', ['a', 'b', 'c'], close.time)).toBe('a');
    expect(close.calls).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'c', 'b', 'a', 'a', 'b', 'c']);
    expect(await c.choose('k2', ['a', 'b', 'c'], timer({ a: 1, b: 0.5, c: 0.7 }).time)).toBe('b');
    expect(await c.choose('k3', ['a', 'b', 'c'], timer({ a: 1, b: 0.8, c: 0.6 }).time)).toBe('c');
  });

  it('takes each candidate at its fastest run, so one slow run (another process busy) does not decide', async () => {
    const runs: Record<string, number[]> = { a: [9, 1, 5, 1], b: [9, 3, 0.95, 3] };
    const c = new KernelChoices('A', null);
    expect(await c.choose('k', ['a', 'b'], async (v) => runs[v]!.shift()!)).toBe('a');
    const slowFirst: Record<string, number[]> = { a: [1, 1, 1, 1], b: [1, 5, 0.5, 5] };
    expect(await c.choose('j', ['a', 'b'], async (v) => slowFirst[v]!.shift()!)).toBe('b');
  });

  it('answers from memory and from the store without timing; times again for another adapter or a choice no longer offered', async () => {
    const store = memoryStore();
    const first = new KernelChoices('A', store);
    await first.choose('k', ['a', 'b'], timer({ a: 1, b: 0.1 }).time);
    expect(store.table).toEqual({ A: { k: 'b' } });
    const again = timer({ a: 1, b: 0.1 });
    expect(await first.choose('k', ['a', 'b'], again.time)).toBe('b');
    expect(new KernelChoices('A', store).get('k'), 'a later run on the same adapter').toBe('b');
    expect(await new KernelChoices('A', store).choose('k', ['a', 'b'], again.time)).toBe('b');
    expect(again.calls).toEqual([]);
    const other = new KernelChoices('B', store);
    expect(await other.choose('k', ['a', 'b'], timer({ a: 0.1, b: 1 }).time)).toBe('a');
    expect(store.table).toEqual({ A: { k: 'b' }, B: { k: 'a' } });
    const gone = timer({ a: 1, c: 1 });
    expect(await new KernelChoices('A', store).choose('k', ['a', 'c'], gone.time)).toBe('a');
    expect(gone.calls).toHaveLength(2 * (1 + ROUNDS));
  });

  it('times a shape once when asked for it twice at the same time; a single candidate is never timed', async () => {
    const c = new KernelChoices('A', null);
    const t = timer({ a: 1, b: 0.5 });
    const [x, y] = await Promise.all([c.choose('k', ['a', 'b'], t.time), c.choose('k', ['a', 'b'], t.time)]);
    expect([x, y]).toEqual(['b', 'b']);
    expect(t.calls).toHaveLength(2 * (1 + ROUNDS));
    const one = timer({ a: 1 });
    expect(await c.choose('j', ['a'], one.time)).toBe('a');
    expect(one.calls).toEqual([]);
  });

  it('a store that cannot be written costs only the timing: the choice holds for the run', async () => {
    const broken: ChoiceStore = {
      where: 'nowhere',
      read: () => ({}),
      write: () => {
        throw new Error('read-only file system');
      },
    };
    const c = new KernelChoices('A', broken);
    expect(await c.choose('k', ['a', 'b'], timer({ a: 1, b: 0.5 }).time)).toBe('b');
    expect(c.get('k')).toBe('b');
  });
});

describe('the file store of kernel choices', () => {
  it('round-trips through kernel-choices.json, creating the folder, and leaves no temporary file', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'choices-')), 'nested', 'cache');
    const s = fileChoiceStore(dir);
    expect(s.where).toBe(join(dir, 'kernel-choices.json'));
    expect(s.read()).toEqual({});
    s.write({ A: { k: 'register-8x2' } });
    expect(s.read()).toEqual({ A: { k: 'register-8x2' } });
    expect(JSON.parse(readFileSync(s.where, 'utf8'))).toEqual({ A: { k: 'register-8x2' } });
    expect(readdirSync(dir)).toEqual(['kernel-choices.json']);
  });

  it('reads a torn, foreign or malformed file as empty, and a write replaces it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'choices-'));
    const s = fileChoiceStore(dir);
    for (const text of ['{"A": {"k": "regi', '[1, 2]', '{"A": {"k": 3}}', '{"A": "register-8x2"}', 'null']) {
      writeFileSync(s.where, text);
      expect(s.read(), text).toEqual({});
    }
    new KernelChoices('A', s).remember('k', 'tiled-4x2');
    expect(s.read()).toEqual({ A: { k: 'tiled-4x2' } });
  });
});
