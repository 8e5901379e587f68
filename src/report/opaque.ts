/**
 * The flows capture could not read, as the report lists them. Nothing found in such a flow is no
 * evidence that nothing leaked there, so they decide an otherwise clean verdict and let the diff
 * tell a hidden leak from a fixed one.
 */
import type { OpaqueFlowSummary } from '../correlate/opaque.ts';
import { formatTime } from './html-kit.ts';
import type { OpaqueFlow } from './model.ts';
import { terminalSafe } from '../terminal-text.ts';

export function toOpaqueFlows(summaries: readonly OpaqueFlowSummary[]): OpaqueFlow[] {
  return summaries
    .map((s) => {
      const flow: OpaqueFlow = {
        flowId: s.flowId,
        t: s.t,
        protocol: s.protocol,
        destination: { host: s.host ?? s.ip, ip: s.ip, port: s.port },
        bytesSent: s.bytes,
        reason: s.reason,
        plaintextFromHook: s.plaintextFromHook,
      };
      if (s.app !== undefined) flow.app = s.app;
      if (s.detail !== undefined) flow.detail = s.detail;
      return flow;
    })
    .sort((a, b) => a.t - b.t || (a.flowId < b.flowId ? -1 : a.flowId > b.flowId ? 1 : 0));
}

/** The opaque flows whose content nobody saw: a hook's plaintext was searched for the others. */
export function unreadFlows(flows: readonly OpaqueFlow[]): OpaqueFlow[] {
  return flows.filter((flow) => !flow.plaintextFromHook);
}

export interface OpaqueHost {
  host: string;
  flows: number;
  /** Distinct reasons, in the order first seen. */
  reasons: string[];
}

/** Unread flows per destination host: most flows first, then by name. */
export function opaqueHosts(flows: readonly OpaqueFlow[]): OpaqueHost[] {
  const hosts = new Map<string, OpaqueHost>();
  for (const flow of unreadFlows(flows)) {
    const host = flow.destination.host;
    let entry = hosts.get(host);
    if (!entry) {
      entry = { host, flows: 0, reasons: [] };
      hosts.set(host, entry);
    }
    entry.flows += 1;
    if (!entry.reasons.includes(flow.reason)) entry.reasons.push(flow.reason);
  }
  return [...hosts.values()].sort((a, b) => b.flows - a.flows || a.host.localeCompare(b.host));
}

/** One terminal line per opaque flow: when, where to, from which app, how much, and why. */
export function opaqueFlowLine(flow: OpaqueFlow): string {
  const { host, ip, port } = flow.destination;
  const where = host === ip ? `${ip}:${port}` : `${host} (${ip}:${port})`;
  const why = flow.detail === undefined ? flow.reason : `${flow.reason}: ${flow.detail}`;
  const hook = flow.plaintextFromHook ? '; plaintext seen by a hook was searched' : '';
  return terminalSafe(
    `${formatTime(flow.t)}  ${flow.protocol} → ${where} from ${flow.app ?? 'unknown app'}, ${flow.bytesSent} bytes sent, unread (${why})${hook}`,
  );
}
