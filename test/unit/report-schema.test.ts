import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { buildReport } from '../../src/report/build.ts';
import type { Report } from '../../src/report/model.ts';
import {
  adupsLeaks,
  BIGDATA,
  flow,
  FOTA,
  input,
  leak,
  stages,
  SYSOPER,
} from '../support/report-fixtures.ts';

const schemaPath = new URL('../../docs/report.schema.json', import.meta.url);

function compile() {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')) as object);
}

/** What the worker writes: the report as JSON, read back. */
const asWritten = (report: Report): unknown => JSON.parse(JSON.stringify(report)) as unknown;

void test('built reports validate against docs/report.schema.json', () => {
  const validate = compile();
  const eventLeak = leak({ kind: 'imsi', host: 'raw.adsunflower.com', app: SYSOPER });
  eventLeak.site = { kind: 'event', eventIndex: 0, eventType: 'net.send', field: 'data' };
  delete eventLeak.http;
  const noHost = leak({ kind: 'location', host: 'x' });
  delete noHost.destination.host;
  const reports = [
    buildReport(input([...adupsLeaks(), eventLeak, noHost], [flow(BIGDATA, { app: SYSOPER })])),
    buildReport(input([], [flow('clean.example.org')])),
    buildReport(
      input([], [], {
        stages: stages('boot'),
        limitations: ['instrumentation unavailable: frida is not installed'],
      }),
    ),
    buildReport(
      input(adupsLeaks(), [], {
        inventory: {
          apps: [{ package: FOTA, path: '/system/app/Fota.apk' }],
          findings: [{ rule: 'r', severity: 'high', evidence: 'e' }],
        },
      }),
    ),
  ];
  for (const report of reports) {
    const ok = validate(asWritten(report));
    assert.equal(ok, true, JSON.stringify(validate.errors, null, 2));
  }
});

void test('the schema rejects what is not a report', () => {
  const validate = compile();
  const good = asWritten(buildReport(input(adupsLeaks(), []))) as Record<string, unknown>;
  const broken: Array<[string, unknown]> = [
    ['unknown verdict', { ...good, verdict: { status: 'maybe', summary: 's' } }],
    ['version 2', { ...good, version: 2 }],
    ['no leaks list', Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'leaks'))],
    [
      'unknown canary kind',
      { ...good, canaries: [{ id: 'c', kind: 'password', value: 'v', context: '', leaks: 0 }] },
    ],
    ['stray field', { ...good, extra: true }],
  ];
  for (const [what, value] of broken) {
    assert.equal(validate(value), false, `${what} should not validate`);
  }
});
