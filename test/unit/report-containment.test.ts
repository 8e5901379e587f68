import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { leakSummary } from '../../src/cli/render.ts';
import { buildReport } from '../../src/report/build.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { adupsLeaks, BIGDATA, flow, input, SYSOPER } from '../support/report-fixtures.ts';

const schema = JSON.parse(
  readFileSync(new URL('../../docs/report.schema.json', import.meta.url), 'utf8'),
) as object;

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  return ajv.compile(schema);
}

const verified = {
  status: 'verified' as const,
  checks: [
    { what: 'tcp', ok: true, detail: 'tcp to 198.51.100.1:9 landed on the capture with its bytes' },
    { what: 'udp', ok: true, detail: 'udp to 203.0.113.1:9 landed on the capture with its bytes' },
    { what: 'icmp', ok: true, detail: 'ICMP drop counter 0 → 1' },
  ],
};

void test('a caged run says "containment: verified" in JSON, HTML and the CLI summary', () => {
  const report = buildReport(
    input(adupsLeaks(), [flow(BIGDATA, { app: SYSOPER })], { containment: verified }),
  );
  const validate = validator();
  assert.ok(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors));
  assert.deepEqual(report.containment, verified);
  const html = renderReportHtml(report);
  assert.match(html, /<section id="containment">\s*<h2>Containment: verified<\/h2>/);
  assert.match(html, /ICMP drop counter 0 → 1/);
  assert.match(leakSummary(report), /^Containment: verified$/m);
});

void test('an uncontained run is shown in red with its reason, everywhere', () => {
  const reason = 'this host cannot make a cage (not running as root)';
  const report = buildReport(
    input(adupsLeaks(), [], { containment: { status: 'uncontained', reason } }),
  );
  const validate = validator();
  assert.ok(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors));
  const html = renderReportHtml(report);
  assert.match(html, /<section id="containment" class="uncontained">/);
  assert.match(html, /<p class="alarm">The device ran without a network cage \(this host cannot/);
  assert.match(html, /\.uncontained h2, \.alarm \{ color: var\(--bad\); \}/);
  assert.match(leakSummary(report), /Containment: NONE — the device ran uncaged \(this host/);
});

void test('a report without a device run has no containment section, and the schema refuses a bad one', () => {
  const report = buildReport(input([], []));
  assert.equal(report.containment, undefined);
  assert.doesNotMatch(renderReportHtml(report), /id="containment"/);
  const validate = validator();
  const written = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
  const bad = { ...written, containment: { status: 'verified' } };
  assert.equal(validate(bad), false);
});
