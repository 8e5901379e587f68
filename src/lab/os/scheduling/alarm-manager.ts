import { randomInt } from 'node:crypto';
import type { ScheduledWork } from '../../behaviour/host.ts';
import type { DeviceClock } from '../clock.ts';
import type { WorkRunner } from './work-runner.ts';

/** AlarmManager.RTC_WAKEUP */
export const RTC_WAKEUP = 0;
/** AlarmManager.FLAG_STANDALONE: exact alarms are not batched with others. */
const FLAG_STANDALONE = 0x1;
const FLAG_ALLOW_WHILE_IDLE = 0x4;

export interface AlarmRecord {
  /** identityHashCode as dumpsys prints it. */
  hash: string;
  pkg: string;
  tag: string;
  type: number;
  /** Next trigger, device wall clock ms. */
  when: number;
  repeatMs: number;
  /** How many intervals the last delivery covered. */
  count: number;
  flags: number;
  work: ScheduledWork;
}

/**
 * The alarm manager: alarms fire when the device clock passes them, whether it got there by
 * waiting or by `cmd alarm set-time`, in trigger order. A repeating alarm that missed several
 * intervals fires once and moves to its next future time, as Android does. While the device is
 * forced idle, alarms without allow-while-idle wait until idle ends.
 */
export class AlarmManager {
  readonly #alarms: AlarmRecord[] = [];
  #idle = false;

  constructor(
    private readonly clock: DeviceClock,
    private readonly runner: WorkRunner,
  ) {}

  set(
    pkg: string,
    tag: string,
    firstAt: number,
    repeatMs: number,
    work: ScheduledWork,
    allowWhileIdle = false,
  ): AlarmRecord {
    // Setting an alarm with the same PendingIntent replaces the old one.
    const existing = this.#alarms.findIndex((a) => a.pkg === pkg && a.tag === tag);
    if (existing >= 0) this.#alarms.splice(existing, 1);
    const alarm: AlarmRecord = {
      hash: randomInt(0x1000000, 0xfffffff).toString(16),
      pkg,
      tag,
      type: RTC_WAKEUP,
      when: firstAt,
      repeatMs,
      count: 0,
      flags: FLAG_STANDALONE | (allowWhileIdle ? FLAG_ALLOW_WHILE_IDLE : 0),
      work,
    };
    this.#alarms.push(alarm);
    this.dispatchDue();
    return alarm;
  }

  cancel(pkg: string, tag: string): boolean {
    const index = this.#alarms.findIndex((a) => a.pkg === pkg && a.tag === tag);
    if (index >= 0) this.#alarms.splice(index, 1);
    return index >= 0;
  }

  /** Pending alarms in trigger order. */
  pending(): AlarmRecord[] {
    return [...this.#alarms].sort((a, b) => a.when - b.when);
  }

  get idle(): boolean {
    return this.#idle;
  }

  setIdle(idle: boolean): void {
    this.#idle = idle;
    if (!idle) this.dispatchDue();
  }

  /** Fires every alarm due at the current device time, in trigger order. */
  dispatchDue(): void {
    const now = this.clock.now();
    for (const alarm of this.pending()) {
      if (alarm.when > now) break;
      if (this.#idle && (alarm.flags & FLAG_ALLOW_WHILE_IDLE) === 0) continue;
      if (alarm.repeatMs > 0) {
        const missed = Math.floor((now - alarm.when) / alarm.repeatMs) + 1;
        alarm.count = missed;
        alarm.when += missed * alarm.repeatMs;
      } else {
        this.#alarms.splice(this.#alarms.indexOf(alarm), 1);
        alarm.count = 1;
      }
      this.runner.enqueue(`alarm ${alarm.pkg} ${alarm.tag}`, alarm.work);
    }
  }
}
