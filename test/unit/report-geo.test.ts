import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { buildReport } from '../../src/report/build.ts';
import { countryOf, isPublicAddress } from '../../src/report/geo.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import { BIGDATA, flow, input, leak, T0 } from '../support/report-fixtures.ts';

// Lookups only: these literals are looked up in the bundled database, never contacted.

void test('public addresses get their country from the offline database', () => {
  assert.equal(countryOf('8.8.8.8'), 'US');
  assert.equal(countryOf('193.0.6.139'), 'NL');
  assert.equal(countryOf('202.108.22.5'), 'CN');
  assert.equal(countryOf('2001:4860:4860::8888'), 'US');
  assert.equal(countryOf('::ffff:8.8.8.8'), 'US', 'an IPv4-mapped address is its IPv4 address');
});

void test('private, loopback, link-local, documentation and non-addresses get no country', () => {
  for (const ip of [
    '10.1.2.3',
    '172.20.0.5',
    '192.168.1.1',
    '127.0.0.10',
    '169.254.1.1',
    '100.64.0.1',
    '203.0.113.7',
    '::1',
    'fe80::1',
    'fd00::5',
    '::ffff:127.0.0.1',
    'bigdata.adups.com',
    '8.8.8.8.8',
    '(sms)',
  ]) {
    assert.equal(isPublicAddress(ip), false, ip);
    assert.equal(countryOf(ip), undefined, ip);
  }
  assert.equal(isPublicAddress('8.8.8.8'), true);
});

void test('destinations carry the country in report.json (valid against the schema) and on the page', () => {
  const leaks = [
    leak({ kind: 'imei', host: BIGDATA, ip: '127.0.0.10' }),
    leak({ kind: 'imsi', host: '193.0.6.139', ip: '193.0.6.139', port: 9000, t: T0 + 1 }),
    leak({ kind: 'serial', host: 'mixed.example.com', ip: '10.0.0.9', t: T0 + 2 }),
  ];
  const report = buildReport(
    input(leaks, [flow(BIGDATA), flow('mixed.example.com', { ip: '8.8.8.8', t: T0 + 3 })]),
  );
  const byHost = new Map(report.destinations.map((d) => [d.host, d]));
  assert.equal(byHost.get('193.0.6.139')?.country, 'NL');
  assert.equal(byHost.get('mixed.example.com')?.country, 'US', 'the public one of its addresses');
  assert.equal(byHost.get(BIGDATA)?.country, undefined, 'sinkholed to loopback: no country');
  assert.ok(!('country' in (byHost.get(BIGDATA) ?? {})), 'absent, not undefined, in JSON');

  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const validate = ajv.compile(
    JSON.parse(
      readFileSync(new URL('../../docs/report.schema.json', import.meta.url), 'utf8'),
    ) as object,
  );
  assert.ok(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors));
  const broken = JSON.parse(JSON.stringify(report)) as {
    destinations: Array<{ country?: string }>;
  };
  broken.destinations[0]!.country = 'Netherlands';
  assert.equal(validate(broken), false, 'the schema holds country to two capital letters');

  const html = renderReportHtml(report);
  const table = html.slice(html.indexOf('<section id="destinations">'));
  assert.match(table, /<th[^>]*>Country<\/th>/);
  assert.match(table, /193\.0\.6\.139<\/td>\s*<td class="mono country">NL<\/td>/);
  assert.match(table, /<td class="mono country">US<\/td>/);
});
