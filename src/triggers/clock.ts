import type { Device } from '../device/device.ts';
import { CanarytrapError } from '../errors.ts';

/** The device's wall clock, ms since the epoch (second precision, as `date +%s` gives). */
export async function readDeviceTime(device: Device): Promise<number> {
  const text = (await device.shell('date +%s')).stdout.trim();
  const seconds = Number(text);
  if (!Number.isFinite(seconds))
    throw new CanarytrapError('device-unexpected-output', `date +%s printed "${text}"`);
  return seconds * 1000;
}

function toyboxDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${d.getUTCFullYear()}.${p(d.getUTCSeconds())}`;
}

/**
 * Sets the device's wall clock. `cmd alarm set-time` goes through AlarmManager (Android 9+) so
 * alarms are re-evaluated at once; older releases take toybox `date -u MMDDhhmmCCYY.ss`.
 */
export async function setDeviceTime(device: Device, ms: number): Promise<void> {
  const viaAlarm = await device.shell(`cmd alarm set-time ${Math.round(ms)}`, {
    allowFailure: true,
  });
  if (
    viaAlarm.exitCode === 0 &&
    !/unknown|not found|error/i.test(viaAlarm.stdout + viaAlarm.stderr)
  )
    return;
  await device.shell(`date -u ${toyboxDate(ms)}`);
}
