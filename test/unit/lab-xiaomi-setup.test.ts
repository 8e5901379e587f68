// The xiaomi-2021 image's setup wizard driving its behaviours through the lab OS: a click on the
// consent checkbox writes the setting, and the behaviour engine sees that write.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startBehaviours, type BehaviourRuntime } from '../../src/lab/behaviour/index.ts';
import type { EventOf, InstrumentationEvent } from '../../src/android/instrumentation-events.ts';
import type { LabDevice } from '../../src/lab/os/index.ts';
import { silentLogger } from '../../src/log.ts';
import { makeLabDevice } from '../support/lab-device.ts';

const NEXT = 'com.android.provision:id/next';
const CONSENT = 'com.android.provision:id/experience_program';
const CLOUD = 'com.android.provision:id/cloud_sync';

// Port 9 (discard) on loopback: nothing answers, so a send fails at once and the test stays local.
const NOWHERE = {
  dnsServer: { host: '127.0.0.1', port: 9 },
  httpProxy: { host: '127.0.0.1', port: 9 },
};

async function bootXiaomi(
  t: TestContext,
): Promise<{ device: LabDevice; runtime: BehaviourRuntime }> {
  const device = await makeLabDevice(t, { image: 'xiaomi-2021', network: NOWHERE });
  await new Promise<void>((resolve) => device.os.onBootCompleted(resolve));
  const runtime = startBehaviours(device.os.image, device.host, silentLogger(), {
    sendTimeoutMs: 3_000,
  });
  t.after(() => runtime.stop());
  return { device, runtime };
}

function tap(device: LabDevice, resourceId: string): void {
  const screen = device.os.ui.current();
  const index = screen.elements.findIndex((e) => e.resourceId === resourceId);
  assert.ok(index >= 0, `${resourceId} is on ${screen.id}`);
  device.os.ui.click(index);
}

function ofType<T extends InstrumentationEvent['type']>(
  device: LabDevice,
  type: T,
): Array<EventOf<T>> {
  return device.os.events.events().filter((e): e is EventOf<T> => e.type === type);
}

test('xiaomi-2021 setup with both consents given: the browser analytics run at once, the cloud sends its hidden SMS', async (t) => {
  const { device, runtime } = await bootXiaomi(t);
  assert.equal(device.os.ui.current().id, 'setup-welcome');
  tap(device, NEXT);
  assert.equal(device.os.ui.current().id, 'setup-privacy');
  assert.equal(ofType(device, 'source.read').length, 0);

  tap(device, CONSENT);
  assert.equal(device.os.settings.get('secure', 'xiaomi_experience_program'), '1');
  tap(device, NEXT);
  assert.equal(device.os.ui.current().id, 'setup-account');
  tap(device, CLOUD);
  assert.equal(device.os.settings.get('secure', 'xiaomi_cloud_enabled'), '1');
  tap(device, NEXT);
  tap(device, NEXT);
  assert.equal(device.os.settings.get('global', 'device_provisioned'), '1');
  await runtime.stop();

  const browserReads = ofType(device, 'source.read').filter(
    (e) => e.package === 'com.android.browser',
  );
  assert.deepEqual(
    browserReads.map((e) => e.from),
    [
      'TelephonyManager.getDeviceId',
      'Settings.Secure.ANDROID_ID',
      'Build.getSerial',
      'WifiInfo.getMacAddress',
      'LocationManager.getLastKnownLocation',
      'android.os.Build',
    ],
    'the consent fired the upload once',
  );
  const [sms] = ofType(device, 'sms.send');
  assert.equal(sms?.package, 'com.miui.cloudservice');
  assert.equal(sms.destination, '+447700900465');
  const cipher = ofType(device, 'crypto.cipher').find((e) => e.package === 'com.miui.cloudservice');
  assert.ok(cipher, 'the SMS body was encrypted by the app');
  const plaintext = JSON.parse(Buffer.from(cipher.input, 'base64').toString('utf8')) as Record<
    string,
    unknown
  >;
  assert.deepEqual(Object.keys(plaintext), ['imsi', 'iccid', 'phone_number', 'v', 'type']);
  assert.equal(plaintext['imsi'], device.os.identity.current().imsi);
  assert.deepEqual(ofType(device, 'behaviour.skip'), []);
});

test('xiaomi-2021 setup with both consents refused: nothing sent, each held-back firing logged', async (t) => {
  const { device, runtime } = await bootXiaomi(t);
  for (let i = 0; i < 4; i++) tap(device, NEXT);
  assert.equal(device.os.settings.get('global', 'device_provisioned'), '1');
  assert.equal(device.os.settings.get('secure', 'xiaomi_experience_program'), undefined);
  assert.equal(device.os.settings.get('secure', 'xiaomi_cloud_enabled'), undefined);

  for (const id of ['analytics-after-boot', 'analytics-periodic']) {
    const outcome = await runtime.runNow(id);
    assert.ok(!outcome.ok && outcome.skipped === true, JSON.stringify(outcome));
  }
  await runtime.stop();
  assert.deepEqual(
    ofType(device, 'source.read').filter((e) => e.package !== 'com.miui.securitycenter'),
    [],
  );
  assert.deepEqual(ofType(device, 'sms.send'), []);
  assert.deepEqual(
    ofType(device, 'behaviour.skip').map((e) => [e.package, e.behaviour, e.reason]),
    [
      [
        'com.android.browser',
        'analytics-after-boot',
        'not sent: setting secure xiaomi_experience_program is unset, not "1" (consent not given)',
      ],
      [
        'com.android.browser',
        'analytics-periodic',
        'not sent: setting secure xiaomi_experience_program is unset, not "1" (consent not given)',
      ],
    ],
  );
});

test('xiaomi-2021: the consent checked then unchecked in the wizard leaves the analytics off', async (t) => {
  const { device, runtime } = await bootXiaomi(t);
  tap(device, NEXT);
  tap(device, CONSENT);
  tap(device, CONSENT);
  assert.equal(device.os.settings.get('secure', 'xiaomi_experience_program'), '0');
  const outcome = await runtime.runNow('analytics-periodic');
  assert.ok(!outcome.ok && outcome.skipped === true);
  assert.match(outcome.ok ? '' : outcome.error, /is "0", not "1"/);
});
