import type { InstrumentationEvent } from '../../android/instrumentation-events.ts';

/**
 * What the lab phone's OS model offers to the behaviour engine: the device's data, its clock,
 * its alarm and job schedulers, its network settings, and the sink for instrumentation events.
 * The OS model implements it; the behaviour engine uses nothing else.
 */
export interface SmsRecord {
  box: 'inbox' | 'sent';
  address: string;
  body: string;
  /** ms since the epoch, device clock. */
  date: number;
}

export interface ContactRecord {
  name: string;
  phones: string[];
  emails: string[];
  note?: string;
}

export interface CallRecord {
  number: string;
  /** CallLog.Calls.TYPE: 1 incoming, 2 outgoing, 3 missed. */
  type: number;
  date: number;
  /** seconds */
  duration: number;
}

/** Identifiers the device answers when asked (on a real run, the Frida identity hooks answer them). */
export interface DeviceIdentity {
  imei?: string;
  imsi?: string;
  iccid?: string;
  phoneNumber?: string;
  serial?: string;
  androidId?: string;
  wifiMac?: string;
  accounts?: string[];
}

/** The settings provider's tables. */
export type SettingsTable = 'system' | 'secure' | 'global';

export interface ScheduledWork {
  /** Runs the work; resolves when the app is done with it (request sent or failed). */
  run(): Promise<void>;
}

export interface BehaviourHost {
  /** Device clock, ms since the epoch. */
  now(): number;
  readSms(): SmsRecord[];
  readContacts(): ContactRecord[];
  readCallLog(): CallRecord[];
  identity(): DeviceIdentity;
  location(): { latitude: number; longitude: number } | undefined;
  /** Build properties (ro.build.fingerprint, ro.product.model...). */
  properties(): Record<string, string>;
  /**
   * An AlarmManager alarm (RTC_WAKEUP) for `pkg`, first at `firstAt` device time, then every
   * `repeatMs` (0: once). It shows in `dumpsys alarm` and fires when the device clock passes it.
   */
  setAlarm(pkg: string, tag: string, firstAt: number, repeatMs: number, work: ScheduledWork): void;
  /** A periodic JobScheduler job; shows in `dumpsys jobscheduler`, runs on `cmd jobscheduler run -f`. */
  scheduleJob(
    pkg: string,
    jobId: number,
    service: string,
    periodMs: number,
    work: ScheduledWork,
  ): void;
  /** Called for each SMS that arrives through the console's `sms send`. */
  onSmsReceived(listener: (sms: SmsRecord) => void): void;
  /** A value of the settings provider (`settings get`); undefined when unset. */
  setting(namespace: SettingsTable, key: string): string | undefined;
  /**
   * Called after each write to the settings provider, from adb's `settings put|delete` or a UI
   * action; `value` is undefined for a delete.
   */
  onSettingChanged(
    listener: (namespace: SettingsTable, key: string, value: string | undefined) => void,
  ): void;
  /** Records an instrumentation event (the facts a Frida hook would have reported). */
  emit(event: InstrumentationEvent): void;
  /**
   * The device's network: its DNS server, and an HTTP proxy only when the phone runs uncaged.
   * Without a proxy, apps open their sockets directly, as apps in an emulator guest do.
   */
  network(): {
    dnsServer: { host: string; port: number };
    httpProxy?: { host: string; port: number };
  };
  /** The device's trusted CA certificates (PEM). */
  trustedCaCertificates(): Promise<string[]>;
  /** A process id for the package, stable while the device runs. */
  pidOf(pkg: string): number;
}
