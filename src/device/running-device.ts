import type { AdbDevice } from './adb-device.ts';
import type { DeviceInstrumentation, LauncherName, RunningDevice } from './device.ts';

/**
 * Turns a booted AdbDevice into the RunningDevice a launcher hands out: `stop()` and async
 * disposal run the launcher's teardown once, however often they are called. `instrumentation`
 * is what the launcher knows its device offers; the default is a device frida-server runs on.
 */
export function toRunningDevice(
  device: AdbDevice,
  launcher: LauncherName,
  teardown: () => Promise<void>,
  instrumentation: DeviceInstrumentation = {},
): RunningDevice {
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= teardown());
  return Object.assign(device, { launcher, instrumentation, stop, [Symbol.asyncDispose]: stop });
}
