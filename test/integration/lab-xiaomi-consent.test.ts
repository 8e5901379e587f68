import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { generateCanaries } from '../../src/canary/generate.ts';
import { plantCanaries } from '../../src/canary/plant.ts';
import type { Flow } from '../../src/capture/flow.ts';
import { waitForQuiet, type CaptureSession } from '../../src/capture/index.ts';
import { correlate, type Leak } from '../../src/correlate/index.ts';
import { prepareDevice } from '../../src/device/prepare.ts';
import { pullDeviceEvents } from '../../src/instrument/device-events.ts';
import type { EventOf, InstrumentationEvent } from '../../src/android/instrumentation-events.ts';
import { silentLogger } from '../../src/log.ts';
import { advanceDeviceTime } from '../../src/triggers/advance.ts';
import { startLabBench, until } from '../support/lab-bench.ts';

const ANALYTICS_HOST = 'sa.api.intl.miui.com';
const BLOCKLIST_HOST = 'api.sec.miui.com';
const SMS_SERVICE_NUMBER = '+447700900465';
const logger = silentLogger();

function flowsTo(capture: CaptureSession, host: string): Flow[] {
  return capture.flows().filter((f) => f.request !== undefined && f.destination.host === host);
}

function ofType<T extends InstrumentationEvent['type']>(
  events: InstrumentationEvent[],
  type: T,
): Array<EventOf<T>> {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

test(
  'xiaomi-2021 on the lab phone: no analytics and no SMS until the consents are set over adb, then both, and the correlator finds the canaries in them',
  { timeout: 120_000 },
  async (t) => {
    const bench = await startLabBench(t, 'lab-xiaomi');
    const canaries = generateCanaries({ runId: 'xiaomi-consent', perProvider: 2 });
    const { image, capture, device } = await bench.boot('xiaomi-2021', {
      phoneNumber: canaries.plan.identity.phoneNumber,
    });
    // The production CA install: on API 30 it is the tmpfs route over the system CA directory.
    const installed = await prepareDevice(device, {
      caCertificatePem: capture.caCertificatePem,
      caSubjectHashOld: capture.caSubjectHashOld,
      logger,
    });
    assert.match(installed, /\(tmpfs\)$/);
    await plantCanaries(device, canaries.plan, logger);
    const events = async (): Promise<InstrumentationEvent[]> =>
      (await pullDeviceEvents(device, join(bench.root, 'events.jsonl'), logger)).events;

    // Past the boot uploads and the first 6-hour alarm, with neither consent given.
    assert.equal(
      (await device.shell('settings get secure xiaomi_experience_program')).stdout.trim(),
      'null',
    );
    await advanceDeviceTime(device, {
      packages: new Set(image.inventory.apps.map((a) => a.package)),
      horizonHours: 7,
      stepHours: 6,
      settle: () => waitForQuiet(capture, { quietMs: 800, maxMs: 8_000 }),
      logger,
    });
    assert.ok(
      flowsTo(capture, BLOCKLIST_HOST).length >= 1,
      `the blocklist fetch, which needs no consent, went out: ${capture
        .flows()
        .map((f) => f.destination.host)
        .join(', ')}`,
    );
    assert.deepEqual(flowsTo(capture, ANALYTICS_HOST), [], 'no analytics without the consent');
    const before = await events();
    assert.deepEqual(ofType(before, 'sms.send'), [], 'no SMS without the cloud switch');
    const skips = ofType(before, 'behaviour.skip');
    for (const id of ['analytics-after-boot', 'analytics-periodic']) {
      const skip = skips.find((s) => s.behaviour === id);
      assert.ok(skip, `${id} logged as held back: ${JSON.stringify(skips)}`);
      assert.equal(skip.package, 'com.android.browser');
      assert.equal(skip.setting?.key, 'xiaomi_experience_program');
      assert.match(skip.reason, /consent not given/);
    }

    // The consent given over adb: the analytics go out at once.
    await device.shell('settings put secure xiaomi_experience_program 1');
    const [upload] = await until(
      'the analytics upload',
      async () => {
        const seen = flowsTo(capture, ANALYTICS_HOST);
        return seen.length > 0 ? seen : undefined;
      },
      15_000,
    );
    assert.ok(upload?.request);
    assert.equal(upload.request.method, 'POST');
    assert.equal(upload.request.url, `https://${ANALYTICS_HOST}/sa?project=global_browser_mini`);
    const form = new URLSearchParams(Buffer.from(upload.request.body, 'base64').toString('utf8'));
    assert.equal(form.get('gzip'), '1');
    const payload = JSON.parse(
      gunzipSync(Buffer.from(form.get('data_list') ?? '', 'base64')).toString('utf8'),
    ) as Record<string, unknown>;
    assert.ok(
      Object.keys(payload).length >= 55 && Object.keys(payload).length <= 65,
      `about 60 parameters, got ${Object.keys(payload).length}`,
    );
    assert.equal(payload['imei'], canaries.plan.identity.imei);
    assert.equal(payload['android_id'], canaries.plan.identity.androidId);
    assert.equal(payload['$app_id'], 'com.android.browser');

    // The cloud switch turned on over adb: the hidden registration SMS.
    assert.deepEqual(ofType(await events(), 'sms.send'), []);
    await device.shell('settings put secure xiaomi_cloud_enabled 1');
    const sms = await until(
      'the registration SMS',
      async () => ofType(await events(), 'sms.send')[0],
      15_000,
    );
    assert.equal(sms.destination, SMS_SERVICE_NUMBER);
    assert.equal(sms.package, 'com.miui.cloudservice');
    assert.ok(sms.body !== undefined && !sms.body.includes(canaries.plan.identity.imsi));

    await waitForQuiet(capture, { quietMs: 800, maxMs: 8_000 });
    const finalEvents = await events();
    await device.stop();
    await capture.stop();

    // The pipeline's correlator, on what the run captured.
    const { leaks } = correlate({
      canaries: canaries.set,
      flows: capture.flows(),
      events: finalEvents,
    });
    const leaked = (where: (leak: Leak) => boolean): Set<string> =>
      new Set(leaks.filter(where).map((l) => l.canary.kind));
    const analytics = leaks.filter((l) => l.destination.host === ANALYTICS_HOST);
    const analyticsKinds = leaked((l) => l.destination.host === ANALYTICS_HOST);
    for (const kind of ['imei', 'android_id', 'serial', 'wifi_mac', 'location'])
      assert.ok(
        analyticsKinds.has(kind),
        `${kind} found in the analytics: ${[...analyticsKinds].join(',')} (location ${JSON.stringify(payload['location'])}, planted ${JSON.stringify(canaries.plan.location)})`,
      );
    const imeiLeak = analytics.find((l) => l.canary.kind === 'imei');
    assert.ok(imeiLeak);
    assert.match(
      imeiLeak.transforms.join(' → '),
      /^tls → .*form:data_list → base64 → gzip → json$/,
    );
    assert.equal(imeiLeak.app, 'com.android.browser');

    const smsKinds = leaked((l) => l.destination.channel === 'sms');
    for (const kind of ['imsi', 'iccid', 'phone_number'])
      assert.ok(smsKinds.has(kind), `${kind} found in the SMS: ${[...smsKinds].join(',')}`);
    const imsiLeak = leaks.find((l) => l.destination.channel === 'sms' && l.canary.kind === 'imsi');
    assert.ok(imsiLeak);
    assert.equal(imsiLeak.destination.host, SMS_SERVICE_NUMBER);
    assert.ok(
      imsiLeak.transforms.some((tr) => tr.startsWith('aes')),
      `the SMS was decrypted on the way: ${imsiLeak.transforms.join(' → ')}`,
    );
  },
);
