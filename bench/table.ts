/** A plain-text table with aligned columns (numbers right, text left), for the terminal and for BENCH.md. */
export function renderTable (headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((row) => row.map(String))
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => (row[i] ?? '').length)))
  const numeric = headers.map((_, i) => cells.some((row) => (row[i] ?? '') !== '') && cells.every((row) => /^[-–\d.,×%≥≤ ]*$/.test(row[i] ?? '')))
  const line = (row: readonly string[]): string => `| ${row.map((cell, i) => numeric[i] === true ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)).join(' | ')} |`
  return [line(headers), `|${widths.map((w, i) => numeric[i] === true ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n')
}
