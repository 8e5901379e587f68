/**
 * The lab phone's behaviour engine: makes each app of a lab image do what the image says (read
 * data, encode it, send it through the run's DNS sinkhole and proxy) and states what it does as
 * instrumentation events, the facts Frida hooks report on a real device.
 */
export {
  startBehaviours,
  jobServiceName,
  type BehaviourRuntime,
  type BehaviourOptions,
} from './runtime.ts';
export type { BehaviourOutcome } from './run-behaviour.ts';
export { findProblems, type BehaviourProblem } from './validate.ts';
export type * from './host.ts';
