/** The report as one self-contained HTML page: inline CSS, no scripts, no external resources. */
import { renderInventory } from './html-inventory.ts';
import { renderUiTimeline } from './html-ui.ts';
import {
  formatBytes,
  formatDuration,
  formatTime,
  limitRows,
  markup,
  truncate,
  type SafeHtml,
} from './html-kit.ts';
import { renderChannels, renderLeakRows } from './html-leaks.ts';
import { renderOpaqueFlows } from './html-opaque.ts';
import { htmlPage } from './html-page.ts';
import type { Report, VerdictStatus } from './model.ts';
import { plural } from './verdict.ts';

export interface ReportHtmlOptions {
  /** Leaks shown one row each; the rest are counted in the groups and kept in report.json. Default 500. */
  leakLimit?: number;
  /** Index of the first leak shown one row each, for paging. Default 0. */
  leakOffset?: number;
  /** Link to the page of leaks starting at an offset (the web interface pages this way). Default: no links. */
  leakPageHref?: (offset: number) => string;
  /** Rows of every other table (groups, destinations, canaries, inventory). Default 1000. */
  tableLimit?: number;
}

export const VERDICT_LABELS: Record<VerdictStatus, string> = {
  'leaks-found': 'Leaks found',
  'no-leaks': 'No leaks',
  inconclusive: 'Inconclusive',
  incomplete: 'Incomplete',
};

function verdictHeader(report: Report): SafeHtml {
  const { run, verdict } = report;
  const took = formatDuration(run.finishedAt - run.startedAt);
  return markup`<header class="verdict verdict-${verdict.status}">
<p class="label">${VERDICT_LABELS[verdict.status]}</p>
<h1>${verdict.summary}</h1>
<p class="meta">${run.image.name} · run ${run.runId} · ${run.launcher} · ${formatTime(run.startedAt)} · ${took}</p>
</header>
`;
}

function fact(label: string, value: string | number | undefined): SafeHtml {
  return value === undefined || value === ''
    ? markup``
    : markup`<dt>${label}</dt><dd>${value}</dd>\n`;
}

function runFacts(report: Report): SafeHtml {
  const { run, summary } = report;
  const { image } = run;
  const device = [image.manufacturer, image.model].filter(Boolean).join(' ');
  const api = image.apiLevel === undefined ? '' : ` (API ${image.apiLevel})`;
  const android = image.androidVersion === undefined ? undefined : `${image.androidVersion}${api}`;
  const captured = `${plural(summary.totals.flows, 'flow')} to ${plural(report.destinations.length, 'host')}; \
${plural(summary.totals.canariesPlanted, 'canary', 'canaries')} planted`;
  return markup`<section id="run">
<h2>Run</h2>
<dl class="facts">
${fact('Image', image.name)}${fact('sha256', image.sha256)}${fact('Fingerprint', image.fingerprint)}\
${fact('Device', device)}${fact('Android', android)}${fact('Lineage', image.lineage)}\
${fact('Run', run.runId)}${fact('Job', run.jobId)}${fact('Baseline run', run.baselineRunId)}\
${fact('Launcher', run.launcher)}${fact('Started', formatTime(run.startedAt))}\
${fact('Finished', formatTime(run.finishedAt))}${fact('Captured', captured)}\
${fact('Attempt', run.attempt !== undefined && run.attempt > 1 ? String(run.attempt) : undefined)}</dl>
${earlierAttempts(report)}</section>
`;
}

/** Attempts that did not finish the run: named, with where their evidence is kept. */
function earlierAttempts(report: Report): SafeHtml {
  const earlier = report.run.earlierAttempts ?? [];
  if (earlier.length === 0) return markup``;
  return markup`<div id="earlier-attempts">
<h3>Earlier attempts (not in this report)</h3>
<ul>
${earlier.map((a) => markup`<li>attempt ${String(a.attempt)}: ${a.outcome} — ${a.reason}; ${plural(a.flows, 'flow')} kept in <code>${a.dir}/</code></li>\n`)}</ul>
</div>
`;
}

/** Verified containment in one line; a run without a cage in red, since its traffic may have left. */
function containmentSection(report: Report): SafeHtml {
  const containment = report.containment;
  if (!containment) return markup``;
  if (containment.status === 'uncontained') {
    return markup`<section id="containment" class="uncontained">
<h2>Containment: NONE</h2>
<p class="alarm">The device ran without a network cage (${containment.reason}): what it sent may have left this host, and traffic other than DNS and TCP through the proxy was neither stopped nor captured.</p>
</section>
`;
  }
  return markup`<section id="containment">
<h2>Containment: verified</h2>
<ul>
${containment.checks.map((check) => markup`<li>${check.ok ? '✓' : '✗'} ${check.detail}</li>\n`)}</ul>
</section>
`;
}

function limitationsSection(report: Report): SafeHtml {
  if (report.limitations.length === 0) return markup``;
  return markup`<section id="limitations">
<h2>What this run could not observe</h2>
${report.limitations.map((text) => markup`<p class="notice">${text}</p>\n`)}</section>
`;
}

