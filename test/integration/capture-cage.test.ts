import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import {
  checkCageCapability,
  createCage,
  DEFAULT_CAGE_LOCK_DIR,
  sweepCages,
  type Cage,
  type CageAddressing,
  type EdgePorts,
  type HostPort,
} from '../../src/capture/cage/index.ts';
import { silentLogger } from '../../src/log.ts';
import {
  createTestInternet,
  enableIpForwarding,
  readPackets,
  type SeenPacket,
  type TestInternet,
} from '../support/test-internet.ts';
import type { ProbeOutcome, ProbeStep } from '../support/capture-cage-probe.ts';

const PROBE = new URL('../support/capture-cage-probe.ts', import.meta.url).pathname;
const CHILD = new URL('../support/capture-cage-child.ts', import.meta.url).pathname;

const skip = await whySkip();

describe('the cage', { skip, timeout: 60_000 }, () => {
  let workDir: string;
  let stateDir: string;
  let internet: TestInternet;
  let cage: Cage;
  let capture: FakeCapture;
  /** Two addresses of the test internet (the same one twice where it holds only one). */
  let near: string;
  let far: string;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'capture-cage-'));
    stateDir = join(workDir, 'cages');
    internet = await createTestInternet();
    const [first, second] = internet.addresses;
    if (first === undefined)
      throw new Error(`no TEST-NET prefix could be routed: ${JSON.stringify(internet.skipped)}`);
    near = first;
    far = second ?? first;
    cage = await createCage({ stateDir, logger: silentLogger() });
    capture = await startFakeCapture(cage.addressing.gateway);
    await cage.installEdge(capture.ports);
  });

  after(async () => {
    await cage?.dispose();
    await capture?.close();
    await internet?.dispose();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('steers all TCP and UDP from the device to the capture, drops ICMP and QUIC, and lets nothing out', async () => {
    const hostService = await listenOnAllAddresses();
    const recording = await internet.record();
    const edge = await cage.recordEdge(join(workDir, 'edge.pcap'));
    const { gateway, deviceIp } = cage.addressing;
    const steps: ProbeStep[] = [
      { kind: 'tcp', host: near, port: 80, payload: 'probe-tcp' },
      { kind: 'udp', host: near, port: 53, payload: 'probe-dns' },
      { kind: 'udp', host: far, port: 9999, payload: 'probe-udp' },
      { kind: 'udp', host: far, port: 443, payload: 'probe-quic' },
      { kind: 'tcp', host: gateway, port: hostService.port, payload: 'probe-host-service' },
    ];
    const [[tcp, dns, udp, quic, toHost], ping] = await Promise.all([
      probe(cage.wrap.bind(cage), steps),
      execa(...wrapped(cage, 'ping', ['-c', '1', '-W', '1', far]), {
        reject: false,
        timeout: 10_000,
      }),
    ]);
    const [escaped] = await Promise.all([recording.stop(), edge.stop()]);
    await hostService.close();

    assert.equal(tcp?.reply, 'captured by tcp');
    assert.deepEqual(await cage.originalDestination('tcp', client(cage, tcp)), {
      ip: near,
      port: 80,
    });
    assert.ok(capture.seen.tcp.some((s) => s.data === 'probe-tcp' && s.client.ip === deviceIp));

    assert.equal(dns?.reply, 'captured by dns');
    assert.deepEqual(await cage.originalDestination('udp', client(cage, dns)), {
      ip: near,
      port: 53,
    });

    assert.equal(udp?.reply, 'captured by udp');
    assert.deepEqual(await cage.originalDestination('udp', client(cage, udp)), {
      ip: far,
      port: 9999,
    });

    assert.equal(quic?.error, 'ECONNREFUSED');
    assert.ok(!capture.seen.udp.some((s) => s.data === 'probe-quic'));

    assert.notEqual(ping.exitCode, 0, 'the echo request must go unanswered');

    assert.equal(
      toHost?.reply,
      'captured by tcp',
      'the host service must not be reachable from the cage',
    );
    assert.equal(hostService.connections, 0);
    assert.deepEqual(await cage.originalDestination('tcp', client(cage, toHost)), {
      ip: gateway,
      port: hostService.port,
    });

    const counters = await cage.counters();
    assert.ok(counters.icmpDropped >= 1, `icmpDropped ${counters.icmpDropped}`);
    assert.ok(counters.quicRefused >= 1, `quicRefused ${counters.quicRefused}`);

    assert.deepEqual(escaped, [], 'nothing may reach the test internet');

    const onEdge = (await readPackets(edge.file)).filter((p) => p.src === deviceIp);
    for (const [protocol, dst, dport] of [
      ['tcp', near, 80],
      ['udp', near, 53],
      ['udp', far, 9999],
      ['udp', far, 443],
      ['tcp', gateway, hostService.port],
    ] as const) {
      assert.ok(
        has(onEdge, protocol, dst, dport),
        `edge pcap lacks ${protocol} to ${dst}:${dport}`,
      );
    }
    assert.ok(
      onEdge.some((p) => p.protocol === 'icmp' && p.dst === far && p.icmpType === 8),
      'edge pcap lacks the echo request',
    );
  });

  it('without its edge rules and with forwarding on, the same traffic reaches the test internet', async () => {
    // Proves the recorder of the previous test would have seen an escape.
    const { index, deviceIp } = cage.addressing;
    await execa('nft', ['delete', 'table', 'ip', `canarytrap_${index}`], { timeout: 10_000 });
    const recording = await internet.record();
    const forwarding = await enableIpForwarding();
    try {
      await probe(cage.wrap.bind(cage), [
        { kind: 'tcp', host: near, port: 80, payload: 'escape-tcp' },
        { kind: 'udp', host: near, port: 53, payload: 'escape-dns' },
        { kind: 'udp', host: far, port: 9999, payload: 'escape-udp' },
      ]);
      await execa(...wrapped(cage, 'ping', ['-c', '1', '-W', '1', far]), {
        reject: false,
        timeout: 10_000,
      });
    } finally {
      await forwarding.restore();
      await cage.installEdge(capture.ports);
    }
    const escaped = (await recording.stop()).filter((p) => p.src === deviceIp);
    assert.ok(has(escaped, 'tcp', near, 80), 'the TCP connection did not reach the test internet');
    assert.ok(has(escaped, 'udp', near, 53), 'the DNS query did not reach the test internet');
    assert.ok(has(escaped, 'udp', far, 9999), 'the UDP datagram did not reach the test internet');
    assert.ok(
      escaped.some((p) => p.protocol === 'icmp' && p.dst === far),
      'the echo request did not reach it',
    );
  });

  it('refuses the capture ports to the host itself and to other namespaces', async () => {
    const { gateway } = cage.addressing;
    // A host service on loopback at the capture's port number is another socket: the edge
    // leaves it alone (refusing it would break the host), and the capture never sees it.
    const loopbackTwin = await listen(capture.ports.tcp, '127.0.0.1');
    try {
      assert.equal(await tcpFromHost('127.0.0.1', capture.ports.tcp), 'connected');
      assert.equal(await tcpFromHost(gateway, capture.ports.tcp), 'ECONNREFUSED');
      assert.equal(await udpFromHost(gateway, capture.ports.dns), 'ECONNREFUSED');
      assert.equal(await udpFromHost(gateway, capture.ports.udp), 'ECONNREFUSED');
      const [fromElsewhere] = await probe(
        (file, args) => ({ file: 'ip', args: ['netns', 'exec', internet.netns, file, ...args] }),
        [{ kind: 'tcp', host: gateway, port: capture.ports.tcp, payload: 'from-elsewhere' }],
      );
      assert.equal(fromElsewhere?.error, 'ECONNREFUSED');
    } finally {
      await new Promise((resolve) => loopbackTwin.close(resolve));
    }
    assert.ok(!capture.seen.tcp.some((s) => s.data === 'from-elsewhere'));
  });

  it('relays a host loopback port into the cage, and offers the cage no way back', async () => {
    const devicePort = 20_000 + Math.floor(Math.random() * 20_000);
    const server = execa(
      ...wrapped(cage, process.execPath, ['--import', 'tsx', PROBE, 'serve', String(devicePort)]),
      {
        reject: false,
      },
    );
    try {
      await firstLine(server, 'listening');
      const hostPort = await freePort();
      const relay = await cage.relay(hostPort, devicePort);
      assert.equal(await readAll('127.0.0.1', hostPort), 'hello from inside the cage');
      const [back] = await probe(cage.wrap.bind(cage), [
        { kind: 'tcp', host: '127.0.0.1', port: hostPort, payload: 'way-back' },
      ]);
      assert.equal(
        back?.error,
        'ECONNREFUSED',
        "the host's relay port must not exist inside the cage",
      );
      await relay.close();
      await relay.close();
      assert.equal(await tcpFromHost('127.0.0.1', hostPort), 'ECONNREFUSED');
    } finally {
      server.kill('SIGKILL');
      await server;
    }
  });

  it('starts sealed; dispose leaves nothing behind; the cage of a SIGKILLed owner stays until a sweep', async () => {
    const own = await createCage({ stateDir, logger: silentLogger() });
    assert.deepEqual(await presentParts(own.addressing), ['netns', 'veth', 'table']);
    // Before installEdge the cage is sealed: nothing from it gets anywhere.
    const [sealed] = await probe(own.wrap.bind(own), [
      { kind: 'tcp', host: far, port: 80, payload: 'sealed' },
    ]);
    assert.equal(sealed?.error, 'timeout');
    assert.ok((await own.counters()).otherDropped >= 1);
    await own.dispose();
    await own.dispose();
    assert.ok(!(await readdir(stateDir)).includes(`${own.addressing.index}.json`));
    // Test files run in parallel: another one's cage may lease the freed index at once. Ours is
    // gone when the lease is; a lease of another process means the parts are that cage's.
    const relet = await readFile(
      join(DEFAULT_CAGE_LOCK_DIR, `${own.addressing.index}.lock`),
      'utf8',
    )
      .then((text) => JSON.parse(text) as { pid: number })
      .catch(() => undefined);
    assert.notEqual(relet?.pid, process.pid, 'the lease of the disposed cage is still ours');
    if (relet === undefined) assert.deepEqual(await presentParts(own.addressing), []);

    const child = execa(process.execPath, ['--import', 'tsx', CHILD, stateDir], { reject: false });
    const orphan = JSON.parse(await firstLine(child)) as CageAddressing;
    child.kill('SIGKILL');
    await child;
    assert.deepEqual(
      await presentParts(orphan),
      ['netns', 'veth', 'table'],
      'the killed owner left its cage',
    );

    const swept = await sweepCages({ stateDir, logger: silentLogger() });
    const entry = swept.find((s) => s.index === orphan.index);
    assert.equal(entry?.reason, 'owner-dead');
    assert.deepEqual(
      new Set(entry?.removed),
      new Set(['table', 'veth', 'netns', 'record', 'lease']),
    );
    assert.deepEqual(await presentParts(orphan), []);
    assert.ok(
      !swept.some((s) => s.index === cage.addressing.index),
      'a live cage must survive the sweep',
    );
    assert.deepEqual(await presentParts(cage.addressing), ['netns', 'veth', 'table']);
  });
});

