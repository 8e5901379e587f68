import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { buildReport } from '../../src/report/build.ts';
import { diffReports } from '../../src/report/diff.ts';
import { renderDiffHtml } from '../../src/report/diff-html.ts';
import { renderDiffText } from '../../src/report/diff-text.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import type { Report, UiReport } from '../../src/report/model.ts';
import { input, leak, T0 } from '../support/report-fixtures.ts';

const ANALYTICS = 'sa.api.intl.miui.com';
const BROWSER = 'com.android.browser';

function ui(decision: 'accept' | 'refuse', source: 'plan' | 'job'): UiReport {
  return {
    plan: 'default',
    consents: [
      { name: 'experience-programme', decision, source, shown: true },
      { name: 'diagnostics', decision: 'accept', source: 'plan', shown: false },
    ],
    steps: [
      {
        index: 1,
        step: 'finish-setup',
        action: 'observe',
        outcome: 'done',
        note: 'first screen',
        screen: 'com.android.provision',
        t: T0,
        screenshot: 'ui/01-finish-setup.png',
        pageSource: 'ui/01-finish-setup.xml',
      },
      {
        index: 2,
        step: 'finish-setup',
        action: decision === 'accept' ? 'check' : 'uncheck',
        target: 'com.android.provision:id/experience_program "Join the User Experience Program"',
        consent: 'experience-programme',
        decision,
        outcome: 'done',
        t: T0 + 1000,
        screenshot: 'ui/02-finish-setup.png',
        pageSource: 'ui/02-finish-setup.xml',
      },
      {
        index: 3,
        step: 'open-apps',
        action: 'open-app',
        target: 'com.miui.home',
        outcome: 'skipped',
        note: 'no launcher activity',
        t: T0 + 2000,
      },
    ],
  };
}

/** The same image twice, the experience programme accepted, then refused by the job. */
function consentPair(): [Report, Report] {
  const accepted = input(
    [
      leak({ kind: 'imei', host: ANALYTICS, app: BROWSER }),
      leak({ kind: 'android_id', host: ANALYTICS, app: BROWSER }),
    ],
    [],
    { ui: ui('accept', 'plan') },
  );
  const refused = input([], [], { ui: ui('refuse', 'job') });
  refused.run = { ...refused.run, runId: 'run-2', jobId: 'job-2', baselineRunId: 'run-1' };
  return [buildReport(accepted), buildReport(refused)];
}

void test('a report with UI steps and consent decisions validates against the schema', () => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(
    JSON.parse(
      readFileSync(new URL('../../docs/report.schema.json', import.meta.url), 'utf8'),
    ) as object,
  );
  for (const report of consentPair()) {
    assert.ok(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors));
  }
  const outside = buildReport(input([], [], { ui: ui('accept', 'plan') }));
  const [first] = outside.ui?.steps ?? [];
  if (first) first.screenshot = '../../etc/passwd.png';
  assert.equal(
    validate(JSON.parse(JSON.stringify(outside))),
    false,
    'a path outside ui/ is refused',
  );
});

void test('the HTML timeline shows each step with its screenshot, linked, and never a path outside ui/', () => {
  const [accepted] = consentPair();
  const html = renderReportHtml(accepted);
  assert.match(html, /<section id="ui">/);
  assert.match(
    html,
    /<a href="ui\/01-finish-setup\.png"><img src="ui\/01-finish-setup\.png" alt="screen after step 1"/,
  );
  assert.match(html, /<a href="ui\/02-finish-setup\.xml" class="mono">page source<\/a>/);
  assert.match(html, /consent experience-programme<\/dt><dd>accepted \(the plan&#39;s default\)/);
  assert.match(
    html,
    /consent diagnostics<\/dt><dd>accepted \(the plan&#39;s default; never shown\)/,
  );
  assert.match(html, /class="outcome-skipped">skipped<\/td><td>no launcher activity/);
  // Images load from beside the page only.
  assert.match(html, /img-src 'self'/);

  const hostile = structuredClone(accepted);
  const step = hostile.ui?.steps[0];
  assert.ok(step);
  step.screenshot = 'javascript:alert(1)//.png';
  step.pageSource = 'https://evil.invalid/x.xml';
  const page = renderReportHtml(hostile);
  assert.doesNotMatch(page, /javascript:|evil\.invalid/);
});

void test('the diff names a flipped consent first, as the likely cause of what was fixed', () => {
  const diff = diffReports(...consentPair());
  assert.deepEqual(diff.consents, [
    {
      name: 'experience-programme',
      base: 'accept',
      next: 'refuse',
      text: 'consent experience-programme: accepted → refused',
    },
  ]);
  assert.deepEqual(diff.fixed.kinds, ['imei', 'android_id']);
  assert.equal(
    diff.cause,
    'consent experience-programme: accepted → refused — the likely cause of the 2 fixed and 0 new leaking canary kinds',
  );
  const lines = renderDiffText(diff).split('\n');
  assert.match(lines[2] ?? '', /^cause: consent experience-programme: accepted → refused/);
  const html = renderDiffHtml(diff);
  assert.ok(
    html.indexOf('id="cause"') < html.indexOf('id="kinds"'),
    'the cause comes before the per-kind table',
  );
  assert.match(html, /consent experience-programme: accepted → refused/);

  // The other way round it is named as the cause of the new leaks.
  const [a, b] = consentPair();
  assert.match(
    diffReports(b, a).cause ?? '',
    /refused → accepted — the likely cause of the 0 fixed and 2 new/,
  );
});

void test('no consent named where decisions agree, a consent was never shown, or one run drove no UI', () => {
  const [a] = consentPair();
  const same = diffReports(a, structuredClone(a));
  assert.deepEqual(same.consents, []);
  assert.equal(same.cause, undefined);

  const unshown = structuredClone(a);
  for (const c of unshown.ui?.consents ?? []) c.shown = false;
  assert.deepEqual(diffReports(a, unshown).consents, [
    {
      name: 'experience-programme',
      base: 'accept',
      text: 'consent experience-programme: accepted → not asked',
    },
  ]);

  const noUi = structuredClone(a);
  delete noUi.ui;
  const diff = diffReports(a, noUi);
  assert.deepEqual(diff.consents, []);
  assert.ok(
    diff.warnings.some((w) => /UI was driven in one run only/.test(w)),
    diff.warnings.join(),
  );
});
