import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { classifyOpening } from '../../src/capture/opening.ts';
import { parseConnectTarget } from '../../src/capture/connect-head.ts';
import { explainResponder, subjectHashOld } from '../../src/capture/index.ts';
import { pickResponder } from '../../src/capture/responders.ts';
import { readClientHelloSni } from '../../src/capture/tls-client-hello.ts';

/** The first bytes node's own TLS client sends, caught by a server that never answers. */
async function realClientHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  const hello = new Promise<Buffer>((resolve) =>
    server.once('connection', (socket) =>
      socket.once('data', (chunk: Buffer) => {
        resolve(chunk);
        socket.destroy();
      }),
    ),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  const client = tlsConnect({
    host: '127.0.0.1',
    port: address.port,
    ...(servername ? { servername } : {}),
  });
  client.on('error', () => undefined);
  try {
    return await hello;
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

void test('SNI is read from a real ClientHello, and absent when none was sent', async () => {
  const hello = await realClientHello('bigdata.adups.com');
  assert.equal(classifyOpening(hello), 'tls');
  assert.equal(readClientHelloSni(hello), 'bigdata.adups.com');
  assert.equal(readClientHelloSni(await realClientHello(undefined)), undefined);
  assert.equal(
    readClientHelloSni(hello.subarray(0, 40)),
    undefined,
    'a truncated hello gives no name',
  );
});

void test('openings: TLS, HTTP and the rest, waiting while undecided', () => {
  assert.equal(classifyOpening(Buffer.from('GET / HTTP/1.1\r\n')), 'http');
  assert.equal(classifyOpening(Buffer.from('PRI * HTTP/2.0\r\n')), 'http');
  assert.equal(classifyOpening(Buffer.from('POS')), 'undecided');
  assert.equal(classifyOpening(Buffer.from([0x16])), 'undecided');
  assert.equal(classifyOpening(Buffer.from([0x16, 0x00, 0x01])), 'raw');
  assert.equal(classifyOpening(Buffer.from([0x00, 0x01, 0x02])), 'raw');
  assert.equal(
    classifyOpening(Buffer.from('EHLO mail\r\n')),
    'http',
    'method-shaped words go to HTTP parsing',
  );
  assert.equal(classifyOpening(Buffer.from('hello there')), 'raw');
});

void test('CONNECT targets: IPv4, names, bracketed IPv6, and junk', () => {
  assert.deepEqual(parseConnectTarget('CONNECT 198.18.0.5:443 HTTP/1.1\r\nHost: x'), {
    host: '198.18.0.5',
    port: 443,
  });
  assert.deepEqual(parseConnectTarget('CONNECT bigdata.adups.com:8443 HTTP/1.1'), {
    host: 'bigdata.adups.com',
    port: 8443,
  });
  assert.deepEqual(parseConnectTarget('CONNECT [::1]:443 HTTP/1.1'), { host: '::1', port: 443 });
  assert.equal(parseConnectTarget('CONNECT nowhere HTTP/1.1'), undefined);
  assert.equal(parseConnectTarget('CONNECT host:99999 HTTP/1.1'), undefined);
});

void test('responders match host case-insensitively, by wildcard and path prefix, else the default', () => {
  const responders = [
    { host: 'rebootv5.adsunflower.com', pathPrefix: '/cmd', status: 202, body: 'reboot' },
    { host: '*.sensorsdata.cn', status: 204, body: '' },
  ];
  assert.equal(pickResponder(responders, 'RebootV5.adsunflower.com', '/cmd/1').status, 202);
  assert.equal(
    pickResponder(responders, 'rebootv5.adsunflower.com', '/status').body,
    '{"status":"ok"}',
  );
  assert.equal(pickResponder(responders, 'sa.sensorsdata.cn', '/sa').status, 204);
  assert.equal(pickResponder(responders, 'sensorsdata.cn.evil.org', '/sa').status, 200);
  assert.equal(
    explainResponder(responders[0] ?? { host: '', status: 0, body: '' }),
    'answers requests to rebootv5.adsunflower.com/cmd* with 202 (6 bytes)',
  );
});

void test('subjectHashOld refuses what is not a certificate', () => {
  assert.throws(() => subjectHashOld('not a pem'), { code: 'certificate-unreadable' });
});
