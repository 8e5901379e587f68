import { InputError } from '../../errors.ts';
import { edgeTableName } from './addressing.ts';
import type { CageAddressing, EdgeCounters, EdgePorts } from './types.ts';

/** The named nft counters behind each field of EdgeCounters. */
export const EDGE_COUNTERS = {
  icmpDropped: 'icmp_dropped',
  quicRefused: 'quic_refused',
  otherDropped: 'other_dropped',
} as const satisfies Record<keyof EdgeCounters, string>;

/**
 * The nft script that makes (or atomically replaces) a cage's edge table. Without `ports` the
 * edge is sealed: everything from the cage is dropped, which is how a cage starts, so it is
 * never open between its creation and the capture's listeners coming up.
 *
 * Chain names avoid nft keywords (`fwd` is one).
 */
export function edgeRuleset(addressing: CageAddressing, ports?: EdgePorts): string {
  if (ports) checkPorts(ports);
  const table = edgeTableName(addressing.index);
  const cage = `iifname "${addressing.hostInterface}"`;
  const toCage = `oifname "${addressing.hostInterface}"`;
  const { icmpDropped, quicRefused, otherDropped } = EDGE_COUNTERS;
  const lines = [
    // Declaring then deleting makes the script work whether or not the table exists, and nft
    // applies the file as one transaction, so the old rules stay until the new ones are in.
    `table ip ${table} {}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    `  counter ${icmpDropped} {}`,
    `  counter ${quicRefused} {}`,
    `  counter ${otherDropped} {}`,
    // Before connection tracking (-200) and NAT (-100): what is dropped here leaves no trace.
    '  chain edge_raw {',
    '    type filter hook prerouting priority -300; policy accept;',
    `    ${cage} meta l4proto icmp counter name "${icmpDropped}" drop`,
  ];
  if (ports) {
    lines.push(
      // QUIC refused outright, so apps fall back to TCP, which the capture front can read.
      `    ${cage} udp dport 443 counter name "${quicRefused}" reject with icmp type port-unreachable`,
      `    ${cage} meta l4proto != { tcp, udp } counter name "${otherDropped}" drop`,
      '  }',
      '  chain edge_nat {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      `    ${cage} meta l4proto tcp redirect to :${ports.tcp}`,
      `    ${cage} udp dport 53 redirect to :${ports.dns}`,
      `    ${cage} meta l4proto udp redirect to :${ports.udp}`,
      '  }',
      '  chain edge_input {',
      '    type filter hook input priority filter; policy accept;',
      `    ${cage} tcp dport ${ports.tcp} accept`,
      `    ${cage} udp dport ${udpSet(ports)} accept`,
      `    ${cage} counter name "${otherDropped}" drop`,
      // The capture listens on the gateway only, and there it answers the cage alone: not the
      // host itself (via lo), not other namespaces, not the network, not another cage. The same
      // port numbers at other addresses are other sockets (another run's capture on its own
      // gateway, a service on loopback) and are left alone.
      `    ip daddr ${addressing.gateway} tcp dport ${ports.tcp} reject with tcp reset`,
      `    ip daddr ${addressing.gateway} udp dport ${udpSet(ports)} reject with icmp type port-unreachable`,
      '  }',
    );
  } else {
    lines.push(`    ${cage} counter name "${otherDropped}" drop`, '  }');
  }
  lines.push(
    '  chain edge_forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    ${cage} counter name "${otherDropped}" drop`,
    `    ${toCage} counter name "${otherDropped}" drop`,
    '  }',
    '}',
  );
  return `${lines.join('\n')}\n`;
}

/** EdgeCounters from `nft -j list table ip canarytrap_<i>`; a counter absent reads 0. */
export function parseEdgeCounters(json: string): EdgeCounters {
  const packets = new Map<string, number>();
  const parsed = JSON.parse(json) as { nftables?: unknown };
  for (const entry of Array.isArray(parsed.nftables) ? parsed.nftables : []) {
    const counter = (entry as { counter?: { name?: unknown; packets?: unknown } }).counter;
    if (typeof counter?.name === 'string' && typeof counter.packets === 'number') {
      packets.set(counter.name, counter.packets);
    }
  }
  return {
    icmpDropped: packets.get(EDGE_COUNTERS.icmpDropped) ?? 0,
    quicRefused: packets.get(EDGE_COUNTERS.quicRefused) ?? 0,
    otherDropped: packets.get(EDGE_COUNTERS.otherDropped) ?? 0,
  };
}

function udpSet(ports: EdgePorts): string {
  return ports.dns === ports.udp ? String(ports.dns) : `{ ${ports.dns}, ${ports.udp} }`;
}

function checkPorts(ports: EdgePorts): void {
  for (const [name, port] of Object.entries(ports)) {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new InputError(
        'cage-edge-port-invalid',
        `edge port ${name}=${String(port)} is not a TCP/UDP port`,
        {
          hint: 'pass the ports the capture listeners were actually bound to',
        },
      );
    }
  }
}
