import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { checkCageCapability, createCage } from '../../src/capture/cage/index.ts';
import { readFlows, type Flow } from '../../src/capture/index.ts';
import type { CanaryKind } from '../../src/canary/types.ts';
import type { Leak } from '../../src/correlate/index.ts';
import { silentLogger } from '../../src/log.ts';
import type { Report } from '../../src/report/model.ts';
import { RUN_FILES, runsRoot } from '../../src/run/run-dir.ts';
import type { ProbeStep } from '../support/capture-cage-probe.ts';
import { usePipelineWorld } from '../support/pipeline-world.ts';
import {
  createTestInternet,
  enableIpForwarding,
  type SeenPacket,
  type TestInternet,
} from '../support/test-internet.ts';

// Where bypass-2020 (images/lab/bypass-2020.json) sends, by its own addresses: TEST-NET-2 and -3.
const RAW_TCP = { ip: '203.0.113.50', port: 5555 };
const UDP_BEACON = { ip: '203.0.113.60', port: 9999 };
const PING_TARGET = { ip: '203.0.113.70', port: 0 };
const OWN_RESOLVER = { ip: '198.51.100.54', port: 53 };
const DOH_SERVER = { ip: '198.51.100.53', port: 443 };
const SYNC_HOST = 'sync.kestrel-cloud.example';
const AGENT = 'com.kestrel.agent';
const CLOUD = 'com.kestrel.cloudsync';
/** The prefixes those addresses lie in: the test internet must hold both. */
const PREFIXES = ['198.51.100.0/24', '203.0.113.0/24'];

const PROBE = new URL('../support/capture-cage-probe.ts', import.meta.url).pathname;

const skip = await whySkip();

