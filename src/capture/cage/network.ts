import { writeFile } from 'node:fs/promises';
import { runCommand } from './command.ts';
import type { CageAddressing } from './types.ts';

const FAILURE = {
  code: 'cage-network-failed',
  hint: 'run `canarytrap doctor`: making a cage needs root, iproute2 and veth support',
};

/**
 * The namespace and its veth pair, addressed and up. IPv6 is off on both ends before any link
 * comes up, so nothing leaves the cage over v6 (the edge rules are IPv4 only) and no router
 * solicitations or MLD reports clutter the edge pcap.
 */
export async function buildCageNetwork(a: CageAddressing, timeoutMs: number): Promise<void> {
  const ip = (...args: string[]) => runCommand('ip', args, { timeoutMs, failure: FAILURE });
  const inside = (...args: string[]) => ip('-n', a.netns, ...args);
  await ip('netns', 'add', a.netns);
  await runCommand(
    'ip',
    [
      'netns',
      'exec',
      a.netns,
      'sysctl',
      '-q',
      '-w',
      'net.ipv6.conf.all.disable_ipv6=1',
      'net.ipv6.conf.default.disable_ipv6=1',
    ],
    { timeoutMs, failure: FAILURE },
  );
  await ip(
    'link',
    'add',
    a.hostInterface,
    'type',
    'veth',
    'peer',
    'name',
    a.deviceInterface,
    'netns',
    a.netns,
  );
  await writeFile(`/proc/sys/net/ipv6/conf/${a.hostInterface}/disable_ipv6`, '1');
  // Overridden whenever net.ipv4.ip_forward is written; the edge's forward chain stays the guard.
  await writeFile(`/proc/sys/net/ipv4/conf/${a.hostInterface}/forwarding`, '0');
  await ip('addr', 'add', `${a.gateway}/${a.prefixLength}`, 'dev', a.hostInterface);
  await ip('link', 'set', a.hostInterface, 'up');
  await inside('addr', 'add', `${a.deviceIp}/${a.prefixLength}`, 'dev', a.deviceInterface);
  await inside('link', 'set', 'lo', 'up');
  await inside('link', 'set', a.deviceInterface, 'up');
  await inside('route', 'add', 'default', 'via', a.gateway);
}
