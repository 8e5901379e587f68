/**
 * Telling a hidden leak from a fixed one. A channel that leaked in the base run and not in the
 * next is only fixed if the next run could have seen it: when the next run sent flows capture
 * could not read to the same host, or from the same app over the same transport, the leak may
 * simply have moved out of sight (the vendor pinned the upload's certificate) and the diff calls
 * it hidden, with those flows as evidence.
 */
import type { CanaryKind } from '../canary/types.ts';
import { leakHost } from './hosts.ts';
import type { OpaqueFlow, Report } from './model.ts';
import { unreadFlows } from './opaque.ts';
import { channelKey } from './summary.ts';

/** Why an unread flow of the next run may carry a channel of the base run. */
export type HidingMatch = 'host' | 'app';

export interface HidingEvidence {
  /** `host`: the flow went to the channel's host; `app`: the channel's app sent it over the same transport. */
  match: HidingMatch;
  flow: OpaqueFlow;
}

export interface Hiding {
  /** How many unread flows of the next run match the channel. */
  flows: number;
  /** The first of them by time, at most HIDING_EVIDENCE_SHOWN, host matches first. */
  evidence: HidingEvidence[];
}

/** Enough to see the pattern without copying a run's every retry into the diff. */
export const HIDING_EVIDENCE_SHOWN = 5;

/**
 * The transport under a leak's channel or a flow's protocol: a leak over HTTP that reappears as
 * TLS nobody could read has moved, one sent by SMS has not gone into a TCP connection. Channels
 * that are no network transport (sms, hook event types) have none and match by host only.
 */
function transportOf(channel: string): 'tcp' | 'udp' | 'icmp' | undefined {
  switch (channel) {
    case 'http':
    case 'https':
    case 'tls':
    case 'tcp':
      return 'tcp';
    case 'udp':
    case 'dns':
    case 'quic':
      return 'udp';
    case 'icmp':
      return 'icmp';
    default:
      return undefined;
  }
}

export interface ChannelRef {
  kind: CanaryKind;
  host: string;
  app?: string;
}

/** Finds the unread flows of `next` that may carry each gone channel of `base`. */
export class HidingFinder {
  private readonly transports = new Map<string, Set<string>>();
  private readonly unread: OpaqueFlow[];

  constructor(base: Report, next: Report) {
    for (const leak of base.leaks) {
      const key = channelKey(leak.canary.kind, leakHost(leak), leak.app);
      const transport = transportOf(leak.destination.channel);
      if (transport === undefined) continue;
      let set = this.transports.get(key);
      if (!set) {
        set = new Set();
        this.transports.set(key, set);
      }
      set.add(transport);
    }
    this.unread = unreadFlows(next.opaque);
  }

  /** The evidence that `channel` (gone from the next run) is hidden, or undefined when it is fixed. */
  find(channel: ChannelRef): Hiding | undefined {
    const host = channel.host.toLowerCase();
    const transports = this.transports.get(channelKey(channel.kind, channel.host, channel.app));
    const matches: HidingEvidence[] = [];
    for (const flow of this.unread) {
      if (flow.destination.host.toLowerCase() === host) {
        matches.push({ match: 'host', flow });
        continue;
      }
      const transport = transportOf(flow.protocol);
      if (
        channel.app !== undefined &&
        flow.app === channel.app &&
        transport !== undefined &&
        transports?.has(transport) === true
      )
        matches.push({ match: 'app', flow });
    }
    if (matches.length === 0) return undefined;
    const order: Record<HidingMatch, number> = { host: 0, app: 1 };
    const evidence = [...matches]
      .sort((a, b) => order[a.match] - order[b.match] || a.flow.t - b.flow.t)
      .slice(0, HIDING_EVIDENCE_SHOWN);
    return { flows: matches.length, evidence };
  }
}
