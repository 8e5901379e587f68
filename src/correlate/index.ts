/**
 * The correlation engine: canary set + captured flows + instrumentation events → leaks.
 * `correlate()` works in memory (the pipeline); `correlateFiles()` reads capture files (the CLI).
 */
export { correlate } from './correlate.ts';
export type {
  BaselineRun,
  CorrelateInput,
  CorrelateOptions,
  CorrelationResult,
  CorrelationStats,
  OpaqueFlowSummary,
} from './result.ts';
export type { Leak, LeakEvidence, LeakSite } from './types.ts';
export { expandCanaries, type Variant } from './variants.ts';
