import type { CanarySet } from '../canary/types.ts';
import type { Flow } from '../capture/flow.ts';
import type { InstrumentationEvent } from '../instrument/events.ts';
import type { Leak } from './types.ts';

/** An earlier run of the same image with another canary set, for differential inference. */
export interface BaselineRun {
  canaries: CanarySet;
  flows: Flow[];
  events?: InstrumentationEvent[];
}

export interface CorrelateInput {
  canaries: CanarySet;
  flows: Flow[];
  events: InstrumentationEvent[];
  baseline?: BaselineRun;
}

export interface CorrelateOptions {
  /** Called once per leak as soon as it is known (after deduplication), for live display. */
  onLeak?: (leak: Leak) => void;
}

/** A flow whose content could not be read (TLS without keys): where it went, and how much. */
export interface OpaqueFlowSummary {
  flowId: string;
  t: number;
  protocol: Flow['protocol'];
  host?: string;
  ip: string;
  port: number;
  bytes: number;
  app?: string;
  /** A hook saw the plaintext written into this TLS session; it was searched instead. */
  plaintextFromHook: boolean;
}

export interface CorrelationStats {
  canaries: number;
  variants: number;
  flows: number;
  events: number;
  /** Bytes searched, decoded layers included. */
  bytesSearched: number;
  layers: number;
  durationMs: number;
}

export interface CorrelationResult {
  leaks: Leak[];
  opaque: OpaqueFlowSummary[];
  warnings: string[];
  stats: CorrelationStats;
}
