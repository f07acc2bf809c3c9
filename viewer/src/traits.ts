/**
 * The traits summary in the side panel. `rhizoct traits` writes traits.json; this shows any
 * JSON object as a table: numbers and strings as rows, nested objects as headed groups (two
 * levels deep), lists as their length. Long per-root lists are left to the file itself.
 */

export interface TraitRow {
  /** 0 for a top-level row, 1 inside a group. */
  depth: number;
  key: string;
  value: string;
  heading?: boolean;
}

/** root_count, rootCount → "root count". */
function pretty(key: string): string {
  return key.replace(/_/g, ' ').replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a} ${b.toLowerCase()}`);
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (v === null) return '—';
  if (Array.isArray(v)) return v.length <= 4 && v.every((x) => typeof x === 'number') ? v.map(fmt).join(', ') : `${v.length} items`;
  return '…';
}

export function traitRows(json: unknown, maxRows = 80): TraitRow[] {
  const rows: TraitRow[] = [];
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return [{ depth: 0, key: 'traits', value: fmt(json) }];
  }
  const walk = (o: Record<string, unknown>, depth: number): void => {
    for (const [k, v] of Object.entries(o)) {
      if (rows.length >= maxRows) return;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        if (depth >= 1) {
          rows.push({ depth, key: pretty(k), value: `${Object.keys(v).length} fields` });
        } else {
          rows.push({ depth, key: pretty(k), value: '', heading: true });
          walk(v as Record<string, unknown>, depth + 1);
        }
      } else {
        rows.push({ depth, key: pretty(k), value: fmt(v) });
      }
    }
  };
  // The summary first ("traits" as `rhizoct traits` writes it, or "summary"), then the rest.
  const o = json as Record<string, unknown>;
  const first = ['traits', 'summary'].filter((k) => k in o);
  walk(Object.fromEntries([...first.map((k) => [k, o[k]]), ...Object.entries(o).filter(([k]) => !first.includes(k))]), 0);
  return rows;
}

export function renderTraits(el: HTMLElement, json: unknown): void {
  const table = document.createElement('table');
  table.className = 'traits';
  for (const r of traitRows(json)) {
    const tr = document.createElement('tr');
    if (r.heading) {
      const th = document.createElement('th');
      th.colSpan = 2;
      th.textContent = r.key;
      tr.append(th);
    } else {
      const k = document.createElement('td');
      k.textContent = r.key;
      k.style.paddingLeft = `${0.3 + r.depth * 0.8}em`;
      const v = document.createElement('td');
      v.textContent = r.value;
      tr.append(k, v);
    }
    table.append(tr);
  }
  el.replaceChildren(table);
}
