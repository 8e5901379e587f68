import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { isCanarytrapError } from '../errors.ts';
import { pollUntil } from '../host/poll.ts';
import type { HostPort } from './addresses.ts';
import type { Cage } from './cage/types.ts';
import type { Flow } from './flow.ts';
import type { CaptureSession } from './types.ts';

/**
 * TEST-NET addresses (RFC 5737): nothing real answers there, whatever happens to the probe.
 * TEST-NET-1 (192.0.2.0/24) is left out: some sandboxes and labs number their own LAN from it.
 */
export const PROBE_TARGETS = {
  tcp: { ip: '198.51.100.1', port: 9 },
  udp: { ip: '203.0.113.1', port: 9 },
  icmp: { ip: '203.0.113.1' },
} as const;

export interface ContainmentCheck {
  what: 'tcp' | 'udp' | 'icmp';
  ok: boolean;
  /** One sentence for the report: what landed where, or what was missing. */
  detail: string;
}

/** Plain data, for the report (`containment: verified`) and the run's record. */
export interface ContainmentResult {
  verified: boolean;
  /** When the probe started, ms since the epoch. */
  t: number;
  checks: ContainmentCheck[];
}

export interface ContainmentOptions {
  /** Deadline of each probe: its sender's run, then the wait for its trace. Default 5000 ms. */
  timeoutMs?: number;
  /** The node binary the TCP and UDP senders run with inside the cage. Default: this process's. */
  nodePath?: string;
}

/**
 * Sends one datagram or connection to `ip`:`port` carrying `payload`, from wherever it runs.
 * Plain CommonJS for `node -e`; argv after the script: kind, ip, port, payload.
 */
const SENDER = `
const [kind, ip, port, payload] = process.argv.slice(1);
const fail = (m) => { process.stderr.write(String(m) + '\\n'); process.exit(1); };
if (kind === 'tcp') {
  const s = require('node:net').connect({ host: ip, port: Number(port) });
  s.on('connect', () => s.end(payload));
  s.on('error', (e) => fail(e.message));
  s.on('close', () => process.exit(0));
} else {
  const u = require('node:dgram').createSocket('udp4');
  u.send(payload, Number(port), ip, (e) => { if (e) fail(e.message); u.close(); });
}
`;

/**
 * The containment probe (docs/cage.md): from inside the cage, a TCP connection, a UDP datagram
 * and an ICMP echo to TEST-NET addresses, each of which must land on the capture — the TCP and
 * UDP ones as flows with their nonce and original destination, the echo in the edge's drop
 * counter. Run it after the edge is installed and before anything of the image runs.
 *
 * The probe's flows are the run's own traffic, not evidence about the device: they are diverted
 * while the probe runs and never reach `flows()`, `flows.jsonl` or flow listeners. The cage's
 * edge pcap still holds the packets (TEST-NET destinations, a random nonce: nothing a canary
 * matches).
 */
export async function verifyContainment(
  session: Pick<CaptureSession, 'divertFlows'>,
  cage: Pick<Cage, 'wrap' | 'counters'>,
  options: ContainmentOptions = {},
): Promise<ContainmentResult> {
  const t = Date.now();
  const probe: Probe = {
    cage,
    nonce: randomBytes(16).toString('hex'),
    timeoutMs: options.timeoutMs ?? 5_000,
    nodePath: options.nodePath ?? process.execPath,
    seen: [],
  };
  const marker = Buffer.from(probe.nonce);
  const undivert = session.divertFlows(
    (flow) => flow.raw !== undefined && Buffer.from(flow.raw, 'base64').includes(marker),
    (flow) => probe.seen.push(flow),
  );
  try {
    const checks = [
      await probeCarried(probe, 'tcp', PROBE_TARGETS.tcp),
      await probeCarried(probe, 'udp', PROBE_TARGETS.udp),
      await probeIcmp(probe),
    ];
    return { verified: checks.every((check) => check.ok), t, checks };
  } finally {
    undivert();
  }
}

