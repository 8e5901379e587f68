/** The diff as one self-contained HTML page, in the report page's style. */
import type { CapabilityDiff, CapabilityPresence, CapabilityStatus } from './diff-capabilities.ts';
import type { HidingEvidence } from './diff-hidden.ts';
import type { ChannelDiff, DiffSide, KindDiff, KindStatus, ReportDiff } from './diff.ts';
import { formatBytes, formatTime, markup, type SafeHtml } from './html-kit.ts';
import { htmlPage } from './html-page.ts';
import type { VerdictStatus } from './model.ts';
import { plural } from './verdict.ts';

const STATUS_WORDS: Record<KindStatus, string> = {
  fixed: 'fixed',
  hidden: 'hidden',
  still: 'still leaking',
  new: 'new',
  none: 'no leak',
};

function headline(diff: ReportDiff): { verdict: VerdictStatus; text: string } {
  const text = `${plural(diff.fixed.kinds.length, 'canary kind')} fixed, ${diff.hidden.kinds.length} hidden, ${diff.stillLeaking.kinds.length} still leaking, ${diff.new.kinds.length} new`;
  if (diff.stillLeaking.kinds.length + diff.new.kinds.length > 0)
    return { verdict: 'leaks-found', text };
  // Nothing leaks in next: green only if the next run ran to the end and hid nothing.
  if (diff.next.verdict === 'incomplete') return { verdict: 'incomplete', text };
  if (diff.hidden.kinds.length > 0 || diff.next.verdict === 'inconclusive')
    return { verdict: 'inconclusive', text };
  return { verdict: 'no-leaks', text };
}

const UNKNOWN_APP = markup`<span class="muted">unknown</span>`;
const NONE = markup`<span class="muted">none</span>`;

function sideFact(label: string, s: DiffSide): SafeHtml {
  const lineage = s.image.lineage ? ` · lineage ${s.image.lineage}` : '';
  const unread = s.unreadFlows > 0 ? ` · ${plural(s.unreadFlows, 'unread flow')}` : '';
  return markup`<dt>${label}</dt><dd>${s.image.name} · run ${s.runId} · ${plural(s.leaks, 'leak')}${unread} · ${s.verdict}${lineage}</dd>`;
}

function kindRow(k: KindDiff): SafeHtml {
  return markup`<tr><td><code>${k.kind}</code></td><td class="num">${k.base}</td><td class="num">${k.next}</td>\
<td class="status-${k.status}">${STATUS_WORDS[k.status]}</td></tr>\n`;
}

/** For a hidden channel, the next run's unread flows that may carry it. */
function hidingCell(c: ChannelDiff): SafeHtml {
  const hiding = c.hiddenBy;
  if (!hiding) return markup`<td></td>`;
  const item = ({ match, flow }: HidingEvidence): SafeHtml => {
    const { host, ip, port } = flow.destination;
    const by = match === 'host' ? 'same host' : 'same app';
    return markup`<li>${by}: ${flow.protocol} to ${host} <span class="mono">${ip}:${port}</span> from ${flow.app ?? UNKNOWN_APP}, \
${formatBytes(flow.bytesSent)}, <span class="mono">${formatTime(flow.t)}</span>, ${flow.reason}</li>`;
  };
  const more = hiding.flows - hiding.evidence.length;
  return markup`<td class="wrap">${plural(hiding.flows, 'unread flow')}<ul>${hiding.evidence.map(item)}</ul>\
${more > 0 ? markup`<span class="muted">and ${more} more</span>` : ''}</td>`;
}

function channelRow(c: ChannelDiff): SafeHtml {
  return markup`<tr><td class="status-${c.status}">${STATUS_WORDS[c.status]}</td><td><code>${c.kind}</code></td>\
<td class="wrap">${c.host}</td><td>${c.app ?? UNKNOWN_APP}</td><td class="num">${c.base}</td>\
<td class="num">${c.next}</td>${hidingCell(c)}</tr>\n`;
}

function channelsSection(diff: ReportDiff): SafeHtml {
  if (diff.channels.length === 0) return markup``;
  return markup`<section id="channels">
<h2>By channel</h2>
${diff.hidden.channels.length > 0 ? markup`<p>Hidden: gone from the next run, but the next run sent flows capture could not read that may carry it. Not a fix.</p>\n` : ''}\
<table>
<thead><tr><th>Status</th><th>Canary kind</th><th>Destination</th><th>App</th>\
<th class="num">Base leaks</th><th class="num">Next leaks</th><th>Hidden by</th></tr></thead>
<tbody>
${diff.channels.map(channelRow)}</tbody>
</table>
</section>
`;
}

const CAPABILITY_WORDS: Record<CapabilityStatus, string> = {
  fixed: 'removed',
  still: 'still present',
  new: 'new',
  none: 'in neither',
};

function presenceCell(presence: CapabilityPresence): SafeHtml {
  if (!presence.present) return markup`<td>${NONE}</td>`;
  return markup`<td class="wrap">yes<ul>${presence.evidence.map((e) => markup`<li>${e}</li>`)}</ul></td>`;
}

function capabilitiesSection(diff: ReportDiff): SafeHtml {
  // Fixed-status classes reuse the kinds' colours: a capability still present is a leak-like red.
  const row = (c: CapabilityDiff) =>
    markup`<tr id="capability-${c.id}"><td>${c.title}</td><td class="status-${c.status}">${CAPABILITY_WORDS[c.status]}</td>${presenceCell(c.base)}${presenceCell(c.next)}</tr>
`;
  return markup`<section id="capabilities">
<h2>Capabilities</h2>
<table>
<thead><tr><th>Capability</th><th>Status</th><th>Base</th><th>Next</th></tr></thead>
<tbody>
${diff.capabilities.map(row)}</tbody>
</table>
</section>
`;
}

const hostList = (hosts: readonly string[]): SafeHtml =>
  hosts.length === 0 ? NONE : markup`<code>${hosts.join(', ')}</code>`;

/** The diff page's content without the document shell, for pages with their own layout. */
export function renderDiffBody(diff: ReportDiff): SafeHtml {
  const head = headline(diff);
  return markup`<main>
<header class="verdict verdict-${head.verdict}">
<p class="label">Diff</p>
<h1>${head.text}</h1>
<dl class="facts">${sideFact('Base', diff.base)}${sideFact('Next', diff.next)}</dl>
</header>
${diff.cause ? markup`<section id="cause"><h2>Likely cause</h2><p class="notice">${diff.cause}</p></section>\n` : ''}\
${diff.warnings.map((w) => markup`<p class="notice">${w}</p>\n`)}\
<section id="kinds">
<h2>By canary kind</h2>
<table>
<thead><tr><th>Canary kind</th><th class="num">Base leaks</th><th class="num">Next leaks</th><th>Status</th></tr></thead>
<tbody>
${[...diff.kinds.filter((k) => k.status !== 'none'), ...diff.kinds.filter((k) => k.status === 'none')].map(kindRow)}</tbody>
</table>
</section>
${channelsSection(diff)}\
${capabilitiesSection(diff)}\
<section id="destinations">
<h2>Destinations</h2>
<p>New in next: ${hostList(diff.newDestinations)}</p>
<p>No longer contacted: ${hostList(diff.goneDestinations)}</p>
</section>
</main>`;
}

export function renderDiffHtml(diff: ReportDiff): string {
  return htmlPage(
    `canarytrap diff · ${diff.base.image.name} → ${diff.next.image.name}`,
    renderDiffBody(diff),
  );
}
