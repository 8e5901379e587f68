/**
 * Flows whose content capture could not read. A correlator that finds nothing in them has not
 * shown that nothing leaked there, so the report lists them and a run without leaks that has any
 * is inconclusive.
 */
import type { Flow } from '../capture/flow.ts';
import type { InstrumentationEvent } from '../android/instrumentation-events.ts';
import { attributeFlows, flowHost, type Attribution } from './attribution.ts';

/** Why a flow's content could not be read. */
export const OPAQUE_REASONS = [
  /** The client broke the TLS handshake off (a pinned app refusing the run's CA). */
  'tls-handshake-failed',
  /** TLS that capture holds no keys for (a pcap without the session in the key log). */
  'tls-not-decrypted',
  /** Bytes that were not the protocol the capture expected (not HTTP), not kept whole. */
  'unknown-protocol',
] as const;
export type OpaqueReason = (typeof OPAQUE_REASONS)[number];

export interface OpaqueCause {
  reason: OpaqueReason;
  /** The capture's own words, e.g. `tls-handshake:cert-rejected`, where it gave any. */
  detail?: string;
}

/**
 * Why this flow is opaque, or undefined when capture read it. Raw TCP and UDP flows are kept whole
 * and searched, so they are read; a connection the client reset (mockttp's `client-error:ECONNRESET`)
 * is cut short by the client, not unreadable, and stays out so that ordinary resets do not make
 * every run inconclusive.
 */
export function opaqueReason(flow: Flow): OpaqueCause | undefined {
  if (flow.request !== undefined) return undefined;
  let reason: OpaqueReason | undefined;
  if (flow.error?.startsWith('tls-handshake:')) reason = 'tls-handshake-failed';
  else if ((flow.protocol === 'tls' || flow.tls !== undefined) && flow.tls?.decrypted !== true)
    reason = 'tls-not-decrypted';
  // HPE_* are llhttp's parse errors: the bytes were not HTTP, and only their opening was kept.
  else if (flow.error?.startsWith('client-error:HPE_')) reason = 'unknown-protocol';
  if (reason === undefined) return undefined;
  const cause: OpaqueCause = { reason };
  if (flow.error !== undefined) cause.detail = flow.error;
  return cause;
}

/** A flow whose content could not be read: where it went, from which app, how much, and why. */
export interface OpaqueFlowSummary {
  flowId: string;
  t: number;
  protocol: Flow['protocol'];
  host?: string;
  ip: string;
  port: number;
  /** Bytes the client sent that capture kept (for a failed handshake, its ClientHello). */
  bytes: number;
  app?: string;
  reason: OpaqueReason;
  /** The capture's own words, e.g. `tls-handshake:cert-rejected`. */
  detail?: string;
  /** A hook saw the plaintext written into this TLS session; it was searched instead. */
  plaintextFromHook: boolean;
}

export function summariseOpaque(
  flow: Flow,
  cause: OpaqueCause,
  attribution: Attribution,
  events: readonly InstrumentationEvent[],
): OpaqueFlowSummary {
  const summary: OpaqueFlowSummary = {
    flowId: flow.id,
    t: flow.t,
    protocol: flow.protocol,
    ip: flow.destination.ip,
    port: flow.destination.port,
    bytes: flow.raw === undefined ? 0 : Buffer.byteLength(flow.raw, 'base64'),
    ...cause,
    plaintextFromHook: attribution.requestEvents.some((i) => events[i]?.type === 'tls.write'),
  };
  const host = flowHost(flow);
  if (host !== undefined) summary.host = host;
  if (attribution.app !== undefined) summary.app = attribution.app;
  return summary;
}

/**
 * The opaque flows of a capture, attributed to apps as correlate() attributes leaks; the same
 * list correlate() returns, for callers that need it without searching again.
 */
export function listOpaqueFlows(
  flows: readonly Flow[],
  events: readonly InstrumentationEvent[],
): OpaqueFlowSummary[] {
  const attributions = attributeFlows(flows, events);
  return flows.flatMap((flow) => {
    const cause = opaqueReason(flow);
    if (cause === undefined) return [];
    return [
      summariseOpaque(flow, cause, attributions.get(flow.id) ?? { requestEvents: [] }, events),
    ];
  });
}
