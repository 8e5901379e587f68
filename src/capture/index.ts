export type { Flow, FlowEndpoint, FlowProtocol, HttpMessage, HttpResponseSummary } from './flow.ts';
export type {
  CaptureOptions,
  CaptureSession,
  DnsQueryRecord,
  ListenAddress,
  Responder,
} from './types.ts';
export { startCapture } from './session.ts';
export { flowsToHar, writeHar } from './har.ts';
export { readFlows, parseFlows, flowSchema } from './flows-file.ts';
export { explainResponder } from './responders.ts';
export { subjectHashOld } from './subject-hash.ts';
export { waitForQuiet, type QuietOptions } from './quiet.ts';
