import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import type { Flow } from '../../src/capture/flow.ts';
import type { InstrumentationEvent } from '../../src/android/instrumentation-events.ts';
import { correlate, type Leak } from '../../src/correlate/index.ts';
import { makeCanarySet } from '../fixtures/correlate/canaries.ts';

const base = { source: 'lab' as const, pid: 812 };

test('a lab adups upload: chain from the wire inward, app from the hook, one leak per canary', () => {
  const set = makeCanarySet();
  const value = (kind: string): string => set.canaries.find((c) => c.kind === kind)!.value;
  const key = Buffer.from('61647570735f626967646174615f6b31', 'hex');
  const iv = Buffer.from('30313032303330343035303630373038', 'hex');
  const plain = Buffer.from(
    JSON.stringify({
      imei: value('imei'),
      imsi: value('imsi'),
      sms: [{ body: value('sms_body') }],
      ver: '5.1.0.0.1',
    }),
  );
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  const body = `data=${encodeURIComponent(encrypted.toString('base64'))}&chan=blu_r1hd`;
  const events: InstrumentationEvent[] = [
    {
      ...base,
      t: 5_000,
      package: 'com.adups.fota.sysoper',
      type: 'source.read',
      from: 'TelephonyManager.getImei',
      value: value('imei'),
    },
    {
      ...base,
      t: 5_010,
      package: 'com.adups.fota.sysoper',
      type: 'crypto.cipher',
      algorithm: 'AES/CBC/PKCS5Padding',
      direction: 'encrypt',
      key: key.toString('base64'),
      iv: iv.toString('base64'),
      input: plain.toString('base64'),
      output: encrypted.toString('base64'),
    },
    {
      ...base,
      t: 5_011,
      package: 'com.adups.fota.sysoper',
      type: 'encode.base64',
      direction: 'encode',
      input: encrypted.toString('base64'),
      output: Buffer.from(encrypted.toString('base64')).toString('base64'),
    },
    {
      ...base,
      t: 5_012,
      package: 'com.adups.fota',
      type: 'net.connect',
      host: 'fota.adups.com',
      ip: '127.0.0.1',
      port: 8443,
    },
    {
      ...base,
      t: 5_020,
      package: 'com.adups.fota.sysoper',
      type: 'http.request',
      method: 'POST',
      url: 'https://bigdata.adups.com/bigdata/upload',
      body: Buffer.from(body).toString('base64'),
    },
  ];
  const flow: Flow = {
    id: 'flow-1',
    t: 9_999_000,
    protocol: 'https',
    destination: { host: 'bigdata.adups.com', ip: '127.0.0.1', port: 8443 },
    request: {
      method: 'POST',
      url: '/bigdata/upload',
      httpVersion: 'HTTP/1.1',
      headers: [
        ['Host', 'bigdata.adups.com'],
        ['Content-Type', 'application/x-www-form-urlencoded'],
      ],
      body: Buffer.from(body).toString('base64'),
    },
    tls: { sni: 'bigdata.adups.com', decrypted: true },
  };
  const live: Leak[] = [];
  const result = correlate(
    { canaries: set, flows: [flow], events },
    { onLeak: (l) => live.push(l) },
  );
  assert.deepEqual(result.leaks.map((l) => l.canary.kind).sort(), ['imei', 'imsi', 'sms_body']);
  for (const leak of result.leaks) {
    assert.deepEqual(leak.transforms, [
      'tls',
      'http-body',
      'form:data',
      'base64',
      'aes-128-cbc',
      'json',
    ]);
    assert.equal(leak.app, 'com.adups.fota.sysoper');
    assert.deepEqual(leak.eventIndexes, [4]);
    assert.deepEqual(leak.destination, {
      host: 'bigdata.adups.com',
      ip: '127.0.0.1',
      port: 8443,
      channel: 'https',
    });
    assert.deepEqual(leak.http, {
      method: 'POST',
      url: 'https://bigdata.adups.com:8443/bigdata/upload',
    });
    assert.equal(leak.confidence, 1);
    assert.ok(leak.evidence.excerpt.includes(leak.evidence.matched));
  }
  assert.equal(live.length, result.leaks.length);
});

