import type { CanarySet } from '../canary/types.ts';
import type { Flow } from '../capture/flow.ts';
import type { InstrumentationEvent } from '../android/instrumentation-events.ts';
import type { OpaqueFlowSummary } from './opaque.ts';
import type { Leak } from './types.ts';

export type { OpaqueFlowSummary } from './opaque.ts';

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