describe('bypass-2020 through the caged pipeline', { skip }, () => {
  const world = usePipelineWorld();
  let internet: TestInternet;

  before(async () => {
    internet = await testInternetWith(PREFIXES);
    for (const { ip } of [RAW_TCP, UDP_BEACON, PING_TARGET, OWN_RESOLVER, DOH_SERVER])
      await internet.addAddress(ip);
  });
  after(async () => {
    await internet?.dispose();
  });

  it(
    'finds every leak with its channel, and nothing of the run reaches the test internet',
    { timeout: 150_000 },
    async () => {
      const recording = await internet.record();
      let packets: SeenPacket[];
      let run: Awaited<ReturnType<typeof world.analyse>>;
      try {
        run = await world.analyse('bypass-2020');
      } finally {
        // The recorder's own check: one datagram from the host to an address held there.
        await sendControlDatagram();
        packets = await recording.stop();
      }
      const { report, runId } = run;
      const flows = await readFlows(join(runsRoot(world.config.dataRoot), runId, RUN_FILES.flows));

      // The internet saw the control datagram (and its own answer to it), and nothing else.
      const control = (p: SeenPacket) =>
        p.protocol === 'udp' && p.dst === CONTROL.ip && p.dport === CONTROL.port;
      assert.ok(packets.some(control), 'the recorder missed the control datagram');
      assert.deepEqual(
        packets.filter((p) => !control(p) && !internet.addresses.includes(p.src)),
        [],
        'packets of the run reached the test internet',
      );

      assert.equal(report.containment?.status, 'verified');
      assert.equal(report.verdict.status, 'leaks-found');
      assert.deepEqual(report.opaque ?? [], [], 'capture read every flow');
      // The containment probe's traffic is the run's own: no destination of the report.
      const hosts = report.destinations.map((d) => d.host);
      for (const probe of ['198.51.100.1', '203.0.113.1']) assert.ok(!hosts.includes(probe), probe);

      const leaks = flowLeaks(report);

      // (a) Raw TCP to an address literal: base64 of the check-in, kept whole by the front.
      assertChannel(leaks, 'raw TCP', {
        destination: RAW_TCP,
        channel: 'tcp',
        app: AGENT,
        transforms: ['tcp', 'base64'],
        kinds: ['imei', 'imsi', 'serial'],
      });

      // (b) A plain UDP datagram to an address literal, recorded by the UDP sink.
      assertChannel(leaks, 'UDP', {
        destination: UDP_BEACON,
        channel: 'udp',
        app: AGENT,
        transforms: ['udp', 'json'],
        kinds: ['imsi', 'location'],
      });

      // (c) An ICMP echo carrying the IMEI: dropped at the edge, read from the edge pcap.
      assertChannel(leaks, 'ICMP', {
        destination: PING_TARGET,
        channel: 'icmp',
        app: AGENT,
        transforms: ['icmp'],
        kinds: ['imei'],
      });
      assert.ok(
        flows.some(
          (f) =>
            f.protocol === 'icmp' &&
            f.destination.ip === PING_TARGET.ip &&
            f.error === 'dropped-at-edge',
        ),
      );

      // (d) DNS to a resolver of its own: at the sinkhole, as a dns flow to that resolver.
      const dns = assertChannel(leaks, 'own resolver DNS', {
        destination: OWN_RESOLVER,
        channel: 'dns',
        app: CLOUD,
        transforms: ['dns', 'hex'],
        kinds: ['phone_number', 'android_id'],
      });
      assert.ok(dns.every((l) => l.destination.host?.endsWith('.t.kestrel-metrics.example')));

      // (e) DNS over HTTPS to an address literal: TLS without SNI, decrypted, the name in the
      // application/dns-message body.
      const doh = assertChannel(leaks, 'DoH', {
        destination: DOH_SERVER,
        channel: 'https',
        app: CLOUD,
        transforms: ['tls', 'http-body', 'hex'],
        kinds: ['imei'],
      });
      assert.ok(doh.every((l) => l.http?.url === `https://${DOH_SERVER.ip}/dns-query`));

      // (f) QUIC first: the Initial refused at the edge (a quic flow from the edge pcap, in the
      // report's destinations), then the upload over HTTPS, whose leaks are in the report.
      const quic = flows.find((f) => f.protocol === 'quic');
      assert.ok(quic, 'no QUIC attempt in the flows');
      assert.equal(quic.error, 'refused-at-edge');
      assert.deepEqual(
        { host: quic.destination.host, port: quic.destination.port },
        { host: SYNC_HOST, port: 443 },
      );
      const sync = report.destinations.find((d) => d.host === SYNC_HOST);
      assert.ok(sync, `no destination ${SYNC_HOST}`);
      assert.ok(sync.protocols.includes('quic'), JSON.stringify(sync));
      assert.ok(sync.ips.includes(quic.destination.ip));
      const fallback = leaks.filter((l) => l.destination.host === SYNC_HOST);
      assert.deepEqual(kindsOf(fallback), [
        'contact_name',
        'email',
        'free_text',
        'imei',
        'phone_number',
        'sms_body',
      ]);
      for (const leak of fallback) {
        assert.deepEqual(
          [leak.destination.ip, leak.destination.port, leak.destination.channel, leak.app],
          [quic.destination.ip, 443, 'https', CLOUD],
        );
        assert.deepEqual(leak.transforms, [
          'tls',
          'http-body',
          'json:blob',
          'base64',
          'gzip',
          'json',
        ]);
      }
      const upload = flows.find(
        (f: Flow) => f.protocol === 'https' && f.destination.host === SYNC_HOST,
      );
      assert.ok(upload && upload.t >= quic.t, 'the HTTPS upload came before the QUIC attempt');
    },
  );

  it(
    'without its edge table and with forwarding on, a cage reaches that same recorder',
    { timeout: 60_000 },
    async (t) => {
      const stateDir = await mkdtemp(join(tmpdir(), 'pipeline-bypass-cages-'));
      t.after(() => rm(stateDir, { recursive: true, force: true }));
      const cage = await createCage({ stateDir, logger: silentLogger() });
      t.after(() => cage.dispose());
      const { index, deviceIp } = cage.addressing;
      await execa('nft', ['delete', 'table', 'ip', `canarytrap_${index}`], { timeout: 10_000 });
      const recording = await internet.record();
      const forwarding = await enableIpForwarding();
      try {
        const steps: ProbeStep[] = [
          { kind: 'tcp', host: RAW_TCP.ip, port: RAW_TCP.port, payload: 'escape-tcp' },
          { kind: 'udp', host: OWN_RESOLVER.ip, port: 53, payload: 'escape-dns' },
          { kind: 'udp', host: UDP_BEACON.ip, port: UDP_BEACON.port, payload: 'escape-udp' },
        ];
        const probe = cage.wrap(process.execPath, [
          '--import',
          'tsx',
          PROBE,
          'send',
          JSON.stringify(steps),
        ]);
        const ping = cage.wrap('ping', ['-c', '1', '-W', '1', PING_TARGET.ip]);
        await Promise.all([
          execa(probe.file, probe.args, { timeout: 20_000 }),
          execa(ping.file, ping.args, { reject: false, timeout: 10_000 }),
        ]);
      } finally {
        await forwarding.restore();
      }
      const escaped = (await recording.stop()).filter((p) => p.src === deviceIp);
      const has = (protocol: SeenPacket['protocol'], dst: string, dport?: number) =>
        escaped.some((p) => p.protocol === protocol && p.dst === dst && p.dport === dport);
      assert.ok(has('tcp', RAW_TCP.ip, RAW_TCP.port), 'the TCP connection was not recorded');
      assert.ok(has('udp', OWN_RESOLVER.ip, 53), 'the DNS query was not recorded');
      assert.ok(has('udp', UDP_BEACON.ip, UDP_BEACON.port), 'the UDP datagram was not recorded');
      assert.ok(
        escaped.some((p) => p.protocol === 'icmp' && p.dst === PING_TARGET.ip && p.icmpType === 8),
        'the echo request was not recorded',
      );
    },
  );
});

