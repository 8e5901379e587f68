import type { CommandResult } from './shell/result.ts';

export interface InstrumentRequest {
  /** `<test package>/<runner class>`. */
  component: string;
  /** `-e key value` pairs. */
  extras: Map<string, string>;
  /** `-w`: wait for the instrumentation to finish. */
  wait: boolean;
}

/**
 * `am instrument` as the OS drives it (InstrumentationRunner models the UiAutomator2 server's).
 * An interface of its own, so the OS holds a runner that itself drives the OS.
 */
export interface Instrumentations {
  run(
    request: InstrumentRequest,
    signal: AbortSignal,
    stream?: (data: string) => Promise<void>,
  ): Promise<CommandResult>;
  /** True while an instrumentation of this package (test or target) runs. */
  isRunning(pkg: string): boolean;
  /** `am force-stop <pkg>`: kills instrumentations whose test or target package it is. */
  forceStop(pkg: string): void;
  /** The phone stops: every instrumentation dies with it. */
  close(): Promise<void>;
}
