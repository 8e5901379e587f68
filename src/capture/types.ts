import type { Logger } from '../log.ts';
import type { HostPort } from './addresses.ts';
import type { EdgePorts } from './cage/types.ts';
import type { Flow } from './flow.ts';
import type { OriginalDestinationLookup } from './original-destination.ts';

/**
 * A canned answer for requests to one host (and optionally one path prefix), e.g. a C2 host
 * answering a command. Plain data, so it can travel in job data and be shown in a report.
 */
export interface Responder {
  /** Host name, compared case-insensitively; `*.example.org` matches every subdomain. */
  host: string;
  /** Only requests whose path starts with this. Default: every path. */
  pathPrefix?: string;
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** What the capture needs of the device's cage (src/capture/cage): where to listen, and the edge's memory. */
export interface CaptureCage {
  /** The cage's gateway address (`addressing.gateway`): every capture listener binds here only. */
  gateway: string;
  /** Where a redirected connection or datagram from `client` was going (`cage.originalDestination`). */
  originalDestination: OriginalDestinationLookup;
}

export interface CaptureOptions {
  /** `flows.jsonl`, `dns.jsonl` and `ca/` are written here. */
  runDir: string;
  logger: Logger;
  /**
   * The device's cage. With it the capture is transparent: the DNS sinkhole, the front and the
   * UDP sink listen on the cage's gateway on free ports (see `edgePorts`), and the front takes
   * redirected connections as they come, no CONNECT. Without it (uncaged runs) the capture is an
   * HTTP proxy and DNS server on loopback that the device is told to use.
   */
  cage?: CaptureCage;
  /** Uncaged only: loopback address the DNS sinkhole and the proxy listen on. Default `127.0.0.1`. */
  host?: string;
  /** Canned answers; first match wins. Everything else gets 200 `{"status":"ok"}`. */
  responders?: Responder[];
  /** Names the run's CA (`canarytrap run <runId>`). Default: the last part of `runDir`. */
  runId?: string;
  /**
   * Uncaged only: where the DNS sinkhole listens, when it must differ from `host` and a free
   * port: the SDK emulator's `-dns-server` takes an address and always sends to port 53.
   */
  dns?: { host: string; port: number };
}

/** One query the sinkhole answered. `answer` is the address given, null when none was. */
export interface DnsQueryRecord {
  t: number;
  name: string;
  type: string;
  answer: string | null;
  client?: HostPort;
  /** The resolver the device sent the query to, before the cage's edge redirected it (caged runs). */
  resolver?: HostPort;
}

export interface ListenAddress {
  host: string;
  port: number;
}

interface CaptureSessionBase extends AsyncDisposable {
  /** The UDP DNS sinkhole. */
  readonly dns: ListenAddress;
  /** The run's CA certificate, PEM; also in `runDir/ca/ca.pem`. */
  readonly caCertificatePem: string;
  /** OpenSSL `subject_hash_old` of the CA: Android names system CAs `<hash>.0`. */
  readonly caSubjectHashOld: string;
  /** Flows captured so far, in completion order. */
  flows(): Flow[];
  /** Called for each flow as it completes. Returns the unsubscribe function. */
  onFlow(listener: (flow: Flow) => void): () => void;
  /**
   * Flows matching `match` are handed to `onDiverted` instead of being recorded: they are not in
   * `flows()`, `flows.jsonl` or `onFlow`. For traffic the run makes itself (the containment
   * probe), which is not evidence about the device. Returns the function that ends the diversion.
   */
  divertFlows(match: (flow: Flow) => boolean, onDiverted: (flow: Flow) => void): () => void;
  dnsQueries(): DnsQueryRecord[];
  /** The name the sinkhole gave this address, if it gave it. */
  hostForIp(ip: string): string | undefined;
  /** Stops every listener and flushes the files. Safe to call twice. */
  stop(): Promise<void>;
}

/** An uncaged run's capture: the device is told to use the proxy and the DNS server. */
export interface ProxyCaptureSession extends CaptureSessionBase {
  readonly mode: 'proxy';
  /** The HTTP proxy, CONNECT and plain (`-http-proxy`). */
  readonly proxy: ListenAddress;
}

/** A caged run's capture: the cage's edge steers everything the device sends to `edgePorts`. */
export interface CagedCaptureSession extends CaptureSessionBase {
  readonly mode: 'caged';
  /** Every redirected TCP connection (TLS and HTTP are decrypted and answered; the rest is kept). */
  readonly front: ListenAddress;
  /** Every redirected UDP datagram that is not DNS; recorded, never answered. */
  readonly udp: ListenAddress;
  /** The ports to hand to `cage.installEdge`, all on the cage's gateway. */
  readonly edgePorts: EdgePorts;
}

export type CaptureSession = ProxyCaptureSession | CagedCaptureSession;
