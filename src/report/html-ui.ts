/** The report page's UI timeline: each action on the screen, with its screenshot. */
import { formatTime, markup, truncate, type SafeHtml } from './html-kit.ts';
import type { UiConsentRecord, UiReport, UiStepRecord } from './model.ts';

/**
 * Only files the runner writes are linked (`ui/NN-step.png|xml`): a path in report.json is
 * data, and a link must not point anywhere else. Relative, so the page finds them next to
 * report.html and under the web server's run path alike.
 */
const ARTIFACT = /^ui\/[0-9]{2,5}-[a-z0-9-]+\.(png|xml)$/;

function decisionWords(consent: UiConsentRecord): string {
  const decided = consent.decision === 'accept' ? 'accepted' : 'refused';
  const from = consent.source === 'job' ? 'set by the job' : "the plan's default";
  return `${decided} (${from}${consent.shown ? '' : '; never shown'})`;
}

function evidence(step: UiStepRecord): SafeHtml {
  const shot = step.screenshot && ARTIFACT.test(step.screenshot) ? step.screenshot : undefined;
  const source = step.pageSource && ARTIFACT.test(step.pageSource) ? step.pageSource : undefined;
  return markup`${
    shot
      ? markup`<a href="${shot}"><img src="${shot}" alt="screen after step ${step.index}" loading="lazy"></a>`
      : ''
  }${source ? markup`<a href="${source}" class="mono">page source</a>` : ''}`;
}

function stepRow(step: UiStepRecord): SafeHtml {
  const consent = step.consent ? `${step.consent}: ${step.decision ?? ''}` : '';
  return markup`<tr><td class="num">${step.index}</td><td class="mono">${formatTime(step.t)}</td>\
<td>${step.step}</td><td>${step.action}</td><td class="mono wrap">${truncate(step.target ?? '', 200)}</td>\
<td>${consent}</td><td class="outcome-${step.outcome}">${step.outcome}</td>\
<td>${truncate(step.note ?? '', 300)}</td><td class="mono">${step.screen ?? ''}</td><td>${evidence(step)}</td></tr>\n`;
}

export function renderUiTimeline(ui: UiReport | undefined): SafeHtml {
  if (!ui) return markup``;
  const consents =
    ui.consents.length === 0
      ? markup``
      : markup`<dl class="facts">
${ui.consents.map((c) => markup`<dt>consent ${c.name}</dt><dd>${decisionWords(c)}</dd>\n`)}</dl>
`;
  return markup`<section id="ui">
<h2>UI timeline (plan ${ui.plan}, ${ui.steps.length} steps)</h2>
${consents}<table class="ui-timeline">
<thead><tr><th class="num">#</th><th>Time</th><th>Step</th><th>Action</th><th>Target</th><th>Consent</th>\
<th>Outcome</th><th>Note</th><th>Foreground</th><th>Screen after</th></tr></thead>
<tbody>
${ui.steps.map(stepRow)}</tbody>
</table>
</section>
`;
}
