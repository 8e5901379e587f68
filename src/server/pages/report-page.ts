import { renderDiffBody } from '../../report/diff-html.ts';
import type { ReportDiff } from '../../report/diff.ts';
import { markup } from '../../report/html-kit.ts';
import { renderReportBody } from '../../report/html.ts';
import type { Report } from '../../report/model.ts';
import { EXPORT_FORMATS } from '../exports.ts';
import { appPage, labSelect } from './layout.ts';

/** Leaks per page: the page stays quick for a run with ten thousand of them. */
export const LEAKS_PER_PAGE = 200;

export function renderReportPage(
  report: Report,
  offset: number,
  labs: readonly string[],
  csrf: string,
): string {
  const runId = report.run.runId;
  const baseline = report.run.baselineRunId;
  const actions = markup`<nav class="actions" id="report-actions">
<a href="/runs/${runId}">Timeline</a>
${EXPORT_FORMATS.map((f) => markup`<a href="/api/runs/${runId}/export/${f}">Export ${f}</a> `)}
${baseline ? markup`<a id="diff-link" href="/diff?base=${baseline}&amp;next=${runId}">Diff with baseline ${baseline}</a>` : ''}
<form class="inline" method="post" action="/runs/${runId}/rerun?csrf=${csrf}">
<label for="image">Rerun with</label>${labSelect(labs, 'image')}
<button type="submit" id="rerun-button">Rerun</button>
</form>
</nav>`;
  const body = renderReportBody(report, {
    leakLimit: LEAKS_PER_PAGE,
    leakOffset: offset,
    leakPageHref: (at) => `/runs/${runId}/report?offset=${at}`,
  });
  return appPage(`canarytrap · report ${runId}`, markup`${actions}${body}`);
}

export function renderDiffPage(diff: ReportDiff): string {
  return appPage(`canarytrap · diff ${diff.base.runId} → ${diff.next.runId}`, renderDiffBody(diff));
}
