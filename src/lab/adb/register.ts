import { connect } from 'node:net';
import { CanarytrapError } from '../../errors.ts';
import type { Logger } from '../../log.ts';

export interface RegisterOptions {
  /** The adb server's port (ANDROID_ADB_SERVER_PORT, 5037 by default). */
  adbServerPort: number;
  /** Our adb port; the adb server lists the device as `emulator-<adbPort - 1>`. */
  adbPort: number;
  /** How long to keep trying while the adb server is not (yet) up. Default 5000 ms. */
  timeoutMs?: number;
}

const RETRY_INTERVAL_MS = 100;

/** One attempt; resolves once the adb server has read the request and hung up. */
function announceOnce(adbServerPort: number, adbPort: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: adbServerPort });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the adb server did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('connect', () => {
      const request = `host:emulator:${adbPort}`;
      socket.write(`${request.length.toString(16).padStart(4, '0')}${request}`);
    });
    // The adb server connects to the adb port before it closes this socket, with no reply.
    socket.on('data', () => undefined);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Announces the device to the adb server the way the emulator does (`host:emulator:<adb
 * port>`). The adb server then connects to the adb port and lists the device as
 * `emulator-<adb port − 1>`.
 */
export async function registerWithAdbServer(options: RegisterOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      await announceOnce(
        options.adbServerPort,
        options.adbPort,
        Math.max(1, deadline - Date.now()),
      );
      return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() + RETRY_INTERVAL_MS >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL_MS));
  }
  throw new CanarytrapError(
    'adb-server-unreachable',
    `could not announce the lab phone to the adb server on 127.0.0.1:${options.adbServerPort} within ${timeoutMs} ms`,
    {
      cause: lastError,
      hint: 'start the adb server (adb start-server) with the same ANDROID_ADB_SERVER_PORT, or raise timeoutMs',
    },
  );
}

export interface KeepRegisteredOptions extends Omit<RegisterOptions, 'timeoutMs'> {
  /** How many host connections the device holds now. */
  connectionCount: () => number;
  /** How often to check. Default 2000 ms. */
  intervalMs?: number;
  logger: Logger;
}

export interface Registration {
  /** Announces at once, whatever the connection count. */
  reannounce(): Promise<void>;
  /** Stops watching. Idempotent. */
  close(): void;
}

/**
 * Keeps the device listed: when no adb server holds a connection (the adb server restarted:
 * it only scans ports 5555–5585 by itself), announces the device again.
 */
export function keepRegistered(options: KeepRegisteredOptions): Registration {
  const intervalMs = options.intervalMs ?? 2_000;
  let busy = false;
  const reannounce = (): Promise<void> =>
    registerWithAdbServer({
      adbServerPort: options.adbServerPort,
      adbPort: options.adbPort,
      timeoutMs: Math.max(500, intervalMs - 100),
    });
  const timer = setInterval(() => {
    if (busy || options.connectionCount() > 0) return;
    busy = true;
    reannounce()
      .catch((error: unknown) =>
        options.logger.debug({ err: error }, 'adb re-announce failed; will retry'),
      )
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return { reannounce, close: () => clearInterval(timer) };
}
