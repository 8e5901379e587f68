import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildReport } from '../../src/report/build.ts';
import { parseReport } from '../../src/report/read.ts';
import { InputError } from '../../src/errors.ts';
import {
  adupsLeaks,
  BIGDATA,
  flow,
  FOTA,
  FOTA_HOST,
  input,
  leak,
  stages,
  SYSOPER,
  T0,
} from '../support/report-fixtures.ts';

void test('summary counts leaks per kind, host, app and channel', () => {
  const report = buildReport(
    input(adupsLeaks(), [flow(BIGDATA, { app: SYSOPER }), flow(FOTA_HOST, { app: FOTA })]),
  );
  const { totals, byKind, byHost, byApp, channels } = report.summary;
  assert.deepEqual(totals, {
    leaks: 6,
    canaryKinds: 5,
    hosts: 2,
    apps: 2,
    flows: 2,
    canariesPlanted: 14,
  });
  assert.deepEqual(byKind[0], {
    kind: 'imei',
    leaks: 2,
    canaries: 1,
    hosts: [BIGDATA, FOTA_HOST],
    apps: [FOTA, SYSOPER],
  });
  assert.deepEqual(byKind.map((k) => k.kind).sort(), [
    'call_number',
    'contact_name',
    'imei',
    'imsi',
    'sms_body',
  ]);
  assert.deepEqual(byHost, [
    {
      host: BIGDATA,
      leaks: 5,
      kinds: ['contact_name', 'sms_body', 'call_number', 'imei', 'imsi'],
      apps: [SYSOPER],
    },
    { host: FOTA_HOST, leaks: 1, kinds: ['imei'], apps: [FOTA] },
  ]);
  assert.deepEqual(
    byApp.map((a) => [a.app, a.leaks]),
    [
      [SYSOPER, 5],
      [FOTA, 1],
    ],
  );
  const imeiChannels = channels
    .filter((c) => c.kind === 'imei')
    .map((c) => [c.host, c.app, c.leaks, c.transforms]);
  assert.deepEqual(imeiChannels, [
    [BIGDATA, SYSOPER, 1, [['tls', 'base64', 'aes-128-cbc', 'json']]],
    [FOTA_HOST, FOTA, 1, [['tls', 'form:data']]],
  ]);
  assert.equal(channels.length, 6);
});

void test('verdict: leaks found names kinds, hosts and apps in one sentence', () => {
  const report = buildReport(input(adupsLeaks(), []));
  assert.equal(report.verdict.status, 'leaks-found');
  assert.equal(
    report.verdict.summary,
    '5 canary kinds left the device to 2 hosts from 2 apps (6 leaks)',
  );
});

void test('verdict: singular words, unknown app, and a failed stage after leaks were seen', () => {
  const only = leak({ kind: 'imei', host: FOTA_HOST });
  const report = buildReport(input([only], [], { stages: stages('exercise') }));
  assert.equal(report.verdict.status, 'leaks-found');
  assert.equal(
    report.verdict.summary,
    '1 canary kind left the device to 1 host from an unidentified app (1 leak); the run did not finish: exercise (device went away) failed',
  );
});

void test('verdict: no leaks when every stage ran, incomplete when one failed', () => {
  const flows = [
    flow('clean.example.org'),
    flow('clean.example.org', { t: T0 + 10 }),
    flow('time.example.org'),
  ];
  const clean = buildReport(input([], flows));
  assert.equal(clean.verdict.status, 'no-leaks');
  assert.equal(clean.verdict.summary, 'No canary left the device in 3 captured flows to 2 hosts');
  const broken = buildReport(input([], flows, { stages: stages('boot') }));
  assert.equal(broken.verdict.status, 'incomplete');
  assert.match(broken.verdict.summary, /boot \(device went away\) failed/);
});

