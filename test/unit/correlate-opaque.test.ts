import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InstrumentationEvent } from '../../src/android/instrumentation-events.ts';
import type { Flow } from '../../src/capture/flow.ts';
import { correlate, listOpaqueFlows, opaqueReason } from '../../src/correlate/index.ts';
import { makeCanarySet } from '../fixtures/correlate/canaries.ts';

const hello = Buffer.from('\x16\x03\x01\x02\x00 client hello').toString('base64');

/** One flow of each kind capture produces, keyed by what it is. */
const FLOWS: Record<string, Flow> = {
  pinned: {
    id: 'pinned',
    t: 30,
    protocol: 'tls',
    destination: { host: 'bigdata.adups.com', ip: '198.51.100.7', port: 443 },
    tls: { sni: 'bigdata.adups.com', decrypted: false },
    error: 'tls-handshake:cert-rejected',
    raw: hello,
  },
  keyless: {
    id: 'keyless',
    t: 10,
    protocol: 'tls',
    destination: { ip: '198.51.100.8', port: 443 },
    tls: { decrypted: false },
    raw: hello,
  },
  notHttpInTls: {
    id: 'not-http',
    t: 20,
    protocol: 'tls',
    destination: { host: 'push.adsunflower.com', ip: '198.51.100.9', port: 443 },
    tls: { sni: 'push.adsunflower.com', decrypted: true },
    error: 'client-error:HPE_INVALID_METHOD',
  },
  reset: {
    id: 'reset',
    t: 40,
    protocol: 'tcp',
    destination: { ip: '198.51.100.10', port: 80 },
    error: 'client-error:ECONNRESET',
    raw: Buffer.from('POST /x HTTP/1.1\r\n').toString('base64'),
  },
  raw: {
    id: 'raw',
    t: 50,
    protocol: 'tcp',
    destination: { ip: '198.51.100.11', port: 7000 },
    raw: Buffer.from('\x00\x01binary').toString('base64'),
  },
  https: {
    id: 'https',
    t: 60,
    protocol: 'https',
    destination: { host: 'fota.adups.com', ip: '198.51.100.12', port: 443 },
    request: { method: 'GET', url: '/ota/check', httpVersion: '1.1', headers: [], body: '' },
    tls: { sni: 'fota.adups.com', decrypted: true },
  },
};

void test('why a flow is opaque: a broken handshake, TLS without keys, bytes that were not HTTP', () => {
  const reasons = Object.fromEntries(
    Object.entries(FLOWS).map(([name, flow]) => [name, opaqueReason(flow)]),
  );
  assert.deepEqual(reasons, {
    pinned: { reason: 'tls-handshake-failed', detail: 'tls-handshake:cert-rejected' },
    keyless: { reason: 'tls-not-decrypted' },
    notHttpInTls: { reason: 'unknown-protocol', detail: 'client-error:HPE_INVALID_METHOD' },
    // Read: a reset the client made, raw bytes kept whole and searched, parsed HTTP.
    reset: undefined,
    raw: undefined,
    https: undefined,
  });
});

void test('opaque flows are attributed to the app that connected, with bytes and reason', () => {
  const events: InstrumentationEvent[] = [
    {
      source: 'lab',
      pid: 812,
      t: 29,
      package: 'com.adups.fota.sysoper',
      type: 'net.connect',
      host: 'bigdata.adups.com',
      ip: '198.51.100.7',
      port: 443,
    },
  ];
  const flows = Object.values(FLOWS);
  const result = correlate({ canaries: makeCanarySet(), flows, events });
  assert.deepEqual(
    result.opaque.map((o) => o.flowId),
    ['pinned', 'keyless', 'not-http'],
  );
  assert.deepEqual(result.opaque[0], {
    flowId: 'pinned',
    t: 30,
    protocol: 'tls',
    host: 'bigdata.adups.com',
    ip: '198.51.100.7',
    port: 443,
    bytes: Buffer.byteLength(hello, 'base64'),
    reason: 'tls-handshake-failed',
    detail: 'tls-handshake:cert-rejected',
    app: 'com.adups.fota.sysoper',
    plaintextFromHook: false,
  });
  // The report stage lists the same flows without searching again.
  assert.deepEqual(listOpaqueFlows(flows, events), result.opaque);
});
