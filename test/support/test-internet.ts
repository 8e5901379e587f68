// The "internet" of a test: a network namespace of the test's own holding TEST-NET addresses,
// reached from the host namespace through a veth pair, with a packet recorder inside it. Packets
// a test sends there reach no real host; counting what arrives tells whether anything escaped.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPcapRecorder } from '../../src/capture/cage/recorder.ts';

/** RFC 5737: documentation ranges, never assigned to a real host. */
const TEST_NETS = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'] as const;

export interface SeenPacket {
  src: string;
  dst: string;
  protocol: 'tcp' | 'udp' | 'icmp' | 'other';
  /** TCP or UDP destination port. */
  dport: number | undefined;
  /** ICMP type (8 echo request, 3 unreachable). */
  icmpType: number | undefined;
}

export interface InternetRecording {
  /** Stops recording once everything so far is on disk; resolves with every packet seen. */
  stop(): Promise<SeenPacket[]>;
}

export interface TestInternet extends AsyncDisposable {
  readonly netns: string;
  /** Host side of the veth pair. */
  readonly hostInterface: string;
  /** The TEST-NET prefixes routed here from the host. */
  readonly prefixes: readonly string[];
  /** Prefixes left alone, and why: a host whose own network is a TEST-NET keeps its routes. */
  readonly skipped: ReadonlyArray<{ prefix: string; reason: string }>;
  /** Every address held here: the `.1` of each routed prefix, then any added. */
  readonly addresses: readonly string[];
  /** Holds one more address, which must lie in a routed prefix. */
  addAddress(ip: string): Promise<void>;
  /** Records every packet arriving here (ARP aside) until stopped. */
  record(): Promise<InternetRecording>;
  dispose(): Promise<void>;
}

