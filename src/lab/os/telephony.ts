import type { SmsRecord } from '../behaviour/host.ts';
import type { DeviceClock } from './clock.ts';
import type { ContentStore } from './providers/content-store.ts';

interface Call {
  number: string;
  state: 'incoming' | 'active';
  startedAt: number;
  acceptedAt?: number;
}

/**
 * The radio as the emulator console drives it: incoming SMS land in the inbox and wake the
 * listeners, calls end up in the call log (incoming with the talk time, or missed), and the GPS
 * fix is whatever `geo fix` said last.
 */
export class Telephony {
  readonly #calls: Call[] = [];
  readonly #smsListeners = new Set<(sms: SmsRecord) => void>();
  #location: { latitude: number; longitude: number; altitude?: number } | undefined;

  constructor(
    private readonly clock: DeviceClock,
    private readonly content: ContentStore,
  ) {}

  receiveSms(from: string, body: string): SmsRecord {
    const date = this.clock.now();
    this.content.insert('content://sms/inbox', { address: from, body, date, read: 0, seen: 0 });
    const sms: SmsRecord = { box: 'inbox', address: from, body, date };
    for (const listener of this.#smsListeners) listener(sms);
    return sms;
  }

  onSms(listener: (sms: SmsRecord) => void): void {
    this.#smsListeners.add(listener);
  }

  incomingCall(number: string): void {
    if (!this.#calls.some((c) => c.number === number))
      this.#calls.push({ number, state: 'incoming', startedAt: this.clock.now() });
  }

  /** False when there is no such call. */
  accept(number: string): boolean {
    const call = this.#calls.find((c) => c.number === number);
    if (!call) return false;
    call.state = 'active';
    call.acceptedAt = this.clock.now();
    return true;
  }

  /** Hangs up; the call log gets the call. False when there is no such call. */
  hangUp(number: string): boolean {
    const index = this.#calls.findIndex((c) => c.number === number);
    const call = this.#calls[index];
    if (!call) return false;
    this.#calls.splice(index, 1);
    const duration =
      call.acceptedAt === undefined ? 0 : Math.round((this.clock.now() - call.acceptedAt) / 1000);
    this.content.insert('content://call_log/calls', {
      number: call.number,
      type: call.acceptedAt === undefined ? 3 : 1,
      date: call.startedAt,
      duration,
      new: 1,
    });
    return true;
  }

  /** `gsm list` lines, as the emulator prints them. */
  listCalls(): string[] {
    return this.#calls.map((c) => `inbound from ${c.number.padEnd(10)} : ${c.state}`);
  }

  setLocation(longitude: number, latitude: number, altitude?: number): void {
    this.#location = { latitude, longitude, ...(altitude === undefined ? {} : { altitude }) };
  }

  location(): { latitude: number; longitude: number } | undefined {
    return this.#location === undefined
      ? undefined
      : { latitude: this.#location.latitude, longitude: this.#location.longitude };
  }
}
