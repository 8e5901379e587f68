import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { pino } from 'pino';
import { FakeIpNames } from '../../src/capture/fake-ip-names.ts';
import type { Flow } from '../../src/capture/flow.ts';
import { InterceptionProxy } from '../../src/capture/proxy.ts';
import { createRunCa } from '../../src/capture/run-ca.ts';

void test('the interception server serves and records only connections the front handed over', async (t) => {
  const runDir = await mkdtemp(join(tmpdir(), 'capture-guard-'));
  t.after(() => rm(runDir, { recursive: true, force: true }));
  const lines: string[] = [];
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const ca = await createRunCa(runDir, 'guard-test');
  const flows: Flow[] = [];
  const proxy = await InterceptionProxy.start({
    host: '127.0.0.1',
    mode: { kind: 'proxy' },
    ca,
    responders: [],
    names: new FakeIpNames(),
    logger,
    onFlow: (flow) => flows.push(flow),
  });
  t.after(() => proxy.stop());

  await t.test('through the front: answered and recorded', async () => {
    const answer = await exchange(proxy.address.port, '127.0.0.1');
    assert.match(answer, /^HTTP\/1\.1 200/);
    await until(() => flows.length === 1);
    assert.equal(flows[0]?.request?.url, 'http://bigdata.adups.com/upload');
  });

  for (const source of ['127.0.0.1', '127.0.0.2']) {
    await t.test(
      `straight to the backend from ${source}: cut unanswered, not recorded`,
      async () => {
        const before = lines.length;
        const answer = await exchange(proxy.backendPort, source);
        assert.equal(answer, '', 'not a byte comes back');
        await delay(200);
        assert.equal(flows.length, 1, 'no flow for a stranger');
        const refused = lines
          .slice(before)
          .filter((l) => l.includes('did not come through the front'));
        assert.equal(refused.length, 1, lines.slice(before).join(''));
      },
    );
  }

  await t.test('a stranger gets no TLS handshake with the run CA either', async () => {
    const socket = netConnect({ port: proxy.backendPort, host: '127.0.0.1' });
    const outcome = await new Promise<string>((resolve) => {
      const tls = tlsConnect({ socket, servername: 'bigdata.adups.com', ca: ca.certificatePem });
      tls.once('secureConnect', () => resolve('handshake'));
      tls.once('error', (error: Error) => resolve(error.message));
    });
    assert.notEqual(outcome, 'handshake');
    await delay(200);
    assert.equal(flows.length, 1);
  });
});

/** Sends one proxy-style request from `source` and returns everything the server sent back. */
function exchange(port: number, source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1', localAddress: source });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      if (Buffer.concat(received).includes('{"status":"ok"}')) socket.end();
    });
    socket.once('connect', () =>
      socket.write(
        'GET http://bigdata.adups.com/upload HTTP/1.1\r\nHost: bigdata.adups.com\r\n\r\n',
      ),
    );
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
      reject(error);
    });
    socket.once('close', () => resolve(Buffer.concat(received).toString()));
  });
}

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(20);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
