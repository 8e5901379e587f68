import type { Logger } from '../log.ts';
import type { Flow } from './flow.ts';

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

export interface CaptureOptions {
  /** `flows.jsonl`, `dns.jsonl` and `ca/` are written here. */
  runDir: string;
  logger: Logger;
  /** Loopback address the DNS sinkhole and the proxy listen on. Default `127.0.0.1`. */
  host?: string;
  /** Canned answers; first match wins. Everything else gets 200 `{"status":"ok"}`. */
  responders?: Responder[];
  /** Names the run's CA (`canarytrap run <runId>`). Default: the last part of `runDir`. */
  runId?: string;
  /**
   * Where the DNS sinkhole listens, when it must differ from `host` and a free port: the SDK
   * emulator's `-dns-server` takes an address and always sends to port 53.
   */
  dns?: { host: string; port: number };
}

/** One query the sinkhole answered. `answer` is the address given, null when none was. */
export interface DnsQueryRecord {
  t: number;
  name: string;
  type: string;
  answer: string | null;
  client?: { ip: string; port: number };
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface CaptureSession extends AsyncDisposable {
  /** The UDP DNS sinkhole (`-dns-server`). */
  readonly dns: ListenAddress;
  /** The HTTP proxy, CONNECT and plain (`-http-proxy`). */
  readonly proxy: ListenAddress;
  /** The run's CA certificate, PEM; also in `runDir/ca/ca.pem`. */
  readonly caCertificatePem: string;
  /** OpenSSL `subject_hash_old` of the CA: Android names system CAs `<hash>.0`. */
  readonly caSubjectHashOld: string;
  /** Flows captured so far, in completion order. */
  flows(): Flow[];
  /** Called for each flow as it completes. Returns the unsubscribe function. */
  onFlow(listener: (flow: Flow) => void): () => void;
  dnsQueries(): DnsQueryRecord[];
  /** The name the sinkhole gave this address, if it gave it. */
  hostForIp(ip: string): string | undefined;
  /** Stops both servers and flushes the files. Safe to call twice. */
  stop(): Promise<void>;
}