function kindSummary(report: Report): SafeHtml {
  if (report.summary.byKind.length === 0) return markup``;
  const rows = report.summary.byKind.map(
    (k) => markup`<tr><td><code>${k.kind}</code></td><td class="num">${k.leaks}</td>\
<td class="num">${k.canaries}</td><td class="wrap">${truncate(k.hosts.join(', '), 500)}</td>\
<td>${truncate(k.apps.join(', '), 500)}</td></tr>\n`,
  );
  return markup`<section id="summary">
<h2>By canary kind</h2>
<table>
<thead><tr><th>Canary kind</th><th class="num">Leaks</th><th class="num">Canaries</th><th>Hosts</th><th>Apps</th></tr></thead>
<tbody>
${rows}</tbody>
</table>
</section>
`;
}

function destinationsSection(report: Report, tableLimit: number): SafeHtml {
  if (report.destinations.length === 0) return markup``;
  const { shown, hidden } = limitRows(report.destinations, tableLimit);
  const rows = shown.map(
    (
      d,
    ) => markup`<tr><td class="wrap">${d.host}</td><td class="mono wrap">${truncate(d.ips.join(', '), 300)}</td>\
<td class="mono country">${d.country ?? ''}</td><td class="mono">${truncate(d.ports.join(', '), 200)}</td><td>${d.protocols.join(', ')}</td>\
<td>${truncate(d.apps.join(', '), 300)}</td><td class="mono">${formatTime(d.firstSeen)}</td>\
<td class="mono">${formatTime(d.lastSeen)}</td><td class="num">${formatBytes(d.bytesSent)}</td>\
<td class="num">${d.flowCount}</td><td class="num">${d.leakCount}</td></tr>\n`,
  );
  return markup`<section id="destinations">
<h2>Destinations (${report.destinations.length})</h2>
<table>
<thead><tr><th>Host</th><th>IPs</th><th>Country</th><th>Ports</th><th>Protocols</th><th>Apps</th><th>First seen</th>\
<th>Last seen</th><th class="num">Sent</th><th class="num">Flows</th><th class="num">Leaks</th></tr></thead>
<tbody>
${rows}</tbody>
</table>
${hidden > 0 ? markup`<p class="notice">${plural(hidden, 'more destination')} not shown; see report.json.</p>` : ''}
</section>
`;
}

function canariesSection(report: Report, tableLimit: number): SafeHtml {
  if (report.canaries.length === 0) return markup``;
  const { shown, hidden } = limitRows(report.canaries, tableLimit);
  const rows = shown.map(
    (c) => markup`<tr><td class="mono">${c.id}</td><td><code>${c.kind}</code></td>\
<td class="mono wrap">${truncate(c.value, 200)}</td><td>${c.context}</td>\
<td class="num">${c.leaks > 0 ? c.leaks : markup`<span class="muted">0</span>`}</td></tr>\n`,
  );
  return markup`<section id="canaries">
<h2>Canaries planted (${report.canaries.length})</h2>
<table>
<thead><tr><th>Id</th><th>Kind</th><th>Value</th><th>Stands for</th><th class="num">Leaks</th></tr></thead>
<tbody>
${rows}</tbody>
</table>
${hidden > 0 ? markup`<p class="notice">${plural(hidden, 'more canary', 'more canaries')} not shown; see report.json.</p>` : ''}
</section>
`;
}

function stagesSection(report: Report): SafeHtml {
  if (report.stages.length === 0) return markup``;
  const rows = report.stages.map(
    (s) => markup`<tr><td>${s.name}</td><td class="stage-${s.status}">${s.status}</td>\
<td class="mono">${formatTime(s.startedAt)}</td><td class="num">${formatDuration(s.finishedAt - s.startedAt)}</td>\
<td>${s.note ?? ''}</td></tr>\n`,
  );
  return markup`<section id="stages">
<h2>Stages</h2>
<table>
<thead><tr><th>Stage</th><th>Status</th><th>Started</th><th class="num">Took</th><th>Note</th></tr></thead>
<tbody>
${rows}</tbody>
</table>
</section>
`;
}

/** The page's content without the document shell, for pages that wrap it in their own layout. */
export function renderReportBody(report: Report, options: ReportHtmlOptions = {}): SafeHtml {
  const tableLimit = options.tableLimit ?? 1000;
  const paging = {
    offset: options.leakOffset ?? 0,
    limit: options.leakLimit ?? 500,
    ...(options.leakPageHref ? { href: options.leakPageHref } : {}),
  };
  return markup`<main>
${verdictHeader(report)}${containmentSection(report)}${limitationsSection(report)}${renderOpaqueFlows(report.opaque, tableLimit)}\
${kindSummary(report)}\
${renderChannels(report.summary.channels, tableLimit)}${renderLeakRows(report.leaks, paging)}\
${destinationsSection(report, tableLimit)}${canariesSection(report, tableLimit)}${renderUiTimeline(report.ui)}\
${stagesSection(report)}\
${runFacts(report)}${renderInventory(report.inventory, tableLimit)}</main>`;
}

export function renderReportHtml(report: Report, options: ReportHtmlOptions = {}): string {
  const title = `canarytrap · ${report.run.image.name} · ${VERDICT_LABELS[report.verdict.status]}`;
  return htmlPage(title, renderReportBody(report, options));
}
