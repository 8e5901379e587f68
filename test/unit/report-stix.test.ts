import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Leak } from '../../src/correlate/types.ts';
import { buildReport } from '../../src/report/build.ts';
import { buildStixBundle, type StixObject } from '../../src/report/export-stix.ts';
import { loadStixValidator, type StixValidator } from '../support/stix-schemas.ts';
import {
  adupsLeaks,
  BIGDATA,
  flow,
  FOTA_HOST,
  input,
  leak,
  SYSOPER,
  T0,
} from '../support/report-fixtures.ts';

let stix: StixValidator;

before(async () => {
  stix = await loadStixValidator();
});

function smsLeak(): Leak {
  const made = leak({ kind: 'sms_body', host: 'unused', app: SYSOPER, t: T0 + 9000 });
  made.destination = { channel: 'sms' };
  delete made.http;
  return made;
}

function ofType(objects: readonly StixObject[], type: string): StixObject[] {
  return objects.filter((o) => o.type === type);
}

void test('the official schemas are all loaded, the bundle and every type the export uses', () => {
  for (const type of [
    'bundle',
    'identity',
    'observed-data',
    'file',
    'software',
    'domain-name',
    'ipv4-addr',
    'ipv6-addr',
    'network-traffic',
    'indicator',
  ])
    assert.ok(stix.types.has(type), `no schema for ${type}`);
});

void test('a run with domains, bare IPv4 and IPv6 endpoints and an SMS channel exports a valid bundle', () => {
  const leaks = [
    ...adupsLeaks(),
    leak({ kind: 'imsi', host: '203.0.113.7', ip: '203.0.113.7', port: 9000, t: T0 + 3000 }),
    leak({
      kind: 'android_id',
      host: 'v6.example.net',
      ip: '2001:db8::7',
      port: 443,
      t: T0 + 4000,
    }),
    smsLeak(),
  ];
  const report = buildReport(
    input(leaks, [flow(BIGDATA, { app: SYSOPER }), flow(FOTA_HOST), flow('quiet.example.com')]),
  );
  const bundle = buildStixBundle(report);
  assert.deepEqual(stix.check(bundle), []);

  const domains = ofType(bundle.objects, 'domain-name').map((o) => o['value']);
  assert.deepEqual(domains.sort(), [BIGDATA, FOTA_HOST, 'v6.example.net'].sort());
  assert.ok(!domains.includes('quiet.example.com'), 'only destinations that received leaks');
  assert.ok(ofType(bundle.objects, 'ipv4-addr').some((o) => o['value'] === '203.0.113.7'));
  assert.ok(ofType(bundle.objects, 'ipv6-addr').some((o) => o['value'] === '2001:db8::7'));
  assert.ok(ofType(bundle.objects, 'network-traffic').some((o) => o['dst_port'] === 9000));
  assert.deepEqual(ofType(bundle.objects, 'file')[0]?.['hashes'], { 'SHA-256': 'a'.repeat(64) });
});

void test('an image with no vendor, version or fingerprint still gives a valid bundle', () => {
  const base = input([leak({ kind: 'imei', host: BIGDATA })], [flow(BIGDATA)]);
  const report = buildReport({
    ...base,
    run: { ...base.run, image: { name: 'plain.img', sha256: 'b'.repeat(64) } },
  });
  assert.deepEqual(stix.check(buildStixBundle(report)), []);
});

void test('the validator rejects a bundle that breaks the official schemas', () => {
  const report = buildReport(input(adupsLeaks(), [flow(BIGDATA)]));
  const good = buildStixBundle(report);
  assert.deepEqual(stix.check(good), []);
  const broken = structuredClone(good) as { id: string; objects: Array<Record<string, unknown>> };
  const observed = broken.objects.find((o) => o['type'] === 'observed-data');
  const traffic = broken.objects.find((o) => o['type'] === 'network-traffic');
  const file = broken.objects.find((o) => o['type'] === 'file');
  assert.ok(observed && traffic && file);
  delete observed['created'];
  traffic['dst_port'] = 70_000;
  file['hashes'] = { 'SHA-256': 'not-hex' };
  broken.id = 'bundle--not-a-uuid';
  const problems = stix.check(broken);
  assert.ok(
    problems.some((p) => p.includes('observed-data') && p.includes("'created'")),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes('dst_port')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.includes('SHA-256')),
    problems.join('\n'),
  );
  assert.ok(
    problems.some((p) => p.startsWith('bundle/id')),
    problems.join('\n'),
  );
  assert.ok(
    stix.check({ type: 'bundle', id: good.id, objects: [{ type: 'x-unknown', id: 'x' }] }).length >
      0,
  );
});
