/** A number as CSV and column names write it: integers as they are, others to 7 significant digits. */
export function fmtCsvNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(7)));
}

function csvCell(v: string | number): string {
  if (typeof v === 'number') return Number.isFinite(v) ? fmtCsvNumber(v) : '';
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** CSV of rows with the union of their columns (in order of first appearance); absent cells are empty. */
export function toCsv(rows: readonly Record<string, string | number>[]): string {
  const cols: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (seen.has(k)) continue;
      seen.add(k);
      cols.push(k);
    }
  }
  const lines = [cols.map(csvCell).join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvCell(r[c] ?? '')).join(','));
  return `${lines.join('\n')}\n`;
}
