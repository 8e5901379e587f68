import { markup } from '../../report/html-kit.ts';
import { STAGES } from '../../queue/names.ts';
import { waitingText } from '../../queue/waiting.ts';
import type { RunDetail } from '../runs.ts';
import { appPage, labSelect } from './layout.ts';

export const WATCH_SCRIPT_PATH = '/static/watch.js';

/**
 * `/runs/:id`: the stage timeline and the leaks as they are found. The script fills it from the
 * run's event stream, which replays the run so far, so a reload mid-run shows everything again.
 */
export function renderWatchPage(detail: RunDetail, labs: readonly string[], csrf: string): string {
  const label = detail.record?.imageLabel ?? detail.job?.data.imageLabel ?? '';
  const baseline = detail.record?.baselineRunId ?? detail.job?.data.baselineRunId;
  // A run that has ended cannot be cancelled; one still queued or running can, from the page
  // without scripts too (the form posts and comes back here).
  const ended =
    detail.job?.state === 'completed' ||
    detail.job?.state === 'failed' ||
    (detail.record !== undefined && detail.record.status !== 'running');
  const body = markup`<main id="watch" data-run-id="${detail.runId}">
<header class="verdict">
<p class="label">Run ${detail.runId}</p>
<h1>${label}</h1>
<p id="run-status">${detail.job?.waiting ? waitingText(detail.job.waiting) : 'waiting for the run…'}</p>
<p class="actions">
<a id="report-link" href="/runs/${detail.runId}/report" hidden>Open the report</a>
${baseline ? markup`<a id="diff-link" href="/diff?base=${baseline}&amp;next=${detail.runId}">Diff with baseline ${baseline}</a>` : ''}
</p>
${
  ended
    ? ''
    : markup`<form class="inline" id="cancel-form" method="post" action="/runs/${detail.runId}/cancel?csrf=${csrf}">
<button type="submit" id="cancel-button">Cancel this run</button>
</form>`
}
</header>
<section id="stages">
<h2>Stages</h2>
<ol class="timeline">
${STAGES.map((stage) => markup`<li id="stage-${stage}" data-stage="${stage}"><span class="name">${stage}</span> <span class="status">pending</span> <span class="note"></span></li>\n`)}</ol>
</section>
<section id="live-leaks">
<h2>Leaks <span id="leak-count">0</span></h2>
<table>
<thead><tr><th>Time</th><th>Canary</th><th>Destination</th><th>App</th><th>Transforms</th></tr></thead>
<tbody id="leak-rows"></tbody>
</table>
</section>
<section id="rerun">
<h2>Rerun</h2>
<form class="inline" method="post" action="/runs/${detail.runId}/rerun?csrf=${csrf}">
<label for="image">with lab image</label>${labSelect(labs, 'image')}
<button type="submit" id="rerun-button">Rerun against this run</button>
</form>
</section>
</main>`;
  return appPage(`canarytrap · ${detail.runId}`, body, WATCH_SCRIPT_PATH);
}
