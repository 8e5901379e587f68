/** Quotes one argument for the device's POSIX shell (adb shell joins arguments with spaces). */
export function shQuote(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** `content` tool binding: `--bind name:type:value`, quoted for the shell. */
export function bind(
  name: string,
  type: 's' | 'i' | 'l' | 'b' | 'f' | 'd' | 'n',
  value: string | number | boolean,
): string {
  return `--bind ${shQuote(`${name}:${type}:${String(value)}`)}`;
}

/** Parses `content query` output: `Row: 0 a=1, b=x` lines into records (values may hold ", "). */
export function parseContentRows(
  output: string,
  columns: readonly string[],
): Array<Record<string, string>> {
  const rows: Array<Record<string, string>> = [];
  for (const line of output.split('\n')) {
    const match = /^Row: \d+ (.*)$/.exec(line.trimEnd());
    if (!match?.[1]) continue;
    const text = match[1];
    // Split on ", <column>=" boundaries only, because values themselves may contain ", ".
    const starts: Array<{ column: string; index: number }> = [];
    for (const column of columns) {
      const at = text.startsWith(`${column}=`) ? 0 : text.indexOf(`, ${column}=`);
      if (at >= 0) starts.push({ column, index: at === 0 ? 0 : at + 2 });
    }
    starts.sort((a, b) => a.index - b.index);
    const row: Record<string, string> = {};
    starts.forEach((start, i) => {
      const next = starts[i + 1];
      const end = next ? next.index - 2 : text.length;
      row[start.column] = text.slice(start.index + start.column.length + 1, end);
    });
    rows.push(row);
  }
  return rows;
}
