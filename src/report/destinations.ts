/** Every host the device contacted, from the captured flows and from the leaks. */
import type { Flow } from '../capture/flow.ts';
import type { Leak } from '../correlate/types.ts';
import { countryOf } from './geo.ts';
import { flowApp, flowBytesSent, flowHost, leakHost } from './hosts.ts';
import type { Destination } from './model.ts';

interface Accumulator {
  host: string;
  ips: Set<string>;
  ports: Set<number>;
  protocols: Set<string>;
  apps: Set<string>;
  firstSeen: number;
  lastSeen: number;
  bytesSent: number;
  flowCount: number;
  leakCount: number;
}

function accumulatorFor(map: Map<string, Accumulator>, host: string, t: number): Accumulator {
  let acc = map.get(host);
  if (!acc) {
    acc = {
      host,
      ips: new Set(),
      ports: new Set(),
      protocols: new Set(),
      apps: new Set(),
      firstSeen: t,
      lastSeen: t,
      bytesSent: 0,
      flowCount: 0,
      leakCount: 0,
    };
    map.set(host, acc);
  }
  acc.firstSeen = Math.min(acc.firstSeen, t);
  acc.lastSeen = Math.max(acc.lastSeen, t);
  return acc;
}

export function collectDestinations(flows: readonly Flow[], leaks: readonly Leak[]): Destination[] {
  const map = new Map<string, Accumulator>();
  for (const flow of flows) {
    const acc = accumulatorFor(map, flowHost(flow), flow.t);
    acc.ips.add(flow.destination.ip);
    acc.ports.add(flow.destination.port);
    acc.protocols.add(flow.protocol);
    const app = flowApp(flow);
    if (app !== undefined) acc.apps.add(app);
    acc.bytesSent += flowBytesSent(flow);
    acc.flowCount += 1;
  }
  // Leaks found in instrumentation events may name a destination no flow reached (a raw socket
  // the proxy never saw, an SMS); they count as destinations too.
  for (const leak of leaks) {
    const acc = accumulatorFor(map, leakHost(leak), leak.t);
    if (leak.destination.ip !== undefined) acc.ips.add(leak.destination.ip);
    if (leak.destination.port !== undefined) acc.ports.add(leak.destination.port);
    acc.protocols.add(leak.destination.channel);
    if (leak.app !== undefined) acc.apps.add(leak.app);
    acc.leakCount += 1;
  }
  return [...map.values()]
    .map(toDestination)
    .sort(
      (a, b) =>
        b.leakCount - a.leakCount || a.firstSeen - b.firstSeen || a.host.localeCompare(b.host),
    );
}

/**
 * The country is that of the first public address (in sorted order) the offline database
 * knows; a host named by a bare public IP counts as its address. Sinkholed names resolve to
 * loopback, so most hosts of a contained run have none.
 */
function toDestination(acc: Accumulator): Destination {
  const ips = [...acc.ips].sort();
  const country = (ips.length > 0 ? ips : [acc.host]).map(countryOf).find((c) => c !== undefined);
  return {
    host: acc.host,
    ips,
    ...(country ? { country } : {}),
    ports: [...acc.ports].sort((a, b) => a - b),
    protocols: [...acc.protocols].sort(),
    apps: [...acc.apps].sort(),
    firstSeen: acc.firstSeen,
    lastSeen: acc.lastSeen,
    bytesSent: acc.bytesSent,
    flowCount: acc.flowCount,
    leakCount: acc.leakCount,
  };
}
