/** Hand-made canaries, leaks and flows for the report tests. */
import { randomUUID } from 'node:crypto';
import type { CanaryKind, CanarySet } from '../../src/canary/types.ts';
import type { Flow } from '../../src/capture/flow.ts';
import type { OpaqueFlowSummary, OpaqueReason } from '../../src/correlate/opaque.ts';
import type { Leak } from '../../src/correlate/types.ts';
import { STAGES } from '../../src/queue/names.ts';
import type { ReportInput, StageRecord } from '../../src/report/model.ts';

export const T0 = Date.UTC(2016, 10, 15, 10, 0, 0);

export const VALUES: Record<CanaryKind, string> = {
  phone_number: '+12025550143',
  contact_name: 'Ana Canary',
  email: 'ana.canary@example.org',
  sms_body: 'meet at the old mill 4471',
  call_number: '+12025550177',
  imei: '490154203237518',
  imsi: '001010123456789',
  iccid: '8900100000000000018',
  android_id: '9774d56d682e549c',
  serial: 'LAB0C4NARY',
  wifi_mac: '02:00:00:4c:61:62',
  location: '54.6872,25.2797',
  account: 'ana.canary@example.org',
  free_text: 'canary free text 8812',
};

export function canarySet(
  runId: string,
  kinds: readonly CanaryKind[] = Object.keys(VALUES) as CanaryKind[],
): CanarySet {
  return {
    version: 1,
    runId,
    canaries: kinds.map((kind, i) => ({
      id: `c${String(i).padStart(2, '0')}`,
      kind,
      value: VALUES[kind],
      context: `${kind} canary`,
    })),
  };
}

export interface LeakSpec {
  kind: CanaryKind;
  host: string;
  app?: string;
  t?: number;
  id?: string;
  ip?: string;
  port?: number;
  transforms?: string[];
  url?: string;
  value?: string;
  excerpt?: string;
}

export function leak(spec: LeakSpec): Leak {
  const value = spec.value ?? VALUES[spec.kind];
  const made: Leak = {
    id: spec.id ?? `leak-${randomUUID()}`,
    canary: { id: `c-${spec.kind}`, kind: spec.kind, value },
    site: { kind: 'flow', flowId: `flow-${spec.host}`, part: 'body' },
    destination: {
      host: spec.host,
      ip: spec.ip ?? '127.0.0.10',
      port: spec.port ?? 443,
      channel: 'https',
    },
    http: { method: 'POST', url: spec.url ?? `https://${spec.host}/upload` },
    t: spec.t ?? T0,
    transforms: spec.transforms ?? ['tls', 'base64', 'aes-128-cbc', 'json'],
    evidence: { offset: 12, excerpt: spec.excerpt ?? `{"v":"${value}","n":1}`, matched: value },
    confidence: 1,
  };
  if (spec.app !== undefined) made.app = spec.app;
  return made;
}

export function flow(
  host: string,
  options: { t?: number; body?: string; app?: string; ip?: string; port?: number } = {},
): Flow {
  const made: Flow = {
    id: `flow-${host}-${options.t ?? T0}`,
    t: options.t ?? T0,
    protocol: 'https',
    destination: { host, ip: options.ip ?? '127.0.0.10', port: options.port ?? 443 },
    request: {
      method: 'POST',
      url: `https://${host}/upload`,
      httpVersion: 'HTTP/1.1',
      headers: [['Host', host]],
      body: Buffer.from(options.body ?? 'payload').toString('base64'),
    },
    tls: { sni: host, decrypted: true },
  };
  if (options.app !== undefined)
    made.client = { ip: '127.0.0.1', port: 40000, package: options.app };
  return made;
}

export function stages(failed?: string): StageRecord[] {
  return STAGES.map((name, i) => ({
    name,
    startedAt: T0 + i * 1000,
    finishedAt: T0 + i * 1000 + 900,
    status: name === failed ? 'failed' : 'done',
    ...(name === failed ? { note: 'device went away' } : {}),
  }));
}

export function input(
  leaks: Leak[],
  flows: Flow[],
  overrides: Partial<ReportInput> = {},
): ReportInput {
  return {
    run: {
      runId: 'run-1',
      jobId: 'job-1',
      image: {
        name: 'adups-2016',
        sha256: 'a'.repeat(64),
        lineage: 'blu-r1-hd',
        manufacturer: 'BLU',
        model: 'R1 HD',
        androidVersion: '6.0',
        apiLevel: 23,
      },
      startedAt: T0 - 5000,
      finishedAt: T0 + 60_000,
      launcher: 'lab-phone',
    },
    canaries: canarySet('run-1'),
    leaks,
    flows,
    stages: stages(),
    limitations: [],
    ...overrides,
  };
}

export const FOTA = 'com.adups.fota';
export const SYSOPER = 'com.adups.fota.sysoper';
export const BIGDATA = 'bigdata.adups.com';
export const FOTA_HOST = 'fota.adups.com';

/** The adups-2016 run: SMS, contacts, call log, IMEI, IMSI to the big-data host; IMEI in an update check. */
export function adupsLeaks(): Leak[] {
  const kinds: CanaryKind[] = ['sms_body', 'contact_name', 'call_number', 'imei', 'imsi'];
  return [
    ...kinds.map((kind, i) => leak({ kind, host: BIGDATA, app: SYSOPER, t: T0 + 1000 + i })),
    leak({
      kind: 'imei',
      host: FOTA_HOST,
      app: FOTA,
      t: T0 + 500,
      transforms: ['tls', 'form:data'],
    }),
  ];
}

/** The vendor's fix: the big-data upload is gone, the update check still sends the IMEI. */
export function adupsFixedLeaks(): Leak[] {
  return [
    leak({
      kind: 'imei',
      host: FOTA_HOST,
      app: FOTA,
      t: T0 + 700,
      transforms: ['tls', 'form:data'],
    }),
  ];
}

/**
 * A flow the proxy could not read, as the correlator lists it: by default the pinned big-data
 * upload, whose TLS handshake the app broke off.
 */
export function opaqueFlow(
  host: string,
  options: {
    t?: number;
    app?: string;
    ip?: string;
    port?: number;
    protocol?: OpaqueFlowSummary['protocol'];
    reason?: OpaqueReason;
    detail?: string;
    bytes?: number;
    plaintextFromHook?: boolean;
  } = {},
): OpaqueFlowSummary {
  const made: OpaqueFlowSummary = {
    flowId: `opaque-${host}-${options.t ?? T0}`,
    t: options.t ?? T0,
    protocol: options.protocol ?? 'tls',
    host,
    ip: options.ip ?? '127.0.0.10',
    port: options.port ?? 443,
    bytes: options.bytes ?? 517,
    reason: options.reason ?? 'tls-handshake-failed',
    detail: options.detail ?? 'tls-handshake:cert-rejected',
    plaintextFromHook: options.plaintextFromHook ?? false,
  };
  if (options.app !== undefined) made.app = options.app;
  return made;
}
