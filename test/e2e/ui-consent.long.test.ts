import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AnalysisOptions } from '../../src/queue/job-data.ts';
import { diffReports, renderDiffHtml, renderDiffText } from '../../src/report/index.ts';
import type { Report, UiStepRecord } from '../../src/report/model.ts';
import { runDirFor, RUN_FILES } from '../../src/run/run-dir.ts';
import { findAppiumProcesses, findLabPhoneProcesses } from '../support/leftovers.ts';
import { usePipelineWorld } from '../support/pipeline-world.ts';

const ANALYTICS_HOST = 'sa.api.intl.miui.com';
const SMS_SERVICE_NUMBER = '+447700900465';
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Past the 6-hour analytics alarm: enough for both behaviours, which start on the consent itself. */
const QUICK: AnalysisOptions = { advanceHours: 7, stepHours: 6, perProvider: 2 };

const world = usePipelineWorld();
const analyse = (options: AnalysisOptions, baselineRunId?: string) =>
  world.analyse('xiaomi-2021', {
    options,
    timeoutMs: 280_000,
    ...(baselineRunId ? { baselineRunId } : {}),
  });

const analyticsLeaks = (report: Report) =>
  report.leaks.filter((l) => l.destination.host === ANALYTICS_HOST);
const smsLeaks = (report: Report) => report.leaks.filter((l) => l.destination.channel === 'sms');

test(
  'xiaomi-2021: consents accepted through the UI leak the analytics and the hidden SMS; refused, neither; the diff names the consents',
  { timeout: 600_000 },
  async () => {
    const accepted = await analyse(QUICK);
    const a = accepted.report;
    const limitations = a.limitations.join('\n');
    assert.ok(a.ui, `the UI was driven: ${limitations}`);
    assert.doesNotMatch(limitations, /UI driving failed|UI not driven/);
    assert.deepEqual(
      a.ui.consents
        .filter((c) => c.name !== 'diagnostics')
        .map((c) => [c.name, c.decision, c.source, c.shown]),
      [
        ['experience-programme', 'accept', 'plan', true],
        ['cloud-account', 'accept', 'plan', true],
      ],
    );
    for (const consent of ['experience-programme', 'cloud-account']) {
      const step: UiStepRecord | undefined = a.ui.steps.find((s) => s.consent === consent);
      assert.equal(step?.action, 'check', consent);
      assert.equal(step.outcome, 'done', `${consent}: ${step.note}`);
    }
    // The analytics (about 60 parameters, gzip + base64 over HTTPS) and the hidden SMS.
    const analytics = analyticsLeaks(a);
    assert.ok(
      analytics.length > 0,
      `no analytics leak: ${a.destinations.map((d) => d.host).join(', ')}`,
    );
    assert.ok(analytics.every((l) => l.app === 'com.android.browser'));
    assert.ok(new Set(analytics.map((l) => l.canary.kind)).has('imei'));
    const sms = smsLeaks(a);
    assert.ok(sms.length > 0, 'no leak in the hidden SMS');
    assert.ok(sms.every((l) => l.destination.host === SMS_SERVICE_NUMBER));

    // ACCEPTANCE 2: a screenshot and a step for each UI action, in report.json and report.html.
    const runDir = runDirFor(world.config.dataRoot, accepted.runId);
    const html = await readFile(join(runDir, RUN_FILES.reportHtml), 'utf8');
    const actions = a.ui.steps.filter((s) => s.outcome === 'done');
    assert.ok(actions.length >= 8, `${actions.length} UI actions`);
    for (const step of actions) {
      assert.ok(step.screenshot && step.pageSource, `step ${step.index} has its files`);
      const png = await readFile(join(runDir, step.screenshot));
      assert.deepEqual(png.subarray(0, 8), PNG_MAGIC, step.screenshot);
      assert.match(await readFile(join(runDir, step.pageSource), 'utf8'), /<hierarchy/);
      assert.ok(html.includes(`<img src="${step.screenshot}"`), `${step.screenshot} on the page`);
    }
    // The timeline was published live, one note per step.
    const notes = accepted.progress.filter((p) => p.type === 'note' && p.message.startsWith('ui '));
    assert.equal(notes.length, a.ui.steps.length);

    const refused = await analyse(
      { ...QUICK, consents: { 'experience-programme': 'refuse', 'cloud-account': 'refuse' } },
      accepted.runId,
    );
    const r = refused.report;
    assert.ok(r.ui);
    assert.deepEqual(
      r.ui.consents
        .filter((c) => c.name !== 'diagnostics')
        .map((c) => [c.name, c.decision, c.source, c.shown]),
      [
        ['experience-programme', 'refuse', 'job', true],
        ['cloud-account', 'refuse', 'job', true],
      ],
    );
    assert.deepEqual(analyticsLeaks(r), [], 'no analytics with the consent refused');
    assert.deepEqual(smsLeaks(r), [], 'no hidden SMS with the cloud switch left off');
    assert.ok(r.summary.totals.flows > 0, 'the refused run still captured traffic');

    // The diff names the consents first, as the likely cause.
    const diff = diffReports(a, r);
    assert.deepEqual(
      diff.consents.map((c) => c.text),
      [
        'consent experience-programme: accepted → refused',
        'consent cloud-account: accepted → refused',
      ],
    );
    assert.match(diff.cause ?? '', /likely cause/);
    assert.ok(diff.fixed.channels.some((c) => c.host === ANALYTICS_HOST));
    assert.ok(diff.fixed.channels.some((c) => c.host === SMS_SERVICE_NUMBER));
    const text = renderDiffText(diff).split('\n');
    assert.match(text[2] ?? '', /^cause: consent experience-programme: accepted → refused/);
    assert.match(
      renderDiffHtml(diff),
      /id="cause"[^]*consent experience-programme: accepted → refused/,
    );
  },
);

test('closing the worker stops its Appium server and leaves no lab phone behind', async () => {
  await world.stopWorker();
  const ours = (args: string[]) => args.some((a) => a.startsWith(world.config.dataRoot));
  assert.deepEqual(
    (await findAppiumProcesses()).filter((p) => ours(p.args)),
    [],
  );
  const phones = await findLabPhoneProcesses();
  assert.deepEqual(
    phones.filter((p) => p.adbServerPort === world.config.adbServerPort),
    [],
  );
});
