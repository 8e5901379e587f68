/**
 * The run report: what one run learned, as plain JSON (`report.json` in the run directory).
 * docs/report.md explains every field; docs/report.schema.json is the published JSON Schema.
 * Times are milliseconds since the epoch, like Leak.t and Flow.t.
 */
import type { Canary, CanaryKind, CanarySet } from '../canary/types.ts';
import type { Flow } from '../capture/flow.ts';
import type { LauncherName } from '../config.ts';
import type { OpaqueFlowSummary, OpaqueReason } from '../correlate/opaque.ts';
import type { Leak } from '../correlate/types.ts';
import type { UiReport } from './model-ui.ts';

export type { OpaqueReason } from '../correlate/opaque.ts';

export type { UiConsentRecord, UiReport, UiStepOutcome, UiStepRecord } from './model-ui.ts';

export const REPORT_VERSION = 1;

export type { LauncherName };

export interface ImageInfo {
  /** The name the image was submitted under (a lab image's name, a file's base name). */
  name: string;
  /** sha256 of the submitted image file, hex. */
  sha256: string;
  /** ro.build.fingerprint, where the image has one. */
  fingerprint?: string;
  model?: string;
  manufacturer?: string;
  androidVersion?: string;
  apiLevel?: number;
  /** Names a family of builds from one vendor and product; two runs diff meaningfully within one lineage. */
  lineage?: string;
}

export interface RunInfo {
  runId: string;
  jobId: string;
  image: ImageInfo;
  startedAt: number;
  finishedAt: number;
  launcher: LauncherName;
  /** The run this one is a rerun of, so the two compare. */
  baselineRunId?: string;
  /** Which attempt made this report (1 unless the run was retried). Absent in older reports. */
  attempt?: number;
  /** Attempts before this one, kept apart under `attempts/<n>/` of the run directory. */
  earlierAttempts?: EarlierAttempt[];
}

/**
 * An attempt of the run that did not finish it: its evidence is kept, never mixed into the
 * report, the flows or the exports of the attempt that did.
 */
export interface EarlierAttempt {
  attempt: number;
  /** `lost`: its worker stopped mid-run (killed, crashed, lost its lock) and recorded no end. */
  outcome: 'lost' | 'failed' | 'cancelled';
  /** Why, in one sentence. */
  reason: string;
  /** Its evidence, relative to the run directory (`attempts/1`). */
  dir: string;
  /** Flows it captured before it ended. */
  flows: number;
}

export type StageStatus = 'done' | 'failed' | 'skipped';

export interface StageRecord {
  name: string;
  startedAt: number;
  finishedAt: number;
  status: StageStatus;
  /** Why it failed or was skipped, or what it did, in one sentence. */
  note?: string;
}

export interface ReportInput {
  run: RunInfo;
  canaries: CanarySet;
  leaks: Leak[];
  flows: Flow[];
  stages: StageRecord[];
  /** What the run could not observe, one sentence each ("instrumentation unavailable: frida is not installed"). */
  limitations: string[];
  /**
   * The image inventory, kept as an opaque JSON value. Where it has `apps` (`{package, path, …}`)
   * and `findings` (`{rule, severity, package?, evidence}`) arrays, the HTML page shows them.
   */
  inventory?: unknown;
  /** What the exercise did on the screen (UI steps, consent decisions); absent when no UI was driven. */
  ui?: UiReport;
  /** The flows capture could not read, as the correlator listed them. Default none. */
  opaque?: OpaqueFlowSummary[];
  /** How the device's network was contained; absent when no device ran. */
  containment?: ContainmentRecord;
}

/**
 * How the run's device was kept from the internet (docs/cage.md): `verified` when it ran in a
 * cage whose containment probe landed on the capture, `uncontained` when it ran without one.
 */
export type ContainmentRecord =
  | {
      status: 'verified';
      /** The probe's checks, one sentence each: what landed where. */
      checks: Array<{ what: string; ok: boolean; detail: string }>;
    }
  | {
      status: 'uncontained';
      /** Why the device ran without a cage, e.g. the host cannot make one, or --uncontained. */
      reason: string;
    };