async function whySkip(): Promise<string | false> {
  const capability = await checkCageCapability();
  if (!capability.ok) return `cannot make cages here: ${capability.reason} (${capability.hint})`;
  const tshark = await execa('tshark', ['-v'], { reject: false, timeout: 10_000 });
  if (tshark.failed) return 'tshark is not installed: the tests read pcaps back with it';
  return false;
}

/** Plain listeners on the gateway standing in for the capture front, DNS sinkhole and UDP sink. */
interface FakeCapture {
  ports: EdgePorts;
  seen: Record<keyof EdgePorts, Array<{ client: HostPort; data: string }>>;
  close(): Promise<void>;
}

async function startFakeCapture(gateway: string): Promise<FakeCapture> {
  const seen: FakeCapture['seen'] = { tcp: [], dns: [], udp: [] };
  const tcp = createServer((socket) => {
    socket.once('data', (data) => {
      seen.tcp.push({
        client: { ip: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
        data: data.toString(),
      });
      socket.end('captured by tcp');
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => tcp.listen(0, gateway, resolve));
  const udpListener = async (name: 'dns' | 'udp'): Promise<UdpSocket> => {
    const socket = createSocket('udp4');
    socket.on('message', (data, peer) => {
      seen[name].push({ client: { ip: peer.address, port: peer.port }, data: data.toString() });
      socket.send(`captured by ${name}`, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => socket.bind(0, gateway, resolve));
    return socket;
  };
  const dns = await udpListener('dns');
  const udp = await udpListener('udp');
  return {
    ports: { tcp: portOf(tcp), dns: dns.address().port, udp: udp.address().port },
    seen,
    async close() {
      await new Promise((resolve) => tcp.close(resolve));
      await new Promise<void>((resolve) => dns.close(resolve));
      await new Promise<void>((resolve) => udp.close(resolve));
    },
  };
}

/** Runs the probe script with `wrap` (inside a namespace) and returns what became of each step. */
async function probe(
  wrap: (file: string, args: readonly string[]) => { file: string; args: string[] },
  steps: ProbeStep[],
): Promise<ProbeOutcome[]> {
  const { file, args } = wrap(process.execPath, [
    '--import',
    'tsx',
    PROBE,
    'send',
    JSON.stringify(steps),
  ]);
  const { stdout } = await execa(file, args, { timeout: 20_000 });
  return JSON.parse(stdout) as ProbeOutcome[];
}

function wrapped(cage: Cage, file: string, args: string[]): [string, string[]] {
  const command = cage.wrap(file, args);
  return [command.file, command.args];
}

function client(cage: Cage, outcome: ProbeOutcome | undefined): HostPort {
  assert.ok(
    outcome?.localPort,
    `the probe did not get as far as sending: ${JSON.stringify(outcome)}`,
  );
  return { ip: cage.addressing.deviceIp, port: outcome.localPort };
}

function has(packets: SeenPacket[], protocol: 'tcp' | 'udp', dst: string, dport: number): boolean {
  return packets.some((p) => p.protocol === protocol && p.dst === dst && p.dport === dport);
}

/** The cage's pieces still on the host, looked up with the tools rather than the cage code. */
async function presentParts(a: CageAddressing): Promise<string[]> {
  const parts: string[] = [];
  const netns = await execa('ip', ['netns', 'list'], { timeout: 10_000 });
  if (netns.stdout.split('\n').some((line) => line.split(' ')[0] === a.netns)) parts.push('netns');
  const link = await execa('ip', ['link', 'show', a.hostInterface], {
    reject: false,
    timeout: 10_000,
  });
  if (link.exitCode === 0) parts.push('veth');
  const tables = await execa('nft', ['list', 'tables', 'ip'], { timeout: 10_000 });
  if (tables.stdout.split('\n').includes(`table ip canarytrap_${a.index}`)) parts.push('table');
  return parts;
}

async function listenOnAllAddresses(): Promise<{
  port: number;
  connections: number;
  close(): Promise<void>;
}> {
  const state = { connections: 0 };
  const server = createServer((socket) => {
    state.connections++;
    socket.end('host service');
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  return {
    port: portOf(server),
    get connections() {
      return state.connections;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function listen(port: number, host: string): Promise<Server> {
  const server = createServer((socket) => {
    // Callers hang up as soon as they are connected: the reset that follows is expected.
    socket.on('error', () => undefined);
    socket.end('loopback twin');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

async function freePort(): Promise<number> {
  const server = await listen(0, '127.0.0.1');
  const port = portOf(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function portOf(server: Server): number {
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return address.port;
}

/** How a TCP connection from the host ends: `connected` or the error code. */
function tcpFromHost(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** How a UDP datagram from the host ends: `answered`, `timeout` or the error code. */
function udpFromHost(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.close();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('timeout'), 1_500);
    socket.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    socket.on('message', () => done('answered'));
    socket.connect(port, host, () => socket.send('from-host'));
  });
}

function readAll(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect({ host, port });
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

/** The first line a child prints on stdout (that matches `expected`, when given). */
function firstLine(child: ReturnType<typeof execa>, expected?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`no ${expected ?? 'line'} from the child within 15 s`)),
      15_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered
        .split('\n')
        .find((l, i, all) => i < all.length - 1 && (!expected || l === expected));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void child.then((result) =>
      reject(new Error(`the child exited before printing: ${String(result.stderr)}`)),
    );
  });
}
