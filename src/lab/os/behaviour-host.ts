import type { InstrumentationEvent } from '../../android/instrumentation-events.ts';
import type {
  BehaviourHost,
  CallRecord,
  ContactRecord,
  DeviceIdentity,
  ScheduledWork,
  SettingsTable,
  SmsRecord,
} from '../behaviour/host.ts';
import type { DeviceNetwork, LabOs } from './lab-os.ts';

const CACERTS_DIR = '/system/etc/security/cacerts';

/** The OS model as the behaviour engine sees it. */
export class LabBehaviourHost implements BehaviourHost {
  constructor(private readonly os: LabOs) {}

  now(): number {
    return this.os.clock.now();
  }

  readSms(): SmsRecord[] {
    return this.os.content.sms();
  }

  readContacts(): ContactRecord[] {
    return this.os.content.contacts();
  }

  readCallLog(): CallRecord[] {
    return this.os.content.calls();
  }

  identity(): DeviceIdentity {
    return this.os.identity.current();
  }

  location(): { latitude: number; longitude: number } | undefined {
    return this.os.telephony.location();
  }

  properties(): Record<string, string> {
    return this.os.props.all();
  }

  setAlarm(pkg: string, tag: string, firstAt: number, repeatMs: number, work: ScheduledWork): void {
    this.os.alarms.set(pkg, tag, firstAt, repeatMs, work);
  }

  scheduleJob(
    pkg: string,
    jobId: number,
    service: string,
    periodMs: number,
    work: ScheduledWork,
  ): void {
    this.os.jobs.schedule(pkg, jobId, service, periodMs, work);
  }

  onSmsReceived(listener: (sms: SmsRecord) => void): void {
    this.os.telephony.onSms(listener);
  }

  setting(namespace: SettingsTable, key: string): string | undefined {
    return this.os.settings.get(namespace, key);
  }

  onSettingChanged(
    listener: (namespace: SettingsTable, key: string, value: string | undefined) => void,
  ): void {
    this.os.settings.onChange(listener);
  }

  emit(event: InstrumentationEvent): void {
    this.os.events.emit(event);
  }

  network(): DeviceNetwork {
    return this.os.network;
  }

  /** The system CA store: the image's certificates plus any pushed after remount. */
  async trustedCaCertificates(): Promise<string[]> {
    const stat = await this.os.fs.stat(CACERTS_DIR);
    if (!stat) return [];
    const pems: string[] = [];
    for (const entry of await this.os.fs.list(CACERTS_DIR)) {
      if ((entry.mode & 0o170000) !== 0o100000) continue;
      const text = (await this.os.fs.read(`${CACERTS_DIR}/${entry.name}`)).toString('utf8');
      // Android's cacerts files hold the PEM followed by `openssl x509 -text` output; keep the PEM.
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
      if (pem) pems.push(`${pem[0]}\n`);
    }
    return pems;
  }

  pidOf(pkg: string): number {
    return this.os.pidOf(pkg);
  }
}
