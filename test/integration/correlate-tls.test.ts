import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Flow } from '../../src/capture/flow.ts';
import type { CanarySet } from '../../src/canary/types.ts';
import {
  correlate,
  parseKeyLog,
  readPcap,
  type CorrelationResult,
} from '../../src/correlate/index.ts';
import { makeCanarySet } from '../fixtures/correlate/canaries.ts';
import {
  captureLoopback,
  selfSignedCert,
  startTlsServer,
  tcpProbe,
  tlsRequest,
  type RunningTlsServer,
  type TlsServerSpec,
} from '../fixtures/correlate/tls-capture.ts';

const SNI = 'telemetry.adups.example';
const SPECS: TlsServerSpec[] = [
  {
    name: 'TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256',
    version: 'TLSv1.2',
    ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
  },
  {
    name: 'TLS 1.3 TLS_AES_128_GCM_SHA256',
    version: 'TLSv1.3',
    ciphersuites: 'TLS_AES_128_GCM_SHA256',
  },
  {
    name: 'TLS 1.3 TLS_CHACHA20_POLY1305_SHA256',
    version: 'TLSv1.3',
    ciphersuites: 'TLS_CHACHA20_POLY1305_SHA256',
  },
  // The SHA-384 key schedules and the TLS 1.2 ChaCha20 nonce are different code paths.
  {
    name: 'TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384',
    version: 'TLSv1.2',
    ciphers: 'ECDHE-RSA-AES256-GCM-SHA384',
  },
  {
    name: 'TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305',
    version: 'TLSv1.2',
    ciphers: 'ECDHE-RSA-CHACHA20-POLY1305',
  },
  {
    name: 'TLS 1.3 TLS_AES_256_GCM_SHA384',
    version: 'TLSv1.3',
    ciphersuites: 'TLS_AES_256_GCM_SHA384',
  },
];

interface Fixture {
  dir: string;
  pcap: string;
  keylogPath: string;
  keylog: string;
  canaries: CanarySet;
  servers: RunningTlsServer[];
}

let fixture: Fixture | undefined;
let unavailable = '';

