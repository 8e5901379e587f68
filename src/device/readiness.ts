import { CanarytrapError } from '../errors.ts';
import { pollUntil, realClock, type Clock } from '../host/poll.ts';
import type { AdbDevice } from './adb-device.ts';

/** One readiness signal: a name for the error message, and a probe that is true when it holds. */
export interface ReadinessSignal {
  name: string;
  probe(device: AdbDevice): Promise<boolean>;
}

async function prop(device: AdbDevice, key: string): Promise<string> {
  const result = await device.shell(`getprop ${key}`, { allowFailure: true, timeoutMs: 5_000 });
  return result.stdout.trim();
}

/** The real signals a booted Android gives, in the order they become true. */
export const BOOT_SIGNALS: readonly ReadinessSignal[] = [
  { name: 'adb state "device"', probe: async (d) => (await d.state()) === 'device' },
  {
    name: 'sys.boot_completed=1',
    probe: async (d) => (await prop(d, 'sys.boot_completed')) === '1',
  },
  {
    name: 'init.svc.bootanim=stopped',
    probe: async (d) => (await prop(d, 'init.svc.bootanim')) === 'stopped',
  },
  ...['activity', 'package', 'window'].map((service) => ({
    name: `service "${service}"`,
    probe: async (d: AdbDevice) =>
      (
        await d.shell(`service check ${service}`, { allowFailure: true, timeoutMs: 5_000 })
      ).stdout.includes(': found'),
  })),
];

export interface WaitOptions {
  timeoutMs: number;
  /** Between polls. Default 250 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Stops waiting early when the device process is gone. */
  aborted?: () => string | undefined;
  /** Default the real clock. */
  clock?: Clock;
}

/**
 * Polls each signal in order until all hold, within one deadline for them all. On timeout the
 * error names the signal still missing and the setting to raise.
 */
export async function waitUntilBooted(
  device: AdbDevice,
  options: WaitOptions,
  signals: readonly ReadinessSignal[] = BOOT_SIGNALS,
): Promise<void> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.timeoutMs;
  for (const signal of signals) {
    await pollUntil({
      what: signal.name,
      probe: () => signal.probe(device).catch(() => false),
      timeoutMs: Math.max(0, deadline - clock.now()),
      setting: 'bootTimeoutMs',
      intervalMs: options.intervalMs ?? 250,
      clock,
      signal: options.signal,
      giveUp: () => {
        const gone = options.aborted?.();
        return gone
          ? new CanarytrapError(
              'device-exited',
              `${device.serial} ${gone} while waiting for ${signal.name}`,
            )
          : undefined;
      },
      timeout: {
        code: 'emulator-boot-timeout',
        message: `${device.serial} did not boot within ${options.timeoutMs} ms: still waiting for ${signal.name}`,
        hint: 'raise the boot timeout (bootTimeoutMs) if the machine is slow, or check the device log in the run directory',
      },
    });
  }
}
