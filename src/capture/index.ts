export type { Flow, FlowEndpoint, FlowProtocol, HttpMessage, HttpResponseSummary } from './flow.ts';
export type {
  CagedCaptureSession,
  CaptureCage,
  CaptureOptions,
  CaptureSession,
  DnsQueryRecord,
  ListenAddress,
  ProxyCaptureSession,
  Responder,
} from './types.ts';
export { startCapture } from './session.ts';
export { FakeIpNames, FAKE_IP_NETWORK } from './fake-ip-names.ts';
export {
  verifyContainment,
  type ContainmentCheck,
  type ContainmentOptions,
  type ContainmentResult,
} from './containment.ts';
export { flowsToHar, writeHar } from './har.ts';
export { readFlows, parseFlows, flowSchema } from './flows-file.ts';
export { explainResponder } from './responders.ts';
export { subjectHashOld } from './subject-hash.ts';
export { waitForQuiet, type QuietOptions } from './quiet.ts';
