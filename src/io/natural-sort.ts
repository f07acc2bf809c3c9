/** Compares names so that digit runs compare by value: slice2 < slice10, 'a9b' < 'a10a'. */
export function naturalCompare(a: string, b: string): number {
  const ra = /(\d+)|(\D+)/g;
  const rb = /(\d+)|(\D+)/g;
  for (;;) {
    const ma = ra.exec(a);
    const mb = rb.exec(b);
    if (!ma || !mb) return ma ? 1 : mb ? -1 : a < b ? -1 : a > b ? 1 : 0;
    if (ma[1] !== undefined && mb[1] !== undefined) {
      const da = BigInt(ma[1]);
      const db = BigInt(mb[1]);
      if (da !== db) return da < db ? -1 : 1;
      // Equal values: fewer leading zeros first, so the order is total.
      if (ma[1].length !== mb[1].length) return ma[1].length - mb[1].length;
    } else {
      const sa = ma[0];
      const sb = mb[0];
      if (sa !== sb) return sa < sb ? -1 : 1;
    }
  }
}

export function naturalSort(names: readonly string[]): string[] {
  return [...names].sort(naturalCompare);
}
