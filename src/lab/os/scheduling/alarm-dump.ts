import { formatRelative, javaDateTime } from '../time-format.ts';
import type { AlarmRecord } from './alarm-manager.ts';

/**
 * `dumpsys alarm` in the shape of Android 8's AlarmManagerService.dumpImpl: the `nowRTC=` line,
 * then one batch per alarm (exact alarms are standalone), each alarm as
 * `RTC_WAKEUP #0: Alarm{hash type 0 when <ms> <pkg>}` followed by its `tag=`, `type=`,
 * `window=` and `operation=` lines. The production trigger driver parses this text.
 */
export function dumpAlarms(
  alarms: AlarmRecord[],
  nowRtc: number,
  nowElapsed: number,
  idle: boolean,
): string {
  const toElapsed = (when: number): number => when - nowRtc + nowElapsed;
  const lines: string[] = [
    'Current Alarm Manager state:',
    '  Settings:',
    '    min_futurity=+5s0ms',
    '    min_interval=+1m0s0ms',
    '    allow_while_idle_short_time=+5s0ms',
    '',
  ];
  lines.push(`  nowRTC=${nowRtc}=${javaDateTime(nowRtc)} nowELAPSED=${nowElapsed}`);
  lines.push(`  mLastTimeChangeClockTime=${nowRtc}=${javaDateTime(nowRtc)}`);
  lines.push(`  mLastTimeChangeRealtime=${formatRelative(0, 0)}`);
  if (idle) lines.push('  Idle mode state: DEVICE_IDLE');
  const next = alarms[0];
  if (next) {
    lines.push(
      `  Next wakeup alarm: ${formatRelative(toElapsed(next.when), nowElapsed)} = ${javaDateTime(next.when)}`,
    );
  }
  lines.push('');
  lines.push(`  Pending alarm batches: ${alarms.length}`);
  for (const alarm of alarms) {
    const whenElapsed = toElapsed(alarm.when);
    lines.push(
      `Batch{${alarm.hash.slice(0, 6)}f num=1 start=${whenElapsed} end=${whenElapsed} flgs=0x${alarm.flags.toString(16)}}:`,
    );
    lines.push(
      `    RTC_WAKEUP #0: Alarm{${alarm.hash} type ${alarm.type} when ${alarm.when} ${alarm.pkg}}`,
    );
    lines.push(`      tag=*walarm*:${alarm.tag}`);
    lines.push(
      `      type=${alarm.type} whenElapsed=${formatRelative(whenElapsed, nowElapsed)} when=${javaDateTime(alarm.when)}`,
    );
    lines.push(
      `      window=0 repeatInterval=${alarm.repeatMs} count=${alarm.count} flags=0x${alarm.flags.toString(16)}`,
    );
    lines.push(
      `      operation=PendingIntent{${alarm.hash.slice(1)}a: PendingIntentRecord{${alarm.hash.slice(2)}c ${alarm.pkg} broadcastIntent}}`,
    );
  }
  lines.push('');
  lines.push(`  Pending user blocked background alarms: `);
  lines.push('');
  return `${lines.join('\n')}\n`;
}
