import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { flowsToHar, type Flow } from '../../src/capture/index.ts';

const require = createRequire(import.meta.url);
const harValidator = require('har-validator') as { har(data: unknown): Promise<unknown> };

const gzipped = gzipSync(Buffer.from('{"sms":"Meet at 5"}'));
const flows: Flow[] = [
  {
    id: 'f1',
    t: Date.UTC(2024, 0, 2, 3, 4, 5),
    protocol: 'https',
    destination: { host: 'bigdata.adups.com', ip: '198.18.0.1', port: 443 },
    client: { ip: '127.0.0.1', port: 40000 },
    request: {
      method: 'POST',
      url: 'https://bigdata.adups.com/upload?imei=490154203237518&v=2',
      httpVersion: '1.1',
      headers: [
        ['Content-Type', 'application/octet-stream'],
        ['Content-Encoding', 'gzip'],
        ['Cookie', 'sid=abc; lang=en'],
      ],
      body: gzipped.toString('base64'),
    },
    response: {
      status: 200,
      headers: [
        ['content-type', 'application/json'],
        ['Set-Cookie', 'sid=def; Path=/'],
      ],
      body: Buffer.from('{"status":"ok"}').toString('base64'),
    },
    tls: { sni: 'bigdata.adups.com', decrypted: true },
  },
  {
    id: 'f2',
    t: Date.UTC(2024, 0, 2, 3, 4, 6),
    protocol: 'http',
    destination: { host: 'rebootv5.adsunflower.com', ip: '198.18.0.2', port: 80 },
    request: {
      method: 'POST',
      url: 'http://rebootv5.adsunflower.com/cmd',
      httpVersion: '1.1',
      headers: [['Content-Type', 'application/x-www-form-urlencoded']],
      body: Buffer.from('imsi=001010123456789').toString('base64'),
    },
  },
  {
    id: 'f3',
    t: Date.UTC(2024, 0, 2, 3, 4, 7),
    protocol: 'tls',
    destination: { host: 'pinned.example.org', ip: '198.18.0.3', port: 443 },
    tls: { sni: 'pinned.example.org', decrypted: false },
    error: 'tls-handshake:cert-rejected',
  },
];

void test('flowsToHar writes valid HAR 1.2 with every HTTP flow and none of the others', async () => {
  const har = flowsToHar(flows);
  await harValidator.har(har);
  assert.equal(har.log.version, '1.2');
  assert.equal(har.log.creator.name, 'canarytrap');
  assert.deepEqual(
    har.log.entries.map((e) => e.request.url),
    [
      'https://bigdata.adups.com/upload?imei=490154203237518&v=2',
      'http://rebootv5.adsunflower.com/cmd',
    ],
  );
});

void test('binary bodies survive as base64, text bodies stay text, and request details are kept', () => {
  const [upload, command] = flowsToHar(flows).log.entries;
  assert.ok(upload && command);
  assert.equal(upload.startedDateTime, '2024-01-02T03:04:05.000Z');
  assert.equal(upload.serverIPAddress, '198.18.0.1');
  assert.equal(upload.request.httpVersion, 'HTTP/1.1');
  assert.equal(upload.request.bodySize, gzipped.length);
  const postData = upload.request.postData as { mimeType: string; text: string; encoding?: string };
  assert.equal(postData.encoding, 'base64');
  assert.ok(Buffer.from(postData.text, 'base64').equals(gzipped));
  assert.deepEqual(upload.request.queryString, [
    { name: 'imei', value: '490154203237518' },
    { name: 'v', value: '2' },
  ]);
  assert.deepEqual(upload.request.cookies, [
    { name: 'sid', value: 'abc' },
    { name: 'lang', value: 'en' },
  ]);
  assert.deepEqual(upload.request.headers[1], { name: 'Content-Encoding', value: 'gzip' });
  assert.equal(upload.response.status, 200);
  assert.equal(upload.response.statusText, 'OK');
  assert.equal(upload.response.content.text, '{"status":"ok"}');
  assert.equal(upload.response.content.mimeType, 'application/json');
  assert.deepEqual(upload.response.cookies, [{ name: 'sid', value: 'def' }]);

  assert.deepEqual(command.request.postData, {
    mimeType: 'application/x-www-form-urlencoded',
    text: 'imsi=001010123456789',
  });
  assert.equal(command.response.status, 0, 'a request that got no answer shows status 0');
});