export async function createTestInternet(): Promise<TestInternet> {
  const tag = randomBytes(3).toString('hex');
  const netns = `ctinet-${tag}`;
  const hostInterface = `cti${tag}h`;
  const workDir = await mkdtemp(join(tmpdir(), 'test-internet-'));
  // A link-local /30 for the veth itself, away from 169.254.169.254 (cloud metadata).
  const third = 100 + ((randomBytes(1)[0] ?? 0) % 100);
  const fourth = ((randomBytes(1)[0] ?? 0) % 64) * 4;
  const hostLink = `169.254.${third}.${fourth + 1}`;
  const innerLink = `169.254.${third}.${fourth + 2}`;
  const prefixes: string[] = [];
  const skipped: Array<{ prefix: string; reason: string }> = [];
  const addresses: string[] = [];
  const recordings = new Set<() => Promise<unknown>>();
  const inside = (...args: string[]) => execa('ip', ['-n', netns, ...args], { timeout: 10_000 });

  let disposed: Promise<void> | undefined;
  const dispose = () =>
    (disposed ??= (async () => {
      for (const stop of recordings) await stop();
      // Routes through the veth go with it.
      await execa('ip', ['link', 'del', hostInterface], { reject: false, timeout: 10_000 });
      await execa('ip', ['netns', 'del', netns], { reject: false, timeout: 10_000 });
      await rm(workDir, { recursive: true, force: true });
    })());

  try {
    await execa('ip', ['netns', 'add', netns], { timeout: 10_000 });
    await execa(
      'ip',
      [
        'netns',
        'exec',
        netns,
        'sysctl',
        '-q',
        '-w',
        'net.ipv6.conf.all.disable_ipv6=1',
        'net.ipv6.conf.default.disable_ipv6=1',
      ],
      { timeout: 10_000 },
    );
    await execa(
      'ip',
      ['link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns],
      {
        timeout: 10_000,
      },
    );
    await writeFile(`/proc/sys/net/ipv6/conf/${hostInterface}/disable_ipv6`, '1');
    await execa('ip', ['addr', 'add', `${hostLink}/30`, 'dev', hostInterface], { timeout: 10_000 });
    await execa('ip', ['link', 'set', hostInterface, 'up'], { timeout: 10_000 });
    await inside('addr', 'add', `${innerLink}/30`, 'dev', 'eth0');
    await inside('link', 'set', 'lo', 'up');
    await inside('link', 'set', 'eth0', 'up');
    await inside('route', 'add', 'default', 'via', hostLink);
    for (const prefix of TEST_NETS) {
      const taken = await hostRoutesWithin(prefix);
      if (taken) {
        skipped.push({ prefix, reason: `the host already routes it (${taken})` });
        continue;
      }
      const added = await execa(
        'ip',
        ['route', 'add', prefix, 'via', innerLink, 'dev', hostInterface],
        {
          reject: false,
          timeout: 10_000,
        },
      );
      if (added.failed) {
        skipped.push({ prefix, reason: `route not added: ${added.stderr.trim()}` });
        continue;
      }
      prefixes.push(prefix);
      const first = prefix.replace(/0\/24$/, '1');
      await inside('addr', 'add', `${first}/32`, 'dev', 'lo');
      addresses.push(first);
    }
  } catch (error) {
    await dispose();
    throw error;
  }

  return {
    netns,
    hostInterface,
    prefixes,
    skipped,
    addresses,
    async addAddress(ip) {
      const prefix = prefixes.find((p) => ip.startsWith(p.replace(/0\/24$/, '')));
      if (!prefix) throw new Error(`${ip} is not in a prefix routed to the test internet`);
      await inside('addr', 'add', `${ip}/32`, 'dev', 'lo');
      addresses.push(ip);
    },
    async record() {
      const file = join(workDir, `recording-${recordings.size}.pcap`);
      const recorder = await startPcapRecorder({
        interfaceName: 'eth0',
        file,
        wrap: (command, args) => ({ file: 'ip', args: ['netns', 'exec', netns, command, ...args] }),
        filter: 'not arp',
        readyTimeoutMs: 10_000,
      });
      recordings.add(() => recorder.stop());
      return {
        async stop() {
          await recorder.stop();
          return readPackets(file);
        },
      };
    },
    dispose,
    [Symbol.asyncDispose]: dispose,
  };
}

/** The routes of the host namespace that cover or lie within `prefix`, the default route aside. */
async function hostRoutesWithin(prefix: string): Promise<string | undefined> {
  const first = prefix.replace(/0\/24$/, '1');
  const covering = await execa('ip', ['-j', 'route', 'show', 'match', first], { timeout: 10_000 });
  const within = await execa('ip', ['-j', 'route', 'show', 'root', prefix], { timeout: 10_000 });
  const routes = [...parseRoutes(covering.stdout), ...parseRoutes(within.stdout)].filter(
    (route) => route.dst !== 'default',
  );
  return routes.length > 0
    ? routes.map((r) => `${r.dst} dev ${r.dev ?? '?'}`).join(', ')
    : undefined;
}

function parseRoutes(json: string): Array<{ dst?: string; dev?: string }> {
  const parsed: unknown = JSON.parse(json || '[]');
  return Array.isArray(parsed) ? (parsed as Array<{ dst?: string; dev?: string }>) : [];
}

/** Every IPv4 packet of a pcap, read back with tshark. */
export async function readPackets(file: string): Promise<SeenPacket[]> {
  const { stdout } = await execa(
    'tshark',
    [
      '-r',
      file,
      '-T',
      'fields',
      '-E',
      'separator=\t',
      '-e',
      'ip.src',
      '-e',
      'ip.dst',
      '-e',
      'ip.proto',
      '-e',
      'tcp.dstport',
      '-e',
      'udp.dstport',
      '-e',
      'icmp.type',
    ],
    { timeout: 20_000 },
  );
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      // An ICMP error quotes the packet it answers, so tshark lists two values for some fields.
      const [src = '', dst = '', proto = '', tcpPort = '', udpPort = '', icmpType = ''] = line
        .split('\t')
        .map((field) => field.split(',')[0] ?? '');
      const protocol =
        proto === '6' ? 'tcp' : proto === '17' ? 'udp' : proto === '1' ? 'icmp' : 'other';
      const port = protocol === 'tcp' ? tcpPort : protocol === 'udp' ? udpPort : '';
      return {
        src,
        dst,
        protocol,
        dport: port === '' ? undefined : Number(port),
        icmpType: icmpType === '' ? undefined : Number(icmpType),
      };
    });
}

/**
 * Turns IPv4 forwarding on for the host until the returned handle is disposed. Writing
 * net.ipv4.ip_forward rewrites every interface's own forwarding flag, so those are saved and
 * restored too.
 */
export async function enableIpForwarding(): Promise<
  AsyncDisposable & { restore(): Promise<void> }
> {
  const global = '/proc/sys/net/ipv4/ip_forward';
  const saved = new Map<string, string>();
  saved.set(global, (await readFile(global, 'utf8')).trim());
  for (const name of await readdir('/proc/sys/net/ipv4/conf')) {
    const path = `/proc/sys/net/ipv4/conf/${name}/forwarding`;
    const value = await readFile(path, 'utf8').catch(() => undefined);
    if (value !== undefined) saved.set(path, value.trim());
  }
  await writeFile(global, '1');
  let restored: Promise<void> | undefined;
  const restore = () =>
    (restored ??= (async () => {
      // The global flag first: writing it resets the per-interface ones.
      for (const [path, value] of saved) {
        await writeFile(path, value).catch((error: NodeJS.ErrnoException) => {
          // An interface removed meanwhile has nothing left to restore.
          if (error.code !== 'ENOENT') throw error;
        });
      }
    })());
  return { restore, [Symbol.asyncDispose]: restore };
}
