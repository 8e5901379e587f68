/** Counts of a run's leaks per canary kind, per destination host, per app and per channel. */
import { CANARY_KINDS, type CanaryKind } from '../canary/types.ts';
import type { Leak } from '../correlate/types.ts';
import { leakHost } from './hosts.ts';
import type { AppCount, Channel, HostCount, KindCount } from './model.ts';

export interface LeakCounts {
  byKind: KindCount[];
  byHost: HostCount[];
  byApp: AppCount[];
  channels: Channel[];
}

interface Tally {
  leaks: number;
  canaryIds: Set<string>;
  kinds: Set<CanaryKind>;
  hosts: Set<string>;
  apps: Set<string>;
}

function emptyTally(): Tally {
  return { leaks: 0, canaryIds: new Set(), kinds: new Set(), hosts: new Set(), apps: new Set() };
}

function tallyIn<K>(map: Map<K, Tally>, key: K): Tally {
  let tally = map.get(key);
  if (!tally) {
    tally = emptyTally();
    map.set(key, tally);
  }
  return tally;
}

function add(tally: Tally, leak: Leak, host: string): void {
  tally.leaks += 1;
  tally.canaryIds.add(leak.canary.id);
  tally.kinds.add(leak.canary.kind);
  tally.hosts.add(host);
  if (leak.app !== undefined) tally.apps.add(leak.app);
}

const kindOrder = (kind: CanaryKind): number => CANARY_KINDS.indexOf(kind);
const sortedKinds = (kinds: Set<CanaryKind>): CanaryKind[] =>
  [...kinds].sort((a, b) => kindOrder(a) - kindOrder(b));
const sorted = (values: Set<string>): string[] => [...values].sort();

/** Most leaks first, then by name, so the order is stable from run to run. */
function byLeaksThenName<T extends { leaks: number }>(name: (x: T) => string) {
  return (a: T, b: T): number => b.leaks - a.leaks || name(a).localeCompare(name(b));
}

/** The key of a channel; NUL cannot occur in a host name or package, so keys cannot collide. */
export function channelKey(kind: string, host: string, app: string | undefined): string {
  return `${kind}\u0000${host}\u0000${app ?? ''}`;
}

export function countLeaks(leaks: readonly Leak[]): LeakCounts {
  const kinds = new Map<CanaryKind, Tally>();
  const hosts = new Map<string, Tally>();
  const apps = new Map<string, Tally>();
  const channels = new Map<string, Channel & { chains: Set<string> }>();

  for (const leak of leaks) {
    const host = leakHost(leak);
    add(tallyIn(kinds, leak.canary.kind), leak, host);
    add(tallyIn(hosts, host), leak, host);
    if (leak.app !== undefined) add(tallyIn(apps, leak.app), leak, host);

    const key = channelKey(leak.canary.kind, host, leak.app);
    let channel = channels.get(key);
    if (!channel) {
      channel = {
        kind: leak.canary.kind,
        host,
        leaks: 0,
        firstSeen: leak.t,
        lastSeen: leak.t,
        transforms: [],
        chains: new Set(),
      };
      if (leak.app !== undefined) channel.app = leak.app;
      channels.set(key, channel);
    }
    channel.leaks += 1;
    channel.firstSeen = Math.min(channel.firstSeen, leak.t);
    channel.lastSeen = Math.max(channel.lastSeen, leak.t);
    // JSON of the array, not a joined string: a transform name may itself contain any separator.
    const chain = JSON.stringify(leak.transforms);
    if (!channel.chains.has(chain)) {
      channel.chains.add(chain);
      channel.transforms.push([...leak.transforms]);
    }
  }

  return {
    byKind: [...kinds]
      .map(([kind, t]) => ({
        kind,
        leaks: t.leaks,
        canaries: t.canaryIds.size,
        hosts: sorted(t.hosts),
        apps: sorted(t.apps),
      }))
      .sort((a, b) => b.leaks - a.leaks || kindOrder(a.kind) - kindOrder(b.kind)),
    byHost: [...hosts]
      .map(([host, t]) => ({
        host,
        leaks: t.leaks,
        kinds: sortedKinds(t.kinds),
        apps: sorted(t.apps),
      }))
      .sort(byLeaksThenName((x) => x.host)),
    byApp: [...apps]
      .map(([app, t]) => ({
        app,
        leaks: t.leaks,
        kinds: sortedKinds(t.kinds),
        hosts: sorted(t.hosts),
      }))
      .sort(byLeaksThenName((x) => x.app)),
    channels: [...channels.values()]
      .map(({ chains: _chains, ...channel }) => channel)
      .sort(
        (a, b) =>
          kindOrder(a.kind) - kindOrder(b.kind) ||
          b.leaks - a.leaks ||
          a.host.localeCompare(b.host) ||
          (a.app ?? '').localeCompare(b.app ?? ''),
      ),
  };
}