async function tool(command: string, args: string[]): Promise<boolean> {
  try {
    await execa(command, args, { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

function imeiOf(set: CanarySet): string {
  return set.canaries.find((c) => c.kind === 'imei')!.value;
}

before(async () => {
  const tools = [
    tool('tshark', ['--version']),
    tool('dumpcap', ['--version']),
    tool('openssl', ['version']),
  ];
  if (!(await Promise.all(tools)).every(Boolean)) {
    unavailable = 'tshark/dumpcap or openssl is not installed: no real TLS capture can be made';
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'ct-correlate-tls-'));
  const canaries = makeCanarySet();
  const credentials = await selfSignedCert(dir, SNI);
  const servers = await Promise.all(SPECS.map((spec) => startTlsServer(spec, credentials)));
  const pcap = join(dir, 'tls.pcapng');
  let capture;
  try {
    capture = await captureLoopback(
      pcap,
      servers.map((s) => s.port),
      () => tcpProbe(servers[0]!.port),
    );
  } catch (error) {
    unavailable = `dumpcap cannot capture on lo here: ${String(error)}`;
    for (const s of servers) s.server.close();
    await rm(dir, { recursive: true, force: true });
    return;
  }
  const lines: string[] = [];
  const body = JSON.stringify({ device: { imei: imeiOf(canaries) }, v: 3 });
  for (const s of servers) {
    const request = Buffer.from(
      `POST /v1/collect HTTP/1.1\r\nHost: ${SNI}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    const { keylog, response } = await tlsRequest(s.port, SNI, request);
    assert.match(response, /^HTTP\/1\.1 200 OK/);
    lines.push(...keylog);
  }
  await capture.stop();
  const keylogPath = join(dir, 'keylog.txt');
  const keylog = `${lines.join('\n')}\n`;
  await writeFile(keylogPath, keylog);
  fixture = { dir, pcap, keylogPath, keylog, canaries, servers };
});

after(async () => {
  if (!fixture) return;
  for (const s of fixture.servers) s.server.close();
  await rm(fixture.dir, { recursive: true, force: true });
});

function flowOn(flows: Flow[], port: number): Flow {
  const flow = flows.find((f) => f.destination.port === port);
  assert.ok(flow, `a flow to port ${port} was read from the capture`);
  return flow;
}

for (const [index, spec] of SPECS.entries()) {
  test(`${spec.name}: decrypted with the key log, the canary in the HTTP body is found through TLS`, async (t) => {
    if (!fixture) return t.skip(unavailable);
    const server = fixture.servers[index]!;
    const { keys } = parseKeyLog(fixture.keylogPath, fixture.keylog);
    const { flows, warnings } = await readPcap(fixture.pcap, { keyLog: keys });
    // Every record of both directions authenticates: nothing to warn about anywhere.
    assert.deepEqual(warnings, []);
    const flow = flowOn(flows, server.port);
    assert.equal(flow.protocol, 'https');
    assert.deepEqual(flow.tls, { sni: SNI, decrypted: true });
    assert.equal(flow.request?.method, 'POST');
    assert.equal(flow.request?.url, '/v1/collect');
    assert.equal(flow.response?.status, 200);

    const result = correlate({ canaries: fixture.canaries, flows, events: [] });
    const imei = imeiOf(fixture.canaries);
    const leak = result.leaks.find(
      (l) => l.site.kind === 'flow' && l.site.flowId === flow.id && l.canary.value === imei,
    );
    assert.ok(
      leak,
      `the IMEI is found in the decrypted flow; leaks: ${JSON.stringify(result.leaks.map((l) => [l.canary.kind, l.transforms]))}`,
    );
    assert.equal(leak.transforms[0], 'tls');
    assert.equal(leak.destination.host, SNI);
    assert.equal(result.opaque.filter((o) => o.flowId === flow.id).length, 0);
  });
}

test('without the key log the TLS flows are opaque, named by SNI, and nothing leaks from them', async (t) => {
  if (!fixture) return t.skip(unavailable);
  const { flows } = await readPcap(fixture.pcap);
  const result = correlate({ canaries: fixture.canaries, flows, events: [] });
  for (const server of fixture.servers) {
    const flow = flowOn(flows, server.port);
    assert.equal(flow.protocol, 'tls');
    assert.deepEqual(flow.tls, { sni: SNI, decrypted: false });
    const opaque = result.opaque.find((o) => o.flowId === flow.id);
    assert.ok(opaque, 'the flow is listed as opaque');
    assert.equal(opaque.host, SNI);
    assert.equal(opaque.port, server.port);
  }
  assert.deepEqual(
    result.leaks.filter((l) => l.site.kind === 'flow'),
    [],
  );
});

test('a key log without the session leaves the flow opaque with a warning naming the client random', async (t) => {
  if (!fixture) return t.skip(unavailable);
  const foreign = `CLIENT_RANDOM ${'ab'.repeat(32)} ${'cd'.repeat(48)}\n`;
  const { keys } = parseKeyLog('foreign.txt', foreign);
  const { flows, warnings } = await readPcap(fixture.pcap, { keyLog: keys });
  for (const server of fixture.servers)
    assert.equal(flowOn(flows, server.port).tls?.decrypted, false);
  assert.equal(
    warnings.filter((w) => /no key log entry for client random [0-9a-f]{64}/.test(w)).length,
    SPECS.length,
  );
});

test('tshark decrypts the same capture with the same key log', async (t) => {
  if (!fixture) return t.skip(unavailable);
  const run = await execa(
    'tshark',
    [
      '-r',
      fixture.pcap,
      '-o',
      `tls.keylog_file:${fixture.keylogPath}`,
      '-Y',
      'http.request',
      '-T',
      'fields',
      '-e',
      'tcp.dstport',
      '-e',
      'http.request.uri',
    ],
    { timeout: 60_000 },
  );
  const seen = run.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t'));
  for (const server of fixture.servers)
    assert.ok(
      seen.some(([port, uri]) => Number(port) === server.port && uri === '/v1/collect'),
      `tshark sees the request to ${server.port}: ${run.stdout}`,
    );
});

test('canarytrap correlate --keylog reports the leaks inside TLS', async (t) => {
  if (!fixture) return t.skip(unavailable);
  const setPath = join(fixture.dir, 'set.json');
  const outPath = join(fixture.dir, 'out.json');
  await writeFile(setPath, JSON.stringify(fixture.canaries));
  const cli = join(import.meta.dirname, '../../bin/canarytrap.js');
  const run = await execa(
    'node',
    [
      cli,
      'correlate',
      '--canaries',
      setPath,
      '--pcap',
      fixture.pcap,
      '--keylog',
      fixture.keylogPath,
      '--json',
      outPath,
    ],
    { timeout: 60_000, reject: false },
  );
  assert.equal(run.exitCode, 0, run.stderr);
  const imei = imeiOf(fixture.canaries);
  const lines = run.stdout.split('\n').filter((l) => l.startsWith(`imei ${imei} → ${SNI}:`));
  assert.equal(lines.length, SPECS.length, run.stdout);
  for (const line of lines) assert.match(line, / via tls → http-body/);
  assert.match(run.stdout, new RegExp(`\n${SPECS.length} leaks, 0 opaque flows$`));
  const out = JSON.parse(await readFile(outPath, 'utf8')) as CorrelationResult;
  assert.equal(
    out.leaks.filter((l) => l.canary.value === imei && l.transforms[0] === 'tls').length,
    SPECS.length,
  );
});

test('TLS 1.3 is decrypted from the traffic secrets alone, without the handshake secrets', async (t) => {
  if (!fixture) return t.skip(unavailable);
  const trafficOnly = fixture.keylog
    .split('\n')
    .filter((line) => !line.includes('HANDSHAKE_TRAFFIC_SECRET'))
    .join('\n');
  assert.ok(trafficOnly.includes('CLIENT_TRAFFIC_SECRET_0'));
  const { keys } = parseKeyLog('traffic-only.log', trafficOnly);
  const { flows, warnings } = await readPcap(fixture.pcap, { keyLog: keys });
  assert.deepEqual(warnings, []);
  for (const [index, spec] of SPECS.entries()) {
    const flow = flowOn(flows, fixture.servers[index]!.port);
    assert.equal(flow.tls?.decrypted, true, spec.name);
    assert.equal(flow.request?.url, '/v1/collect', spec.name);
  }
});

test('a key log with wrong secrets leaves the flows opaque and says the records do not authenticate', async (t) => {
  if (!fixture) return t.skip(unavailable);
  const wrong = fixture.keylog.replaceAll(
    / [0-9a-f]+$/gm,
    (secret) => ` ${'0'.repeat(secret.length - 1)}`,
  );
  const { keys } = parseKeyLog('wrong.log', wrong);
  const { flows, warnings } = await readPcap(fixture.pcap, { keyLog: keys });
  for (const server of fixture.servers)
    assert.equal(flowOn(flows, server.port).tls?.decrypted, false);
  const failures = warnings.filter((w) =>
    /client→server record \d+ .*does not authenticate/.test(w),
  );
  assert.equal(failures.length, SPECS.length, warnings.join('\n'));
});
