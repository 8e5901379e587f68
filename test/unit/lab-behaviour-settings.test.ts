import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../src/log.ts';
import { startBehaviours } from '../../src/lab/behaviour/index.ts';
import { FakeHost, image, smsBehaviour } from '../support/lab-behaviour-fake-host.ts';

const CONSENT = { namespace: 'secure', key: 'xiaomi_experience_program', equals: '1' } as const;

function gated(id: string, trigger: unknown): unknown {
  return { ...(smsBehaviour(id, ['imei']) as object), trigger, when: { setting: CONSENT } };
}

test('a behaviour with `when` sends only while its setting holds, and logs each held-back firing', async () => {
  const host = new FakeHost();
  const runtime = startBehaviours(
    image([gated('analytics', { on: 'alarm', everyHours: 6 })]),
    host,
    silentLogger(),
  );
  const [alarm] = host.alarms;
  assert.ok(alarm, 'the alarm is set whatever the consent: the app checks it when it fires');

  await alarm.work.run();
  assert.deepEqual(host.ofType('sms.send'), [], 'unset: nothing sent');
  host.putSetting('secure', 'xiaomi_experience_program', '0');
  await alarm.work.run();
  assert.deepEqual(host.ofType('sms.send'), [], 'refused: nothing sent');

  const skips = host.ofType('behaviour.skip');
  assert.equal(skips.length, 2);
  assert.deepEqual(
    skips.map((s) => [s.behaviour, s.trigger, s.setting?.value, s.package, s.source]),
    [
      ['analytics', 'alarm', undefined, 'com.example.leaky', 'lab'],
      ['analytics', 'alarm', '0', 'com.example.leaky', 'lab'],
    ],
  );
  assert.equal(
    skips[0]?.reason,
    'not sent: setting secure xiaomi_experience_program is unset, not "1" (consent not given)',
  );
  assert.match(skips[1]?.reason ?? '', /is "0", not "1"/);
  assert.deepEqual(host.ofType('source.read'), [], 'a held-back firing reads nothing either');

  host.putSetting('secure', 'xiaomi_experience_program', '1');
  await alarm.work.run();
  const [sent] = host.ofType('sms.send');
  assert.ok(sent, 'sent once the consent holds');
  assert.equal((JSON.parse(sent.body ?? '{}') as { imei: string }).imei, host.identity().imei);
  assert.equal(host.ofType('behaviour.skip').length, 2, 'no skip for the firing that sent');
  await runtime.stop();
});

test('runNow checks `when` too and says the run was skipped', async () => {
  const host = new FakeHost();
  const runtime = startBehaviours(image([gated('b', { on: 'boot' })]), host, silentLogger());
  const skipped = await runtime.runNow('b');
  assert.equal(skipped.ok, false);
  assert.ok(!skipped.ok && skipped.skipped === true, JSON.stringify(skipped));
  assert.match(skipped.ok ? '' : skipped.error, /^not sent: setting secure/);
  host.putSetting('secure', 'xiaomi_experience_program', '1');
  const sent = await runtime.runNow('b');
  assert.equal(sent.ok, true, JSON.stringify(sent));
  await runtime.stop();
});

test('a setting trigger fires once per change to its value, not on rewrites or other keys', async () => {
  const host = new FakeHost();
  const runtime = startBehaviours(
    image([
      {
        ...(smsBehaviour('register', ['imsi', 'iccid']) as object),
        trigger: { on: 'setting', namespace: 'secure', key: 'xiaomi_cloud_enabled', equals: '1' },
      },
    ]),
    host,
    silentLogger(),
  );
  assert.deepEqual(host.alarms, [], 'a setting trigger sets no alarm');
  const settle = () => runtime.stop().then(() => undefined);

  host.putSetting('secure', 'xiaomi_cloud_enabled', '0');
  host.putSetting('global', 'xiaomi_cloud_enabled', '1');
  host.putSetting('secure', 'other', '1');
  assert.equal(host.ofType('sms.send').length, 0, 'other values and other keys do not fire it');

  host.putSetting('secure', 'xiaomi_cloud_enabled', '1');
  host.putSetting('secure', 'xiaomi_cloud_enabled', '1');
  // The send runs in the background of the settings write; let it finish.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(host.ofType('sms.send').length, 1, 'one change, one send; the rewrite is no change');

  host.putSetting('secure', 'xiaomi_cloud_enabled', '0');
  host.putSetting('secure', 'xiaomi_cloud_enabled', '1');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(host.ofType('sms.send').length, 2, 'turned off and on again: fires again');
  const body = JSON.parse(host.ofType('sms.send')[1]?.body ?? '{}') as { imsi: string };
  assert.equal(body.imsi, host.identity().imsi);

  await settle();
  host.putSetting('secure', 'xiaomi_cloud_enabled', '0');
  host.putSetting('secure', 'xiaomi_cloud_enabled', '1');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(host.ofType('sms.send').length, 2, 'a stopped phone sends nothing');
});

test('a setting already holding the value at boot does not fire the trigger', async () => {
  const host = new FakeHost();
  host.putSetting('secure', 'xiaomi_cloud_enabled', '1');
  const runtime = startBehaviours(
    image([
      {
        ...(smsBehaviour('register', ['imsi']) as object),
        trigger: { on: 'setting', namespace: 'secure', key: 'xiaomi_cloud_enabled', equals: '1' },
      },
    ]),
    host,
    silentLogger(),
  );
  host.putSetting('secure', 'xiaomi_cloud_enabled', '1');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(host.ofType('sms.send').length, 0);
  await runtime.stop();
});