void test('leaks are sorted by time, canaries count their leaks', () => {
  const leaks = adupsLeaks().reverse();
  const report = buildReport(input(leaks, []));
  const times = report.leaks.map((l) => l.t);
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
  );
  assert.equal(report.leaks[0]?.destination.host, FOTA_HOST);
  const imei = report.canaries.find((c) => c.kind === 'imei');
  assert.equal(
    imei?.leaks,
    0,
    'fixture leaks use ids c-<kind>, the set uses c00..; ids decide, not kinds',
  );
  const byId = buildReport(
    input(
      [leak({ kind: 'imei', host: FOTA_HOST }), leak({ kind: 'imei', host: BIGDATA })].map((l) => ({
        ...l,
        canary: { ...l.canary, id: 'c05' },
      })),
      [],
    ),
  );
  assert.equal(byId.canaries.find((c) => c.id === 'c05')?.leaks, 2);
  assert.equal(byId.canaries.find((c) => c.id === 'c00')?.leaks, 0);
});

void test('destinations sum flows and bytes, and include hosts only leaks reached', () => {
  const body = 'x'.repeat(1000);
  const flows = [
    flow(BIGDATA, { t: T0 + 100, body, app: SYSOPER, ip: '127.0.0.11' }),
    flow(BIGDATA, { t: T0 + 300, body, app: SYSOPER, ip: '127.0.0.12', port: 8443 }),
    flow('clean.example.org', { t: T0 + 50 }),
  ];
  const viaEvent = {
    ...leak({ kind: 'imsi', host: 'raw.adsunflower.com', app: SYSOPER, t: T0 + 900, port: 5222 }),
  };
  viaEvent.site = { kind: 'event', eventIndex: 3, eventType: 'net.send', field: 'data' };
  const report = buildReport(
    input([leak({ kind: 'imei', host: BIGDATA, t: T0 + 200 }), viaEvent], flows),
  );
  const bigdata = report.destinations.find((d) => d.host === BIGDATA);
  const oneFlowBytes =
    Buffer.byteLength(`POST https://${BIGDATA}/upload HTTP/1.1\r\nHost: ${BIGDATA}\r\n\r\n`) +
    body.length;
  assert.deepEqual(bigdata, {
    host: BIGDATA,
    ips: ['127.0.0.10', '127.0.0.11', '127.0.0.12'],
    ports: [443, 8443],
    protocols: ['https'],
    apps: [SYSOPER],
    firstSeen: T0 + 100,
    lastSeen: T0 + 300,
    bytesSent: 2 * oneFlowBytes,
    flowCount: 2,
    leakCount: 1,
  });
  const raw = report.destinations.find((d) => d.host === 'raw.adsunflower.com');
  assert.equal(raw?.flowCount, 0);
  assert.equal(raw?.leakCount, 1);
  assert.deepEqual(raw?.ports, [5222]);
  assert.equal(report.destinations.length, 3);
  assert.equal(
    report.destinations.at(-1)?.host,
    'clean.example.org',
    'hosts without leaks come last',
  );
});

void test('limitations, stages and the opaque inventory are kept as given', () => {
  const inventory = {
    apps: [{ package: FOTA, path: '/system/app/Fota.apk', extra: { nested: true } }],
    custom: [1, 2],
  };
  const report = buildReport(
    input([], [], {
      limitations: ['instrumentation unavailable: frida is not installed'],
      inventory,
    }),
  );
  assert.deepEqual(report.limitations, ['instrumentation unavailable: frida is not installed']);
  assert.deepEqual(report.inventory, inventory);
  assert.equal(report.stages.length, 8);
  assert.equal('inventory' in buildReport(input([], [])), false);
});

void test('parseReport reads a report back and names what is wrong with anything else', () => {
  const report = buildReport(input(adupsLeaks(), []));
  assert.deepEqual(parseReport(JSON.stringify(report), 'report.json'), report);
  assert.throws(
    () => parseReport('{', 'a.json'),
    (e: unknown) => e instanceof InputError && e.code === 'report-unreadable',
  );
  assert.throws(
    () => parseReport(JSON.stringify({ ...report, version: 2 }), 'b.json'),
    /version is 2, expected 1/,
  );
  assert.throws(
    () => parseReport(JSON.stringify({ ...report, leaks: {} }), 'c.json'),
    /leaks is not a list/,
  );
});