interface Probe {
  cage: Pick<Cage, 'wrap' | 'counters'>;
  nonce: string;
  timeoutMs: number;
  nodePath: string;
  /** Diverted flows carrying the nonce, in arrival order. */
  seen: Flow[];
}

async function probeCarried(
  probe: Probe,
  what: 'tcp' | 'udp',
  target: HostPort,
): Promise<ContainmentCheck> {
  const payload = `canarytrap-probe ${what} ${probe.nonce}`;
  const to = `${target.ip}:${target.port}`;
  const sender = await runInCage(probe, probe.nodePath, [
    '-e',
    SENDER,
    what,
    target.ip,
    String(target.port),
    payload,
  ]);
  const flow = await waitFor(probe, `the ${what} probe's flow`, () =>
    probe.seen.find(
      (f) => f.protocol === what && Buffer.from(f.raw ?? '', 'base64').toString() === payload,
    ),
  );
  if (flow === undefined) {
    return { what, ok: false, detail: `no ${what} flow to ${to} reached the capture; ${sender}` };
  }
  const landed = `${flow.destination.ip}:${flow.destination.port}`;
  if (landed !== to) {
    return {
      what,
      ok: false,
      detail: `the ${what} probe to ${to} reached the capture recorded as going to ${landed}`,
    };
  }
  const from = flow.client ? ` from ${flow.client.ip}:${flow.client.port}` : '';
  return { what, ok: true, detail: `${what} to ${to}${from} landed on the capture with its bytes` };
}

async function probeIcmp(probe: Probe): Promise<ContainmentCheck> {
  const to = PROBE_TARGETS.icmp.ip;
  let before: number;
  try {
    before = (await probe.cage.counters()).icmpDropped;
  } catch (error) {
    return { what: 'icmp', ok: false, detail: `cannot read the edge counters: ${message(error)}` };
  }
  // No echo reply ever comes back, so ping fails by design; only the counter tells.
  const sender = await runInCage(probe, 'ping', ['-c', '1', '-W', '1', to]);
  const after = await waitFor(probe, 'the edge ICMP drop counter to rise', async () => {
    const { icmpDropped } = await probe.cage.counters();
    return icmpDropped > before ? icmpDropped : undefined;
  });
  if (after === undefined) {
    return {
      what: 'icmp',
      ok: false,
      detail: `an echo to ${to} was not counted at the edge; ${sender}`,
    };
  }
  return {
    what: 'icmp',
    ok: true,
    detail: `an echo to ${to} was dropped at the edge (ICMP drop counter ${before} → ${after})`,
  };
}

/** Runs a command inside the cage; says in words how it ended, for a failed check's detail. */
async function runInCage(probe: Probe, file: string, args: string[]): Promise<string> {
  const wrapped = probe.cage.wrap(file, args);
  const result = await execa(wrapped.file, wrapped.args, {
    timeout: probe.timeoutMs,
    reject: false,
    // The sender is plain JavaScript: loaders meant for this process have no business there.
    env: { NODE_OPTIONS: '' },
  });
  if (result.timedOut) return `${file} timed out after ${probe.timeoutMs} ms`;
  const said = result.stderr.trim() || result.shortMessage;
  return `${file} exited ${result.exitCode ?? '?'}${said ? `: ${said.split('\n')[0]}` : ''}`;
}

/** The probe's value once it holds, or undefined when the probe's deadline passed first. */
async function waitFor<T>(
  probe: Probe,
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
): Promise<T | undefined> {
  try {
    return await pollUntil({
      what,
      probe: async () => check(),
      timeoutMs: probe.timeoutMs,
      setting: 'timeoutMs',
      intervalMs: 50,
    });
  } catch (error) {
    if (isCanarytrapError(error) && error.code === 'wait-timeout') return undefined;
    throw error;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
