/** Disjoint sets over 0..n−1 that grow on demand (path halving, union by smaller root id). */
export class UnionFind {
  private parent: Int32Array;
  private n = 0;

  constructor(capacity = 1024) {
    this.parent = new Int32Array(Math.max(1, capacity));
  }

  get size(): number {
    return this.n;
  }

  /** A new singleton set; returns its id. */
  add(): number {
    if (this.n === this.parent.length) {
      const p = new Int32Array(this.parent.length * 2);
      p.set(this.parent);
      this.parent = p;
    }
    this.parent[this.n] = this.n;
    return this.n++;
  }

  find(a: number): number {
    const p = this.parent;
    while (p[a] !== a) {
      const g = p[p[a]!]!;
      p[a] = g;
      a = g;
    }
    return a;
  }

  /** Joins the sets of a and b; the smaller root id becomes the root. Returns it. */
  union(a: number, b: number): number {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return ra;
    if (rb < ra) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    return ra;
  }
}
