import type { GeneratedCanaries } from '../src/canary/generate.ts';
import type { Flow } from '../src/capture/flow.ts';
import type { CaptureSession } from '../src/capture/index.ts';
import type { RunNetwork } from '../src/capture/run-network.ts';
import type { Config } from '../src/config.ts';
import type { Leak } from '../src/correlate/types.ts';
import type { RunningDevice } from '../src/device/device.ts';
import type { AdbClient } from '../src/device/adb-client.ts';
import type { StoredImage } from '../src/intake/index.ts';
import type { InstrumentationEvent } from '../src/android/instrumentation-events.ts';
import type { Logger } from '../src/log.ts';
import type { AnalysisJobData, AnalysisProgress } from '../src/queue/job-data.ts';
import type { StageName } from '../src/queue/names.ts';
import type { StageRecord } from '../src/report/model.ts';
import type { Teardown } from '../src/host/teardown.ts';
import type { AppiumServer } from '../src/ui/index.ts';
import type { EarlierAttempt, UiReport } from '../src/report/model.ts';

/** What the stages of one analysis share. Stages fill it in order; each reads what earlier ones left. */
export interface RunContext {
  readonly data: AnalysisJobData;
  readonly jobId: string;
  readonly config: Config;
  readonly adb: AdbClient;
  readonly teardown: Teardown;
  readonly startedAt: number;
  /** Which attempt of the run this is: 1, or more once a worker was lost or an attempt failed. */
  readonly attempt: number;
  /** The worker host's Appium server, shared by its jobs; started on first use. Absent: one per run. */
  readonly appium?: AppiumServer;
  logger: Logger;
  /** Aborts when the run is cancelled; long waits in a stage may end early on it. */
  readonly signal?: AbortSignal;
  /** Publishes progress through BullMQ (QueueEvents) for `watch` and the web page. */
  publish(progress: AnalysisProgress): Promise<void>;
  /** Set by intake, once the image is known good. */
  runDir?: string;
  /** Set with runDir: the run's attempts before this one, whose evidence is kept apart. */
  earlierAttempts?: EarlierAttempt[];
  image?: StoredImage;
  /** Set by intake when the device boots another image than the submitted one (a transplant). */
  bootImage?: StoredImage;
  /** Set by boot: the run's cage (or uncontained network) and its capture. */
  network?: RunNetwork;
  capture?: CaptureSession;
  device?: RunningDevice;
  canaries?: GeneratedCanaries;
  flows: Flow[];
  events: InstrumentationEvent[];
  leaks: Leak[];
  /**
   * Set by intake when the image cannot run dynamically (the plan says static-only): the device
   * stages are skipped with this reason and the report carries the static findings.
   */
  staticOnly?: string;
  /** What the run could not observe, one sentence each. */
  limitations: string[];
  stages: StageRecord[];
  /** Set by report: the run's verdict status (leaks-found, no-leaks, inconclusive, incomplete). */
  verdict?: string;
  /** Set by exercise when it drove the UI: steps and consent decisions for the report. */
  ui?: UiReport;
}

export type Stage = (context: RunContext) => Promise<string | void>;

export interface StageDefinition {
  name: StageName;
  run: Stage;
}
