/**
 * Undo and redo of strokes. A stroke is the voxels it set (flat z, y, x), the value it set them
 * to, and what each held before (as the server reported it). Undoing writes the old values back,
 * grouped by value; redoing writes the stroke again. A new stroke clears what could be redone.
 */

export interface Stroke {
  voxels: number[];
  value: number;
  previous: number[];
}

export interface Edit {
  value: number;
  voxels: number[];
}

/** The edits that put a stroke's voxels back as they were. */
export function undoEdits(s: Stroke): Edit[] {
  const byValue = new Map<number, number[]>();
  for (let i = 0; i < s.previous.length; i++) {
    const v = s.previous[i]!;
    let list = byValue.get(v);
    if (!list) byValue.set(v, (list = []));
    list.push(s.voxels[3 * i]!, s.voxels[3 * i + 1]!, s.voxels[3 * i + 2]!);
  }
  return [...byValue.entries()].map(([value, voxels]) => ({ value, voxels }));
}

export class StrokeHistory {
  private done: Stroke[] = [];
  private undone: Stroke[] = [];

  constructor(private readonly limit = 200) {}

  push(s: Stroke): void {
    this.done.push(s);
    if (this.done.length > this.limit) this.done.shift();
    this.undone = [];
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  /** The stroke to undo (moved to the redo list), or undefined. */
  undo(): Stroke | undefined {
    const s = this.done.pop();
    if (s) this.undone.push(s);
    return s;
  }

  redo(): Stroke | undefined {
    const s = this.undone.pop();
    if (s) this.done.push(s);
    return s;
  }

  /** After a redo was written, the values it replaced (they may have changed meanwhile). */
  replacePrevious(s: Stroke, previous: number[]): void {
    s.previous = previous;
  }
}
