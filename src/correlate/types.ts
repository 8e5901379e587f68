import type { CanaryKind } from '../canary/types.ts';

/** Where a leak was seen: a captured flow, or an instrumentation event. */
export type LeakSite =
  | { kind: 'flow'; flowId: string; part: 'url' | 'header' | 'body' | 'raw'; header?: string }
  | { kind: 'event'; eventIndex: number; eventType: string; field: string };

export interface LeakEvidence {
  /** Byte offset of the match inside the innermost decoded layer. */
  offset: number;
  /** Printable excerpt around the match, inside the innermost decoded layer. */
  excerpt: string;
  /** The exact variant that matched (e.g. the base64 form, the E.164 form). */
  matched: string;
}

export interface Leak {
  id: string;
  canary: { id: string; kind: CanaryKind; value: string };
  site: LeakSite;
  destination: { host?: string; ip?: string; port?: number; channel: string };
  http?: { method: string; url: string };
  /** The app that sent it, where known (event package, or flow client). */
  app?: string;
  /** ms since the epoch. */
  t: number;
  /** The transforms from the wire inward, e.g. ['tls', 'form', 'base64', 'aes-128-cbc', 'json']. */
  transforms: string[];
  evidence: LeakEvidence;
  /** 1 = exact match in a known layer; lower for fingerprints, differential inference. */
  confidence: number;
  /** Which written form and encoding of the canary matched, e.g. 'e164/base64@1'. */
  variant?: string;
  /** Hook events that describe the same request (the app attribution rests on them). */
  eventIndexes?: number[];
}
