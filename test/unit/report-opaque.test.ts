import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { OPAQUE_REASONS } from '../../src/correlate/opaque.ts';
import { buildReport } from '../../src/report/build.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { opaqueFlowLine } from '../../src/report/opaque.ts';
import { parseReport } from '../../src/report/read.ts';
import {
  adupsLeaks,
  BIGDATA,
  flow,
  FOTA,
  FOTA_HOST,
  input,
  opaqueFlow,
  stages,
  SYSOPER,
  T0,
} from '../support/report-fixtures.ts';

/** The pinned adups run: the update check read, the big-data upload refused twice at the handshake. */
function pinnedInput(): ReturnType<typeof input> {
  return input([], [flow(FOTA_HOST, { app: FOTA })], {
    opaque: [
      opaqueFlow(BIGDATA, { app: SYSOPER, t: T0 + 72 * 3600_000, ip: '198.51.100.7' }),
      opaqueFlow(BIGDATA, { app: SYSOPER, t: T0 + 30_000, ip: '198.51.100.7' }),
    ],
  });
}

void test('no leak but flows capture could not read: inconclusive, naming their destination', () => {
  const report = buildReport(pinnedInput());
  assert.equal(report.verdict.status, 'inconclusive');
  assert.equal(
    report.verdict.summary,
    'No leak found in 1 captured flow to 1 host, but capture could not read 2 flows to bigdata.adups.com (tls-handshake-failed): a canary sent there would not be seen',
  );
  // Each listed with destination, app, bytes, time and reason, sorted by time.
  assert.deepEqual(report.opaque[0], {
    flowId: `opaque-${BIGDATA}-${T0 + 30_000}`,
    t: T0 + 30_000,
    protocol: 'tls',
    destination: { host: BIGDATA, ip: '198.51.100.7', port: 443 },
    app: SYSOPER,
    bytesSent: 517,
    reason: 'tls-handshake-failed',
    detail: 'tls-handshake:cert-rejected',
    plaintextFromHook: false,
  });
  assert.deepEqual(
    report.opaque.map((o) => o.t),
    [T0 + 30_000, T0 + 72 * 3600_000],
  );
});

void test('leaks and unread flows: still leaks found, and the summary names the unread flows', () => {
  const report = buildReport(
    input(adupsLeaks(), [], {
      opaque: [opaqueFlow('cdn.adsunflower.com', { reason: 'unknown-protocol', port: 8443 })],
    }),
  );
  assert.equal(report.verdict.status, 'leaks-found');
  assert.equal(
    report.verdict.summary,
    '5 canary kinds left the device to 2 hosts from 2 apps (6 leaks); capture could not read 1 flow to cdn.adsunflower.com (unknown-protocol)',
  );
});

void test('a failed stage stays incomplete, and says what could not be read', () => {
  const report = buildReport({ ...pinnedInput(), stages: stages('exercise') });
  assert.equal(report.verdict.status, 'incomplete');
  assert.match(
    report.verdict.summary,
    /did not finish: exercise \(device went away\) failed; capture could not read 2 flows to bigdata\.adups\.com/,
  );
});

void test('a TLS session whose plaintext a hook saw is listed but was read: no leaks', () => {
  const report = buildReport(
    input([], [flow(FOTA_HOST)], {
      opaque: [opaqueFlow(BIGDATA, { app: SYSOPER, plaintextFromHook: true })],
    }),
  );
  assert.equal(report.verdict.status, 'no-leaks');
  assert.equal(report.opaque.length, 1);
  assert.match(opaqueFlowLine(report.opaque[0]!), /plaintext seen by a hook was searched/);
});

void test('many unread hosts: the busiest three are named, the rest counted', () => {
  const hosts = [
    'a.example.org',
    'b.example.org',
    'c.example.org',
    'd.example.org',
    'e.example.org',
  ];
  const opaque = hosts.flatMap((host, i) =>
    Array.from({ length: hosts.length - i }, (_, n) => opaqueFlow(host, { t: T0 + n })),
  );
  opaque.push(opaqueFlow('10.0.0.9', { reason: 'tls-not-decrypted', t: T0 }));
  const report = buildReport(input([], [], { opaque }));
  assert.equal(report.verdict.status, 'inconclusive');
  assert.match(
    report.verdict.summary,
    /could not read 16 flows to a\.example\.org \(tls-handshake-failed\), b\.example\.org \(tls-handshake-failed\), c\.example\.org \(tls-handshake-failed\) and 3 more hosts:/,
  );
});

void test('the page lists unread flows under the verdict, inert, with an inconclusive header', () => {
  const hostile = 'x<script>alert(1)</script>.example.org';
  const base = pinnedInput();
  const report = buildReport({
    ...base,
    opaque: [...(base.opaque ?? []), opaqueFlow(hostile, { app: '<b>app</b>' })],
  });
  const page = renderReportHtml(report);
  assert.ok(page.includes('class="verdict verdict-inconclusive"'));
  assert.ok(page.includes('<p class="label">Inconclusive</p>'));
  const section = /<section id="opaque">[\s\S]*?<\/section>/.exec(page)?.[0] ?? '';
  assert.match(section, /Flows capture could not read \(3\)/);
  assert.match(
    section,
    /bigdata\.adups\.com<\/td><td class="mono">198\.51\.100\.7:443<\/td><td>tls<\/td><td>com\.adups\.fota\.sysoper<\/td>/,
  );
  assert.match(section, /tls-handshake:cert-rejected/);
  assert.ok(!/<script/i.test(page) && page.includes('x&lt;script&gt;'));
  assert.ok(page.includes('&lt;b&gt;app&lt;/b&gt;'));
  assert.ok(
    page.indexOf('id="opaque"') < page.indexOf('id="destinations"'),
    'listed before the destinations',
  );
  assert.ok(!renderReportHtml(buildReport(input(adupsLeaks(), []))).includes('id="opaque"'));
});

void test('reports with unread flows validate against the schema; its reasons are the correlator’s', () => {
  const schema = JSON.parse(
    readFileSync(new URL('../../docs/report.schema.json', import.meta.url), 'utf8'),
  ) as { $defs: { opaqueFlow: { properties: { reason: { enum: string[] } } } } };
  assert.deepEqual(schema.$defs.opaqueFlow.properties.reason.enum, [...OPAQUE_REASONS]);
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(schema);
  const withoutApp = opaqueFlow('10.0.0.9', { reason: 'tls-not-decrypted' });
  delete withoutApp.detail;
  for (const report of [
    buildReport(pinnedInput()),
    buildReport(input(adupsLeaks(), [], { opaque: [withoutApp] })),
  ]) {
    assert.equal(
      validate(JSON.parse(JSON.stringify(report))),
      true,
      JSON.stringify(validate.errors),
    );
  }
});

void test('a report written before unread flows were listed reads back as listing none', () => {
  const report = buildReport(input(adupsLeaks(), []));
  const old = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
  delete old.opaque;
  assert.deepEqual(parseReport(JSON.stringify(old), 'old.json').opaque, []);
  assert.throws(
    () => parseReport(JSON.stringify({ ...old, opaque: {} }), 'odd.json'),
    /opaque is not a list/,
  );
});
