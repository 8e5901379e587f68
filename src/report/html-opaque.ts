/** The report page's list of flows capture could not read. */
import { formatBytes, formatTime, limitRows, markup, type SafeHtml } from './html-kit.ts';
import type { OpaqueFlow } from './model.ts';
import { plural } from './verdict.ts';

const UNKNOWN_APP = markup`<span class="muted">unknown</span>`;

function row(flow: OpaqueFlow): SafeHtml {
  const { host, ip, port } = flow.destination;
  const why = flow.plaintextFromHook
    ? markup`${flow.reason}<div class="muted">plaintext seen by a hook was searched</div>`
    : markup`${flow.reason}`;
  return markup`<tr><td class="mono">${formatTime(flow.t)}</td><td class="wrap">${host}</td>\
<td class="mono">${ip}:${port}</td><td>${flow.protocol}</td><td>${flow.app ?? UNKNOWN_APP}</td>\
<td class="num">${formatBytes(flow.bytesSent)}</td><td>${why}</td><td class="mono wrap">${flow.detail ?? ''}</td></tr>
`;
}

/**
 * Right under the verdict: a reader weighing "no leaks" (or counting what leaked) must see what
 * nobody could look into, as with the limitations.
 */
export function renderOpaqueFlows(flows: readonly OpaqueFlow[], tableLimit: number): SafeHtml {
  if (flows.length === 0) return markup``;
  const { shown, hidden } = limitRows(flows, tableLimit);
  return markup`<section id="opaque">
<h2>Flows capture could not read (${flows.length})</h2>
<p>Nothing found in these is no evidence that nothing leaked in them.</p>
<table>
<thead><tr><th>Time</th><th>Destination</th><th>Address</th><th>Protocol</th><th>App</th>\
<th class="num">Sent</th><th>Reason</th><th>Capture said</th></tr></thead>
<tbody>
${shown.map(row)}</tbody>
</table>
${hidden > 0 ? markup`<p class="notice">${plural(hidden, 'more flow')} not shown; see report.json.</p>` : ''}
</section>
`;
}
