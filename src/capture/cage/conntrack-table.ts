import { readFile } from 'node:fs/promises';
import { isCanarytrapError } from '../../errors.ts';
import { pollUntil } from '../../host/poll.ts';
import { runCommand } from './command.ts';
import { findOriginalDestination, parseConntrack } from './conntrack.ts';
import type { HostPort } from './types.ts';

const CONNTRACK_PROC = '/proc/net/nf_conntrack';
const NOT_FOUND = 'cage-conntrack-entry-missing';

export interface LookupOptions {
  /** How long to keep looking: a UDP entry can appear a moment after its datagram. */
  waitMs: number;
  commandTimeoutMs: number;
}

/** The original destination of a redirected flow, from the host namespace's conntrack table. */
export async function lookupOriginalDestination(
  protocol: 'tcp' | 'udp',
  client: HostPort,
  options: LookupOptions,
): Promise<HostPort | undefined> {
  const probe = async () =>
    findOriginalDestination(
      parseConntrack(await conntrackTable(protocol, client, options)),
      protocol,
      client,
    );
  try {
    return await pollUntil({
      what: `the conntrack entry of ${protocol} ${client.ip}:${client.port}`,
      probe,
      timeoutMs: options.waitMs,
      setting: 'conntrackWaitMs',
      intervalMs: 25,
      timeout: { code: NOT_FOUND },
    });
  } catch (error) {
    if ((error as { code?: unknown }).code === NOT_FOUND) return undefined;
    throw error;
  }
}

/**
 * The proc file where the kernel offers it (nf_conntrack's procfs support); otherwise the
 * conntrack tool, asked only for this client's flows.
 */
async function conntrackTable(
  protocol: 'tcp' | 'udp',
  client: HostPort,
  options: LookupOptions,
): Promise<string> {
  const text = await readFile(CONNTRACK_PROC, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text !== undefined) return text;
  return runCommand(
    'conntrack',
    ['-L', '-p', protocol, '-s', client.ip, '--sport', String(client.port)],
    {
      timeoutMs: options.commandTimeoutMs,
      failure: {
        code: 'cage-conntrack-unreadable',
        hint: `neither ${CONNTRACK_PROC} nor \`conntrack -L\` can be read; load nf_conntrack and install the conntrack package`,
      },
    },
  );
}

/**
 * Deletes the host's conntrack entries of a cage's device address. A later cage at the same
 * index reuses the address, and a flow with an identical tuple (NTP from port 123, say) would
 * otherwise keep the old cage's NAT and miss the new capture. Needs the conntrack tool; without
 * it nothing is deleted and false is returned.
 */
export async function forgetFlowsOf(deviceIp: string, timeoutMs: number): Promise<boolean> {
  try {
    await runCommand('conntrack', ['-D', '-s', deviceIp], {
      timeoutMs,
      failure: {
        code: 'cage-conntrack-flush-failed',
        hint: 'delete them with `conntrack -D -s <device ip>`',
      },
    });
    return true;
  } catch (error) {
    if (!isCanarytrapError(error)) throw error;
    if (error.code === 'cage-tool-missing') return false;
    // conntrack exits 1 when nothing matched.
    if (/\b0 flow entries have been deleted/.test(String(error.details?.stderr))) return false;
    throw error;
  }
}