export type VerdictStatus = 'leaks-found' | 'no-leaks' | 'inconclusive' | 'incomplete';

export interface Verdict {
  status: VerdictStatus;
  /** One sentence: "7 canary kinds left the device to 3 hosts from 2 apps (42 leaks)". */
  summary: string;
}

export interface Totals {
  leaks: number;
  canaryKinds: number;
  hosts: number;
  apps: number;
  flows: number;
  canariesPlanted: number;
}

export interface KindCount {
  kind: CanaryKind;
  leaks: number;
  /** How many distinct canaries of this kind were found. */
  canaries: number;
  hosts: string[];
  apps: string[];
}

export interface HostCount {
  host: string;
  leaks: number;
  kinds: CanaryKind[];
  apps: string[];
}

export interface AppCount {
  app: string;
  leaks: number;
  kinds: CanaryKind[];
  hosts: string[];
}

/** One way a kind of canary leaves the device: (kind, destination host, app). The diff compares these. */
export interface Channel {
  kind: CanaryKind;
  host: string;
  /** Absent where no leak of the channel named its app. */
  app?: string;
  leaks: number;
  firstSeen: number;
  lastSeen: number;
  /** Every distinct transform chain seen on this channel, each from the wire inward. */
  transforms: string[][];
}

export interface ReportSummary {
  totals: Totals;
  byKind: KindCount[];
  byHost: HostCount[];
  byApp: AppCount[];
  channels: Channel[];
}

export interface Destination {
  /** The name the device asked for; the IP address, or `(channel)`, where no name is known. */
  host: string;
  ips: string[];
  /**
   * ISO 3166-1 alpha-2 country of the first public address the offline GeoLite2 database knows;
   * absent for private, loopback and sinkholed addresses and for addresses it does not know.
   */
  country?: string;
  ports: number[];
  protocols: string[];
  apps: string[];
  firstSeen: number;
  lastSeen: number;
  /** Request line, headers and body (or raw bytes) as sent, summed over the flows. */
  bytesSent: number;
  flowCount: number;
  leakCount: number;
}

/**
 * A flow capture could not read: a TLS handshake the client broke off (a pinned app), TLS without
 * keys, bytes that were not the protocol expected. Nothing found in it is no evidence that
 * nothing leaked there.
 */
export interface OpaqueFlow {
  flowId: string;
  t: number;
  /** As captured: `tls`, `tcp`, `udp`, … */
  protocol: string;
  /** `host` is named as destinations are: the name the device asked for, else the IP. */
  destination: { host: string; ip: string; port: number };
  /** The app, attributed as leaks are; absent where no hook event or client named it. */
  app?: string;
  /** Bytes the client sent that capture kept (for a failed handshake, its ClientHello). */
  bytesSent: number;
  reason: OpaqueReason;
  /** The capture's own words, e.g. `tls-handshake:cert-rejected`. */
  detail?: string;
  /**
   * A hook saw the plaintext written into this TLS session and it was searched instead: listed,
   * but it does not make the run inconclusive.
   */
  plaintextFromHook: boolean;
}

export interface ReportCanary extends Canary {
  /** How many leaks carried this canary. */
  leaks: number;
}

export interface Report {
  version: typeof REPORT_VERSION;
  run: RunInfo;
  verdict: Verdict;
  summary: ReportSummary;
  /** Every leak, sorted by time. */
  leaks: Leak[];
  destinations: Destination[];
  /**
   * Flows capture could not read, sorted by time. Reports made before these were listed lack the
   * field; parseReport reads them as listing none.
   */
  opaque: OpaqueFlow[];
  /** How the device's network was contained; absent when no device ran (or in older reports). */
  containment?: ContainmentRecord;
  canaries: ReportCanary[];
  stages: StageRecord[];
  limitations: string[];
  inventory?: unknown;
  /** The UI steps and consent decisions of the exercise; absent when no UI was driven. */
  ui?: UiReport;
}
