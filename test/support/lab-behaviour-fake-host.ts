// The device side of the behaviour engine for unit tests: canned data, a clock the test moves,
// schedulers the test fires by hand, and the events kept for inspection.
import assert from 'node:assert/strict';
import {
  instrumentationEventSchema,
  type EventOf,
  type InstrumentationEvent,
} from '../../src/android/instrumentation-events.ts';
import { labImageSchema, type EncodeStep, type LabImage } from '../../src/android/lab-image.ts';
import { silentLogger } from '../../src/log.ts';
import {
  startBehaviours,
  type BehaviourHost,
  type ScheduledWork,
  type SettingsTable,
  type SmsRecord,
} from '../../src/lab/behaviour/index.ts';

type SettingListener = (namespace: SettingsTable, key: string, value: string | undefined) => void;

/** A device with canned data, a clock the test moves, and schedulers the test fires by hand. */
export class FakeHost implements BehaviourHost {
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
  settings = new Map<string, string>();
  settingListeners: SettingListener[] = [];
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
  setting(namespace: SettingsTable, key: string): string | undefined {
    return this.settings.get(`${namespace}/${key}`);
  }
  onSettingChanged(listener: SettingListener): void {
    this.settingListeners.push(listener);
  }
  /** A write to the settings provider, as `settings put` makes it. */
  putSetting(namespace: SettingsTable, key: string, value: string): void {
    this.settings.set(`${namespace}/${key}`, value);
    for (const listener of this.settingListeners) listener(namespace, key, value);
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
export function image(behaviours: unknown[]): LabImage {
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

export function smsBehaviour(
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
export async function smsPayload(
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
