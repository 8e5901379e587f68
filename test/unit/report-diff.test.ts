import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport } from '../../src/report/build.ts';
import { diffReports } from '../../src/report/diff.ts';
import { renderDiffHtml } from '../../src/report/diff-html.ts';
import { renderDiffText } from '../../src/report/diff-text.ts';
import type { Report } from '../../src/report/model.ts';
import {
  adupsFixedLeaks,
  adupsLeaks,
  BIGDATA,
  canarySet,
  flow,
  FOTA,
  FOTA_HOST,
  input,
  leak,
  stages,
  SYSOPER,
  T0,
} from '../support/report-fixtures.ts';

function adupsPair(nextLineage = 'blu-r1-hd'): [Report, Report] {
  const base = buildReport(
    input(adupsLeaks(), [
      flow(BIGDATA, { app: SYSOPER }),
      flow(FOTA_HOST, { app: FOTA }),
      flow('rebootv5.adsunflower.com'),
    ]),
  );
  const nextInput = input(adupsFixedLeaks(), [
    flow(FOTA_HOST, { app: FOTA }),
    flow('rebootv5.adsunflower.com'),
  ]);
  nextInput.run = { ...nextInput.run, runId: 'run-2', jobId: 'job-2', baselineRunId: 'run-1' };
  nextInput.run.image = {
    ...nextInput.run.image,
    name: 'adups-2016-fixed',
    sha256: 'b'.repeat(64),
    lineage: nextLineage,
  };
  return [base, buildReport(nextInput)];
}

void test('the adups fix: the big-data upload is fixed, the IMEI in the update check still leaks', () => {
  const diff = diffReports(...adupsPair());
  assert.deepEqual(diff.fixed.kinds, ['contact_name', 'sms_body', 'call_number', 'imsi']);
  assert.deepEqual(diff.stillLeaking.kinds, ['imei']);
  assert.deepEqual(diff.new.kinds, []);
  assert.deepEqual(
    diff.channels
      .filter((c) => c.kind === 'imei')
      .map((c) => [c.host, c.app, c.base, c.next, c.status]),
    [
      [BIGDATA, SYSOPER, 1, 0, 'fixed'],
      [FOTA_HOST, FOTA, 1, 1, 'still'],
    ],
  );
  assert.deepEqual(
    diff.stillLeaking.channels.map((c) => `${c.kind}→${c.host}`),
    [`imei→${FOTA_HOST}`],
  );
  assert.deepEqual(
    diff.fixed.channels.map((c) => `${c.kind}→${c.host}`),
    ['contact_name', 'sms_body', 'call_number', 'imei', 'imsi'].map((k) => `${k}→${BIGDATA}`),
  );
  assert.deepEqual(diff.newDestinations, []);
  assert.deepEqual(diff.goneDestinations, [BIGDATA]);
  assert.deepEqual(diff.warnings, []);
  const imei = diff.kinds.find((k) => k.kind === 'imei');
  assert.deepEqual(imei, { kind: 'imei', base: 2, next: 1, status: 'still' });
  assert.equal(diff.kinds.find((k) => k.kind === 'email')?.status, 'none', 'planted, never leaked');
  assert.equal(diff.kinds.length, 14);
  assert.equal(diff.next.runId, 'run-2');
});

void test('new kinds, new channels and new destinations in the next run', () => {
  const [base] = adupsPair();
  const nextInput = input(
    [
      ...adupsLeaks(),
      leak({ kind: 'location', host: 'sa.example.org', app: 'com.android.browser', t: T0 + 9 }),
      leak({ kind: 'imei', host: 'sa.example.org', app: 'com.android.browser', t: T0 + 10 }),
    ],
    [flow('sa.example.org')],
  );
  const diff = diffReports(base, buildReport(nextInput));
  assert.deepEqual(diff.new.kinds, ['location']);
  assert.deepEqual(diff.fixed.kinds, []);
  assert.deepEqual(diff.stillLeaking.kinds, [
    'contact_name',
    'sms_body',
    'call_number',
    'imei',
    'imsi',
  ]);
  assert.deepEqual(
    diff.new.channels.map((c) => `${c.kind}→${c.host}`),
    ['imei→sa.example.org', 'location→sa.example.org'],
  );
  assert.deepEqual(diff.newDestinations, ['sa.example.org']);
});

void test('warnings: different lineages, an unfinished run, kinds not planted', () => {
  const [base, next] = adupsPair('blu-studio');
  assert.match(
    diffReports(base, next).warnings.join('\n'),
    /different lineages \(blu-r1-hd and blu-studio\)/,
  );

  const unknown = structuredClone(next);
  delete unknown.run.image.lineage;
  assert.match(
    diffReports(base, unknown).warnings.join('\n'),
    /lineage of the next image is unknown/,
  );

  const partial = buildReport(
    input([], [], {
      stages: stages('exercise'),
      canaries: canarySet('run-3', ['imei', 'sms_body']),
    }),
  );
  const warnings = diffReports(base, partial).warnings.join('\n');
  assert.match(warnings, /the next run did not finish/);
  assert.match(warnings, /planted in base but not in next.*contact_name/);
});

void test('text for the CLI: one aligned line per kind, then channel lines', () => {
  const text = renderDiffText(diffReports(...adupsPair()));
  const lines = text.split('\n');
  const kindLines = lines.filter((l) => /^[a-z_]+ +\d+ +\d+ +/.test(l));
  assert.equal(kindLines.length, 5, 'one line per kind that leaked in either run');
  assert.match(text, /^sms_body +1 +0 +fixed$/m);
  assert.match(text, /^imei +2 +1 +still leaking$/m);
  assert.match(text, /^no leak in either run: phone_number, email, iccid,/m);
  const statusColumn = new Set(kindLines.map((l) => l.search(/(fixed|still leaking)$/)));
  assert.equal(statusColumn.size, 1, 'the status column is aligned');
  assert.match(
    text,
    new RegExp(
      `^ +fixed +imei +→ ${BIGDATA.replaceAll('.', '\\.')} +${SYSOPER.replaceAll('.', '\\.')} +1 → 0$`,
      'm',
    ),
  );
  assert.match(
    text,
    new RegExp(
      `^ +still leaking +imei +→ ${FOTA_HOST.replaceAll('.', '\\.')} +${FOTA.replaceAll('.', '\\.')} +1 → 1$`,
      'm',
    ),
  );
  assert.match(text, /4 fixed, 0 hidden, 1 still leaking, 0 new/);
});

void test('text and HTML keep hostile names inert', () => {
  const [base] = adupsPair();
  const host = 'evil\u001b]0;pwned\u0007<script>x</script>\u202e.example.org';
  const next = buildReport(input([leak({ kind: 'imei', host, app: SYSOPER })], [flow(host)]));
  const diff = diffReports(base, next);
  const text = renderDiffText(diff);
  assert.ok(
    ['\u001b', '\u0007', '\u202e'].every((ch) => !text.includes(ch)),
    'no control or bidi characters reach the terminal',
  );
  assert.ok(text.includes('evil\\x1b]0;pwned\\x07'));
  const page = renderDiffHtml(diff);
  assert.ok(!/<script/i.test(page));
  assert.ok(page.includes('&lt;script&gt;x&lt;/script&gt;'));
  assert.ok(page.includes('<td class="status-fixed">fixed</td>'));
  assert.ok(page.includes('<td class="status-new">new</td>'));
});