/**
 * A test internet routing `prefixes`. Routes are host-wide, so while another test's internet
 * holds them (its veth is `cti…h`) this waits for it to go, up to a minute.
 */
async function testInternetWith(prefixes: readonly string[]): Promise<TestInternet> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const made = await createTestInternet();
    if (prefixes.every((p) => made.prefixes.includes(p))) return made;
    await made.dispose();
    const busy = made.skipped.every(
      (s) => !prefixes.includes(s.prefix) || /dev cti[0-9a-f]+h\b/.test(s.reason),
    );
    if (!busy || Date.now() > deadline) {
      throw new Error(
        `the test internet cannot hold bypass-2020's addresses: ${JSON.stringify(made.skipped)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

/** Sent from the host to an address of the test internet: proof its recorder records. */
const CONTROL = { ip: '203.0.113.1', port: 9 };

function sendControlDatagram(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.send('recorder check', CONTROL.port, CONTROL.ip, (error) => {
      socket.close();
      if (error) reject(error);
      else resolve();
    });
  });
}

/** The report's leaks found in captured flows (not in hook events). */
function flowLeaks(report: Report): Leak[] {
  return report.leaks.filter((l) => l.site.kind === 'flow');
}

function kindsOf(leaks: Leak[]): CanaryKind[] {
  return [...new Set(leaks.map((l) => l.canary.kind))].sort();
}

/**
 * The leaks to one destination address and port: each on `channel` from `app` with exactly
 * `transforms`, and together exactly the canary kinds `kinds`.
 */
function assertChannel(
  leaks: Leak[],
  what: string,
  expected: {
    destination: { ip: string; port: number };
    channel: string;
    app: string;
    transforms: string[];
    kinds: CanaryKind[];
  },
): Leak[] {
  const { ip, port } = expected.destination;
  const found = leaks.filter((l) => l.destination.ip === ip && l.destination.port === port);
  assert.deepEqual(kindsOf(found), [...expected.kinds].sort(), `${what}: canary kinds`);
  for (const leak of found) {
    assert.equal(leak.destination.channel, expected.channel, `${what}: channel`);
    assert.equal(leak.app, expected.app, `${what}: app`);
    assert.deepEqual(leak.transforms, expected.transforms, `${what}: transforms`);
  }
  return found;
}

async function whySkip(): Promise<string | false> {
  const capability = await checkCageCapability();
  if (!capability.ok) return `cannot make cages here: ${capability.reason} (${capability.hint})`;
  const tshark = await execa('tshark', ['-v'], { reject: false, timeout: 10_000 });
  if (tshark.failed) return 'tshark is not installed: the test reads its recorder back with it';
  return false;
}
