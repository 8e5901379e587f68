import { ANALYSIS_DEFAULTS } from '../../config.ts';
import { markup } from '../../report/html-kit.ts';
import type { RunSummary } from '../runs.ts';
import { appPage, labSelect } from './layout.ts';

/** `/`: every run, a search box and the submit form (a lab image, or an uploaded file). */
export function renderRunsPage(
  runs: readonly RunSummary[],
  labs: readonly string[],
  q: string,
  /** The session's CSRF token, which every posting form carries. */
  csrf: string,
): string {
  const rows = runs.map(
    (run) => markup`<tr>
<td><a href="/runs/${run.runId}">${run.runId}</a></td><td>${run.label}</td><td>${run.status}</td>
<td>${run.verdict ?? ''}</td><td class="num">${run.leakCount ?? ''}</td>
<td>${run.baselineRunId ? markup`<a href="/diff?base=${run.baselineRunId}&amp;next=${run.runId}">diff with ${run.baselineRunId}</a>` : ''}</td>
<td>${run.createdAt ?? ''}</td></tr>\n`,
  );
  const body = markup`<main>
<section id="submit">
<h1>Submit an image</h1>
<form class="inline" method="post" action="/runs?csrf=${csrf}" enctype="multipart/form-data">
<label for="lab">Lab image</label>${labSelect(labs, 'lab')}
<label for="file">or upload</label><input type="file" name="file" id="file">
<details id="run-settings"><summary>Run settings</summary>
<label for="advanceHours">device-clock hours to advance</label><input type="number" name="advanceHours" id="advanceHours" min="1" max="10000" placeholder="${String(ANALYSIS_DEFAULTS.advanceHours)}">
<label for="stepHours">largest jump (hours)</label><input type="number" name="stepHours" id="stepHours" min="1" max="10000" placeholder="${String(ANALYSIS_DEFAULTS.stepHours)}">
</details>
<button type="submit" id="submit-run">Analyse</button>
</form>
</section>
<section id="runs">
<h2>Runs</h2>
<form class="inline" method="get" action="/"><input type="search" name="q" value="${q}" placeholder="label, verdict, status"><button type="submit">Search</button></form>
<table>
<thead><tr><th>Run</th><th>Image</th><th>Status</th><th>Verdict</th><th class="num">Leaks</th><th>Baseline</th><th>Created</th></tr></thead>
<tbody>
${rows}</tbody>
</table>
${runs.length === 0 ? markup`<p>No runs${q ? ' match' : ' yet'}.</p>` : ''}
</section>
</main>`;
  return appPage('canarytrap · runs', body);
}
