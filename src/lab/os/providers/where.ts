/**
 * The subset of SQL `WHERE` the `content` tool is used with: comparisons (`=`, `==`, `!=`, `<>`,
 * `<`, `<=`, `>`, `>=`, `LIKE`, `IS NULL`, `IS NOT NULL`) joined by AND / OR, values quoted
 * with ' or " or bare numbers and words. AND binds tighter than OR; no parentheses.
 */
export type Value = string | number | null;
export type Row = Record<string, Value>;

interface Comparison {
  column: string;
  op: string;
  value: Value;
}

export class WhereSyntaxError extends Error {
  override readonly name = 'WhereSyntaxError';
}

function tokens(text: string): string[] {
  const out: string[] = [];
  const re = /\s*('(?:[^']|'')*'|"(?:[^"]|"")*"|<=|>=|<>|!=|==|=|<|>|[^\s=<>!'"]+)\s*/y;
  let pos = 0;
  while (text.slice(pos).trim() !== '') {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m?.[1] === undefined) throw new WhereSyntaxError(`cannot parse where clause: ${text}`);
    out.push(m[1]);
    pos = re.lastIndex;
  }
  return out;
}

function literal(token: string): Value {
  if (token.startsWith("'")) return token.slice(1, -1).replaceAll("''", "'");
  if (token.startsWith('"')) return token.slice(1, -1).replaceAll('""', '"');
  if (/^null$/i.test(token)) return null;
  if (/^-?\d+(\.\d+)?$/.test(token)) return Number(token);
  return token;
}

/** Parses a where clause into OR-of-AND groups. */
export function parseWhere(text: string): Comparison[][] {
  const t = tokens(text);
  const groups: Comparison[][] = [[]];
  let i = 0;
  while (i < t.length) {
    const column = t[i++];
    let op = (t[i++] ?? '').toUpperCase();
    if (column === undefined || op === '')
      throw new WhereSyntaxError(`incomplete where clause: ${text}`);
    let value: Value;
    if (op === 'IS') {
      const next = (t[i++] ?? '').toUpperCase();
      if (next === 'NOT') {
        i++;
        op = 'IS NOT';
      }
      value = null;
    } else {
      const raw = t[i++];
      if (raw === undefined) throw new WhereSyntaxError(`missing value in where clause: ${text}`);
      value = literal(raw);
    }
    groups[groups.length - 1]?.push({ column: column.replaceAll(/^["`]|["`]$/g, ''), op, value });
    const joiner = t[i]?.toUpperCase();
    if (joiner === undefined) break;
    if (joiner === 'OR') groups.push([]);
    else if (joiner !== 'AND') throw new WhereSyntaxError(`unsupported where clause: ${text}`);
    i++;
  }
  return groups;
}

function compare(a: Value, b: Value): number {
  if (typeof a === 'number' || typeof b === 'number') {
    const x = Number(a);
    const y = Number(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  }
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function matches(row: Row, c: Comparison): boolean {
  const actual = row[c.column] ?? null;
  switch (c.op) {
    case 'IS':
      return actual === null;
    case 'IS NOT':
      return actual !== null;
    case 'LIKE': {
      const pattern = String(c.value)
        .replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replaceAll('%', '.*')
        .replaceAll('_', '.');
      return actual !== null && new RegExp(`^${pattern}$`, 'is').test(String(actual));
    }
  }
  if (actual === null || c.value === null) return false;
  const d = compare(actual, c.value);
  switch (c.op) {
    case '=':
    case '==':
      return d === 0;
    case '!=':
    case '<>':
      return d !== 0;
    case '<':
      return d < 0;
    case '<=':
      return d <= 0;
    case '>':
      return d > 0;
    case '>=':
      return d >= 0;
    default:
      throw new WhereSyntaxError(`unsupported operator ${c.op}`);
  }
}

export function whereFilter(text: string | undefined): (row: Row) => boolean {
  if (text === undefined || text.trim() === '') return () => true;
  const groups = parseWhere(text);
  return (row) => groups.some((group) => group.every((c) => matches(row, c)));
}

/** `--sort "date DESC, _id"` as a comparator. */
export function sortComparator(text: string | undefined): ((a: Row, b: Row) => number) | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const keys = text.split(',').map((part) => {
    const [column = '', direction = 'ASC'] = part.trim().split(/\s+/);
    return { column, sign: direction.toUpperCase() === 'DESC' ? -1 : 1 };
  });
  return (a, b) => {
    for (const { column, sign } of keys) {
      const d = compare(a[column] ?? null, b[column] ?? null);
      if (d !== 0) return d * sign;
    }
    return 0;
  };
}
