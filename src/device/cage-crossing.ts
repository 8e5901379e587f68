import type { Cage, CageRelay } from '../capture/cage/index.ts';
import { runEachStep } from '../host/teardown.ts';
import type { Logger } from '../log.ts';
import { keepEmulatorRegistered, type EmulatorRegistration } from './emulator-registration.ts';

export interface CageCrossingOptions {
  cage: Cage;
  consolePort: number;
  adbPort: number;
  adbServerPort: number;
  logger: Logger;
}

/**
 * The host's side of a caged device: one-way relays from the host's loopback console and adb
 * ports to the same ports inside the cage (so `adb`, `adb emu` and the console client reach it
 * as they reach any emulator), and its announcement to the adb server, which the device cannot
 * make from inside.
 */
export interface CageCrossing {
  /**
   * Starts announcing the device to the adb server, and keeps it listed. Call once the device
   * listens on its adb port, or soon before: a missed announcement is repeated.
   */
  announce(): void;
  /** Stops announcing and closes the relays. Safe to call twice. */
  close(): Promise<void>;
}

/** Opens the relays; they hold the host ports from now on, so nothing else takes them. */
export async function openCageCrossing(options: CageCrossingOptions): Promise<CageCrossing> {
  const { cage, consolePort, adbPort, logger } = options;
  const relays: CageRelay[] = [];
  let registration: EmulatorRegistration | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const failures = await runEachStep([
        ['adb registration', async () => registration?.close()],
        ...relays.map((relay): [string, () => Promise<void>] => [
          `relay of port ${relay.hostPort}`,
          () => relay.close(),
        ]),
      ]);
      for (const failure of failures) {
        logger.warn({ err: failure.error, step: failure.step }, 'cage crossing close step failed');
      }
    })());
  try {
    relays.push(await cage.relay(consolePort, consolePort));
    relays.push(await cage.relay(adbPort, adbPort));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    announce() {
      registration ??= keepEmulatorRegistered({
        adbServerPort: options.adbServerPort,
        consolePort,
        adbPort,
        logger,
      });
    },
    close,
  };
}
