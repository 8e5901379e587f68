import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import * as mockttp from 'mockttp';
import { labImageSchema, type LabImage } from '../../src/android/lab-image.ts';
import { silentLogger } from '../../src/log.ts';
import { startBehaviours } from '../../src/lab/behaviour/index.ts';
import { deviceHost, ofType, startDnsServer } from '../support/lab-behaviour-test-network.ts';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function loadImage(): Promise<LabImage> {
  return labImageSchema.parse(
    JSON.parse(
      await readFile(new URL('../../images/lab/adups-2016.json', import.meta.url), 'utf8'),
    ),
  );
}

test('adups-2016 behaviours reach the interception proxy by tunnel, TLS and SNI, and only through it', async (t) => {
  const ca = await mockttp.generateCACertificate();
  const proxy = mockttp.getLocal({ https: { key: ca.key, cert: ca.cert } });
  await proxy.start();
  t.after(() => proxy.stop());
  const dns = await startDnsServer();
  t.after(() => dns.close());
  const seen: Seen[] = [];
  await proxy.forAnyRequest().thenCallback(async (request) => {
    seen.push({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: (await request.body.getDecodedBuffer()) ?? Buffer.alloc(0),
    });
    return { statusCode: 200, body: '{"ok":true}' };
  });
  const network = {
    dnsServer: { host: '127.0.0.1', port: dns.port },
    httpProxy: { host: '127.0.0.1', port: proxy.port },
  };
  const image = await loadImage();
  const host = deviceHost(network, [ca.cert]);
  const runtime = startBehaviours(image, host, silentLogger(), { sendTimeoutMs: 10_000 });
  const outcomes = await Promise.all(
    ['bigdata-upload-after-boot', 'update-check', 'command-poll'].map((id) => runtime.runNow(id)),
  );
  await runtime.stop();
  for (const outcome of outcomes) assert.equal(outcome.ok, true, JSON.stringify(outcome));

  // The upload: a form field holding base64 of AES-CBC of the JSON payload.
  const upload = seen.find((s) => s.url === 'https://bigdata.adups.com/bigdata/upload');
  assert.ok(
    upload,
    `the proxy saw the upload; it saw ${seen.map((s) => `${s.method} ${s.url}`).join(', ')}`,
  );
  assert.equal(upload.method, 'POST');
  assert.match(
    String(upload.headers['user-agent']),
    /^Dalvik\/2\.1\.0 \(Linux; U; Android 6\.0; R1 HD Build\/MRA58K\)$/,
  );
  const field = new URLSearchParams(upload.body.toString()).get('data');
  assert.ok(field);
  const aes = image.apps[0]?.behaviours[0]?.encode[0];
  assert.ok(aes?.op === 'aes' && aes.ivHex !== undefined);
  const decipher = createDecipheriv(
    'aes-128-cbc',
    Buffer.from(aes.keyHex, 'hex'),
    Buffer.from(aes.ivHex, 'hex'),
  );
  const json = Buffer.concat([
    decipher.update(Buffer.from(field, 'base64')),
    decipher.final(),
  ]).toString('utf8');
  const payload = JSON.parse(json) as {
    sms: Array<{ body: string }>;
    contacts: Array<{ name: string }>;
    imei: string;
  };
  assert.equal(payload.sms[0]?.body, 'canary body 5e1d meet at noon');
  assert.equal(payload.contacts[0]?.name, 'Birute Canary');
  assert.equal(payload.imei, '356938035643809');

  // The update check: the IMEI in the query string of a GET.
  const check = seen.find((s) => s.url.startsWith('https://fota.adups.com/ota/check?'));
  assert.ok(check);
  assert.equal(check.method, 'GET');
  assert.equal(new URL(check.url).searchParams.get('imei'), '356938035643809');

  // The command poll: gzip bytes as the body (mockttp decodes them by the Content-Encoding header).
  const poll = seen.find((s) => s.url === 'https://rebootv5.adsunflower.com/rs/cmd/poll');
  assert.ok(poll);
  assert.equal((JSON.parse(poll.body.toString()) as { serial: string }).serial, 'LAB7SERIAL');

  // Names went to the test's DNS server, connections to the address it gave.
  assert.deepEqual(
    new Set(dns.names),
    new Set(['bigdata.adups.com', 'fota.adups.com', 'rebootv5.adsunflower.com']),
  );
  const connects = ofType(host.events, 'net.connect');
  assert.deepEqual(
    connects.map((c) => [c.ip, c.port]),
    [
      ['127.0.0.1', 443],
      ['127.0.0.1', 443],
      ['127.0.0.1', 443],
    ],
  );
  const uploadWrite = ofType(host.events, 'tls.write').find((w) => w.host === 'bigdata.adups.com');
  assert.ok(uploadWrite);
  assert.ok(Buffer.from(uploadWrite.data, 'base64').toString().endsWith(upload.body.toString()));
  const gzipEvent = ofType(host.events, 'encode.gzip')[0];
  assert.ok(gzipEvent?.output);
  assert.equal(
    gunzipSync(Buffer.from(gzipEvent.output, 'base64')).toString(),
    poll.body.toString(),
  );
});

test('without the run CA in the device store, TLS fails and the proxy records nothing', async (t) => {
  const ca = await mockttp.generateCACertificate();
  const other = await mockttp.generateCACertificate();
  const proxy = mockttp.getLocal({ https: { key: ca.key, cert: ca.cert } });
  await proxy.start();
  t.after(() => proxy.stop());
  const dns = await startDnsServer();
  t.after(() => dns.close());
  const recorded = await proxy.forAnyRequest().thenReply(200, 'ok');
  const network = {
    dnsServer: { host: '127.0.0.1', port: dns.port },
    httpProxy: { host: '127.0.0.1', port: proxy.port },
  };
  for (const trusted of [[], [other.cert]]) {
    const host = deviceHost(network, trusted);
    const runtime = startBehaviours(await loadImage(), host, silentLogger(), {
      sendTimeoutMs: 10_000,
    });
    const outcome = await runtime.runNow('bigdata-upload-after-boot');
    await runtime.stop();
    assert.equal(outcome.ok, false);
    assert.ok(!outcome.ok && outcome.error.startsWith('lab-tls-failed'), JSON.stringify(outcome));
    assert.equal(ofType(host.events, 'net.connect').length, 1, 'the tunnel was opened');
    assert.equal(
      ofType(host.events, 'tls.write').length + ofType(host.events, 'http.request').length,
      0,
    );
  }
  assert.equal((await recorded.getSeenRequests()).length, 0);
});
