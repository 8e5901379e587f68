/**
 * The correlation engine: canary set + captured flows + instrumentation events → leaks.
 * `correlate()` works in memory (the pipeline); `correlateFiles()` reads capture files (the CLI).
 */
export { correlate } from './correlate.ts';
export {
  listOpaqueFlows,
  opaqueReason,
  OPAQUE_REASONS,
  type OpaqueCause,
  type OpaqueReason,
} from './opaque.ts';
export {
  correlateFiles,
  readCanarySet,
  type CaptureFiles,
  type CorrelateFilesInput,
} from './files.ts';
export { readPcap, type CaptureReadResult, type PcapReadOptions } from './readers/pcap.ts';
export { readEdgeOnlyFlows, type EdgeFlowOptions } from './readers/edge-pcap.ts';
export { parseKeyLog, readKeyLog, type KeyLog } from './readers/tls-keylog.ts';
export { readHar } from './readers/har.ts';
export { readEventsJsonl, type EventsReadResult } from './readers/events-jsonl.ts';
export { scanBytes, scanStream, type StreamScanResult } from './stream-scan.ts';
export { SearchIndex } from './engine.ts';
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