test('opaque TLS is summarised; the plaintext a hook saw written into it is searched; SMS and DNS events too', () => {
  const set = makeCanarySet();
  const imei = set.canaries.find((c) => c.kind === 'imei')!;
  const phone = set.canaries.find((c) => c.kind === 'phone_number')!;
  const flows: Flow[] = [
    {
      id: 'tls-1',
      t: 1,
      protocol: 'tls',
      destination: { ip: '127.0.0.1', port: 443 },
      tls: { sni: 'rebootv5.adsunflower.com', decrypted: false },
      raw: Buffer.from('\x16\x03\x01 opaque').toString('base64'),
    },
  ];
  const json = `{"imei":"${imei.value}"}`;
  const request = `POST /rs/cmd/poll HTTP/1.1\r\nHost: rebootv5.adsunflower.com\r\nContent-Length: ${json.length}\r\n\r\n${json}`;
  const events: InstrumentationEvent[] = [
    {
      ...base,
      t: 2,
      package: 'com.adups.fota',
      type: 'tls.write',
      host: 'rebootv5.adsunflower.com',
      data: Buffer.from(request).toString('base64'),
    },
    {
      ...base,
      t: 3,
      package: 'com.adups.fota.sysoper',
      type: 'sms.send',
      destination: '+15555550100',
      body: `REG ${phone.value}`,
    },
    {
      ...base,
      t: 4,
      package: 'com.android.browser',
      type: 'dns.query',
      name: `${Buffer.from(imei.value).toString('hex')}.t.example.com`,
    },
  ];
  const result = correlate({ canaries: set, flows, events });
  assert.deepEqual(result.opaque, [
    {
      flowId: 'tls-1',
      t: 1,
      protocol: 'tls',
      host: 'rebootv5.adsunflower.com',
      ip: '127.0.0.1',
      port: 443,
      bytes: Buffer.byteLength('\x16\x03\x01 opaque'),
      reason: 'tls-not-decrypted',
      app: 'com.adups.fota',
      plaintextFromHook: true,
    },
  ]);
  const summary = result.leaks.map((l) => [
    l.canary.kind,
    l.site.kind === 'event' ? l.site.eventType : 'flow',
    l.app,
    l.destination.channel,
    l.transforms.join('>'),
  ]);
  assert.deepEqual(summary, [
    ['imei', 'tls.write', 'com.adups.fota', 'tls', 'tls>http-body>json'],
    ['phone_number', 'sms.send', 'com.adups.fota.sysoper', 'sms', 'sms'],
    ['imei', 'dns.query', 'com.android.browser', 'dns', 'dns>hex'],
  ]);
});

test('differential runs: bytes that change only where a canary changed are a probable leak, with lower confidence', () => {
  const current = makeCanarySet();
  const previous = makeCanarySet();
  // The earlier run's SMS shares no prefix or suffix with this run's, as two fresh values usually do.
  const sms = previous.canaries.find((c) => c.kind === 'sms_body')!;
  sms.value = `zz ${current.canaries
    .find((c) => c.kind === 'sms_body')!
    .value.split('')
    .reverse()
    .join('')} zz`;
  const xor = (text: string): string =>
    Buffer.from(Buffer.from(text).map((b) => b ^ 0x5a)).toString('hex');
  const flowOf = (id: string, set: typeof current, t: number): Flow => {
    const sms = set.canaries.find((c) => c.kind === 'sms_body')!.value;
    return {
      id,
      t,
      protocol: 'http',
      destination: { host: 'cfg.example.net', ip: '127.0.0.1', port: 80 },
      request: {
        method: 'POST',
        url: '/cfg',
        httpVersion: 'HTTP/1.1',
        headers: [],
        body: Buffer.from(
          `{"build":"R1_HD-6.0-20161008","token":"${xor(sms)}","model":"R1 HD","features":["fota","sysoper","push","stats"],"channel":"blu_r1hd","locale":"en_US","tz":"America/New_York"}`,
        ).toString('base64'),
      },
    };
  };
  const stable: Flow = {
    id: 'same',
    t: 5,
    protocol: 'http',
    destination: { host: 'time.example.net', ip: '127.0.0.1', port: 80 },
    request: { method: 'GET', url: '/now', httpVersion: 'HTTP/1.1', headers: [], body: '' },
  };
  const result = correlate({
    canaries: current,
    flows: [flowOf('now', current, 1), stable],
    events: [],
    baseline: {
      canaries: previous,
      flows: [flowOf('before', previous, 1), { ...stable, id: 'same-before' }],
    },
  });
  assert.equal(result.leaks.length, 1, JSON.stringify(result.leaks));
  const leak = result.leaks[0]!;
  assert.equal(leak.canary.kind, 'sms_body');
  assert.equal(leak.confidence < 1, true);
  assert.deepEqual(leak.transforms, ['http-body', 'unknown-transform']);
  assert.equal(leak.variant, 'differential');
});
