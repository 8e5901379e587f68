/**
 * The image inventory on the report page. The inventory's format belongs to intake and may grow,
 * so this reads it defensively: any `apps` and `findings` arrays of objects are shown, with the
 * known columns first and other fields after them.
 */
import { limitRows, markup, truncate, type SafeHtml } from './html-kit.ts';
import { plural } from './verdict.ts';

type Row = Record<string, unknown>;

const MAX_COLUMNS = 8;
const SEVERITY_CLASSES = new Set(['critical', 'high', 'medium', 'low', 'info']);

const isRow = (value: unknown): value is Row =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function rowsOf(inventory: unknown, key: string): Row[] {
  if (!isRow(inventory)) return [];
  const value = inventory[key];
  return Array.isArray(value) ? value.filter(isRow) : [];
}

/** A cell's text: scalars as they are, lists of scalars joined, anything else as JSON. */
function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) {
    return value.map(String).join(', ');
  }
  return JSON.stringify(value) ?? '';
}

function columnsOf(rows: readonly Row[], known: readonly string[]): string[] {
  const extra = new Set<string>();
  for (const row of rows) {
    for (const key of Object.keys(row)) if (!known.includes(key)) extra.add(key);
    if (extra.size >= MAX_COLUMNS) break;
  }
  return [...known, ...[...extra].slice(0, Math.max(0, MAX_COLUMNS - known.length))];
}

function cell(column: string, value: unknown): SafeHtml {
  const text = truncate(cellText(value), 500);
  const severity = typeof value === 'string' ? value.toLowerCase() : '';
  // Only known severities become a class name, so firmware data never picks the page's styling.
  if (column === 'severity' && SEVERITY_CLASSES.has(severity)) {
    return markup`<td class="severity-${severity}">${text}</td>`;
  }
  return markup`<td class="wrap">${text}</td>`;
}

function table(
  title: string,
  rows: readonly Row[],
  known: readonly string[],
  limit: number,
): SafeHtml {
  if (rows.length === 0) return markup``;
  const columns = columnsOf(rows, known);
  const { shown, hidden } = limitRows(rows, limit);
  return markup`<h3>${title} (${rows.length})</h3>
<table>
<thead><tr>${columns.map((c) => markup`<th>${c}</th>`)}</tr></thead>
<tbody>
${shown.map((row) => markup`<tr>${columns.map((c) => cell(c, row[c]))}</tr>\n`)}</tbody>
</table>
${hidden > 0 ? markup`<p class="notice">${plural(hidden, 'more row')} not shown; see report.json.</p>` : ''}
`;
}

export function renderInventory(inventory: unknown, tableLimit: number): SafeHtml {
  if (inventory === undefined) return markup``;
  const findings = rowsOf(inventory, 'findings');
  const apps = rowsOf(inventory, 'apps');
  const body =
    findings.length + apps.length === 0
      ? markup`<p class="muted">The inventory lists no apps or findings; it is kept whole in report.json.</p>`
      : markup`${table('Findings', findings, ['rule', 'severity', 'package', 'evidence'], tableLimit)}\
${table('Pre-installed apps', apps, ['package', 'path'], tableLimit)}`;
  return markup`<section id="inventory">
<h2>Image inventory</h2>
${runPlan(inventory, tableLimit)}${body}</section>
`;
}

/** How the image was run, and for a transplant the base, what moved and what stayed behind. */
function runPlan(inventory: unknown, tableLimit: number): SafeHtml {
  const plan = isRow(inventory) && isRow(inventory['runPlan']) ? inventory['runPlan'] : undefined;
  if (!plan) return markup``;
  const transplant = isRow(inventory) ? inventory['transplant'] : undefined;
  const base = isRow(transplant) && isRow(transplant['base']) ? transplant['base'] : undefined;
  const baseLine = base
    ? markup`<p>Booted the transplant onto base ${cellText(base['name'])} (API ${cellText(base['apiLevel'])}, ${cellText(base['abi'])}).</p>\n`
    : '';
  const moved = table(
    'Moved onto the base',
    rowsOf(transplant, 'moved'),
    ['package', 'path'],
    tableLimit,
  );
  const stayed = table(
    'Not moved',
    rowsOf(transplant, 'notMoved'),
    ['package', 'path', 'reason'],
    tableLimit,
  );
  return markup`<p>Run plan: ${cellText(plan['mode'])}: ${cellText(plan['reason'])}</p>
${baseLine}${moved}${stayed}`;
}
