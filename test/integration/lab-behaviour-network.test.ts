import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import * as mockttp from 'mockttp';
import {
  instrumentationEventSchema,
  type EventOf,
  type InstrumentationEvent,
} from '../../src/instrument/events.ts';
import { labImageSchema, type LabImage } from '../../src/lab/image-schema.ts';
import { silentLogger } from '../../src/log.ts';
import {
  startBehaviours,
  type BehaviourHost,
  type ScheduledWork,
  type SmsRecord,
} from '../../src/lab/behaviour/index.ts';

/**
 * A DNS server that answers every A query with 127.0.0.1, like the run's sinkhole, and records
 * the names asked. Just enough of RFC 1035 for one question per message.
 */
async function startDnsServer(): Promise<{
  port: number;
  names: string[];
  close(): Promise<void>;
}> {
  const names: string[] = [];
  const socket: UdpSocket = createSocket('udp4');
  socket.on('message', (query, peer) => {
    let at = 12;
    const labels: string[] = [];
    for (let length = query[at] ?? 0; length > 0; length = query[at] ?? 0) {
      labels.push(query.subarray(at + 1, at + 1 + length).toString('latin1'));
      at += 1 + length;
    }
    const questionEnd = at + 5; // the zero byte, QTYPE, QCLASS
    const qtype = query.readUInt16BE(at + 1);
    names.push(labels.join('.'));
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // ID
    header.writeUInt16BE(0x8180, 2); // response, recursion desired and available, no error
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(qtype === 1 ? 1 : 0, 6);
    const question = query.subarray(12, questionEnd);
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
    socket.send(
      qtype === 1 ? Buffer.concat([header, question, answer]) : Buffer.concat([header, question]),
      peer.port,
      peer.address,
    );
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    names,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** The device side the engine needs, with canary data and the run's network. */
function deviceHost(
  network: ReturnType<BehaviourHost['network']>,
  trusted: string[],
): BehaviourHost & { events: InstrumentationEvent[] } {
  const events: InstrumentationEvent[] = [];
  const sms: SmsRecord[] = [
    {
      box: 'inbox',
      address: '+15555550142',
      body: 'canary body 5e1d meet at noon',
      date: Date.UTC(2016, 9, 8),
    },
  ];
  return {
    events,
    now: () => Date.UTC(2016, 9, 8, 12),
    readSms: () => sms,
    readContacts: () => [
      { name: 'Birute Canary', phones: ['+15555550123'], emails: ['birute@example.org'] },
    ],
    readCallLog: () => [
      { number: '+15555550177', type: 1, date: Date.UTC(2016, 9, 7), duration: 42 },
    ],
    identity: () => ({
      imei: '356938035643809',
      imsi: '001010000012345',
      phoneNumber: '+15555550100',
      serial: 'LAB7SERIAL',
      androidId: 'a1b2c3d4e5f60718',
    }),
    location: () => ({ latitude: 54.69, longitude: 25.28 }),
    properties: () => ({
      'ro.product.model': 'R1 HD',
      'ro.build.version.release': '6.0',
      'ro.build.id': 'MRA58K',
    }),
    setAlarm: (_pkg: string, _tag: string, _at: number, _repeat: number, _work: ScheduledWork) =>
      undefined,
    scheduleJob: (
      _pkg: string,
      _id: number,
      _service: string,
      _period: number,
      _work: ScheduledWork,
    ) => undefined,
    onSmsReceived: () => undefined,
    emit: (event) => events.push(instrumentationEventSchema.parse(event)),
    network: () => network,
    trustedCaCertificates: async () => trusted,
    pidOf: () => 1234,
  };
}

function ofType<T extends InstrumentationEvent['type']>(
  events: InstrumentationEvent[],
  type: T,
): Array<EventOf<T>> {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

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
