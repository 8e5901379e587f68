import type { AdbDevice } from './adb-device.ts';
import type { LauncherName, RunningDevice } from './device.ts';

/**
 * Turns a booted AdbDevice into the RunningDevice a launcher hands out: `stop()` and async
 * disposal run the launcher's teardown once, however often they are called.
 */
export function toRunningDevice(
  device: AdbDevice,
  launcher: LauncherName,
  teardown: () => Promise<void>,
): RunningDevice {
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= teardown());
  return Object.assign(device, { launcher, stop, [Symbol.asyncDispose]: stop });
}
