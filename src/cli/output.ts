// Human-readable output: aligned columns, no colours (output is often piped or logged).

/** Formats rows as a table with a header; `-` for empty cells. */
export function table(headers: string[], rows: Array<Array<string | null | undefined>>): string {
  const cells = rows.map((row) => row.map((c) => (c === null || c === undefined || c === '' ? '-' : c)))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)))
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(headers), ...cells.map(line)].join('\n')
}

/** "key: value" lines, keys aligned. */
export function fields(entries: Array<[string, string | null | undefined]>): string {
  const width = Math.max(...entries.map(([k]) => k.length)) + 1
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v ?? '-'}`).join('\n')
}
