/** The leak sections of the report page: leaks grouped by channel, then one row per leak, paged. */
import type { Leak, LeakSite } from '../correlate/types.ts';
import { leakHost } from './hosts.ts';
import {
  formatTime,
  highlightExcerpt,
  limitRows,
  markup,
  transformChain,
  truncate,
  type SafeHtml,
} from './html-kit.ts';
import type { Channel } from './model.ts';
import { plural } from './verdict.ts';

export interface LeakPaging {
  offset: number;
  limit: number;
  /** Link to the page of leaks starting at `offset`; without it the page points at report.json. */
  href?: (offset: number) => string;
}

const UNKNOWN_APP = markup`<span class="muted">unknown</span>`;
const CHAINS_SHOWN = 5;

function chains(channel: Channel): SafeHtml {
  const more = channel.transforms.length - CHAINS_SHOWN;
  return markup`${channel.transforms
    .slice(0, CHAINS_SHOWN)
    .map((chain) => markup`<div class="chain">${transformChain(chain)}</div>`)}${
    more > 0 ? markup`<div class="muted">and ${more} more</div>` : ''
  }`;
}

function channelRow(c: Channel): SafeHtml {
  return markup`<tr><td><code>${c.kind}</code></td><td class="wrap">${c.host}</td><td>${c.app ?? UNKNOWN_APP}</td>\
<td class="num">${c.leaks}</td><td>${chains(c)}</td>\
<td class="mono">${formatTime(c.firstSeen)}</td><td class="mono">${formatTime(c.lastSeen)}</td></tr>
`;
}

export function renderChannels(channels: readonly Channel[], tableLimit: number): SafeHtml {
  if (channels.length === 0) return markup``;
  const { shown, hidden } = limitRows(channels, tableLimit);
  return markup`<section id="channels">
<h2>Leaks by canary kind, destination and app</h2>
<table>
<thead><tr><th>Canary kind</th><th>Destination</th><th>App</th><th class="num">Leaks</th>\
<th>Transforms</th><th>First seen</th><th>Last seen</th></tr></thead>
<tbody>
${shown.map(channelRow)}</tbody>
</table>
${hidden > 0 ? markup`<p class="notice">${plural(hidden, 'more group')} not shown; the full list is in report.json.</p>` : ''}
</section>
`;
}

function describeSite(site: LeakSite): string {
  if (site.kind === 'flow') {
    return `flow ${site.flowId}, ${site.part}${site.header ? ` ${site.header}` : ''}`;
  }
  return `event #${site.eventIndex} ${site.eventType}, ${site.field}`;
}

function endpoint(leak: Leak): string {
  const { ip, port } = leak.destination;
  if (ip === undefined) return port === undefined ? '' : `:${port}`;
  const shownIp = ip.includes(':') ? `[${ip}]` : ip;
  return port === undefined ? shownIp : `${shownIp}:${port}`;
}

function leakRow(leak: Leak, index: number): SafeHtml {
  const request = leak.http
    ? markup`<code>${leak.http.method}</code> ${truncate(leak.http.url, 300)}`
    : markup`<span class="muted">${leak.destination.channel}</span>`;
  const confidence =
    leak.confidence < 1 ? markup`<br><span class="muted">confidence ${leak.confidence}</span>` : '';
  const excerpt = highlightExcerpt(leak.evidence.excerpt, [
    leak.evidence.matched,
    leak.canary.value,
  ]);
  return markup`<tr><td class="num">${index + 1}</td><td class="mono">${formatTime(leak.t)}</td>\
<td><code>${leak.canary.kind}</code><br><span class="mono">${truncate(leak.canary.value, 200)}</span></td>\
<td class="wrap">${leakHost(leak)}<br><span class="mono muted">${endpoint(leak)}</span></td>\
<td class="wrap">${request}<br><span class="muted">${describeSite(leak.site)}</span></td>\
<td>${leak.app ?? UNKNOWN_APP}</td><td class="chain">${transformChain(leak.transforms)}${confidence}</td>\
<td class="mono evidence"><span class="excerpt">${excerpt}</span><br><span class="muted">offset ${leak.evidence.offset}</span></td></tr>
`;
}

function pager(
  total: number,
  offset: number,
  limit: number,
  href?: (offset: number) => string,
): SafeHtml {
  const end = Math.min(total, offset + limit);
  const where = href ? '' : '; every leak is in report.json, and the groups above count them all';
  const showing = markup`<p class="notice">Showing leaks ${offset + 1}–${end} of ${total.toLocaleString('en-US')}${where}.</p>`;
  if (!href) return showing;
  const previous =
    offset > 0
      ? markup`<a href="${href(Math.max(0, offset - limit))}">← previous ${limit}</a>`
      : '';
  const next =
    end < total ? markup`<a href="${href(end)}">next ${Math.min(limit, total - end)} →</a>` : '';
  return markup`${showing}<nav class="pager">${previous}${next}</nav>`;
}

export function renderLeakRows(leaks: readonly Leak[], paging: LeakPaging): SafeHtml {
  if (leaks.length === 0) return markup``;
  const offset = Math.min(Math.max(0, Math.floor(paging.offset)), leaks.length - 1);
  const limit = Math.max(1, Math.floor(paging.limit));
  const page = leaks.slice(offset, offset + limit);
  const nav =
    offset > 0 || page.length < leaks.length ? pager(leaks.length, offset, limit, paging.href) : '';
  return markup`<section id="leaks">
<h2>Leaks (${leaks.length.toLocaleString('en-US')})</h2>
${nav}
<table>
<thead><tr><th class="num">#</th><th>Time</th><th>Canary</th><th>Destination</th><th>Request</th>\
<th>App</th><th>Transforms</th><th>Evidence</th></tr></thead>
<tbody>
${page.map((leak, i) => leakRow(leak, offset + i))}</tbody>
</table>
${nav}
</section>
`;
}
