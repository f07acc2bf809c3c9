/**
 * Stands in for the npm package xmlbuilder2 in the browser bundle. vtk.js's XML readers use only
 * `create(text).root()` with `.node` and `.filter(pred, self, recursive)`; xmlbuilder2 itself
 * needs Node's `events` and `url`. The browser's DOMParser does the parsing here.
 */
interface Wrapped {
  node: Node;
  filter(pred: (n: Wrapped) => boolean, self?: boolean, recursive?: boolean): Wrapped[];
}

function wrap(node: Node): Wrapped {
  return {
    node,
    filter(pred, self = false, recursive = false) {
      const out: Wrapped[] = [];
      if (self && pred(wrap(node))) out.push(wrap(node));
      const visit = (n: Node): void => {
        for (const c of Array.from(n.childNodes)) {
          const w = wrap(c);
          if (pred(w)) out.push(w);
          if (recursive) visit(c);
        }
      };
      visit(node);
      return out;
    },
  };
}

export function create(xml: string): { root(): Wrapped } {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const err = doc.getElementsByTagName('parsererror')[0];
  if (err) throw new Error(`not well-formed XML: ${err.textContent ?? ''}`);
  return { root: () => wrap(doc.documentElement) };
}
