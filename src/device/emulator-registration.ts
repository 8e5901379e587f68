import { connect } from 'node:net';
import { CanarytrapError } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * Announcing an emulator to the adb server from the host, as the emulator binary does for itself
 * when nothing stands between them. A caged device cannot reach the host's adb server (nothing
 * of the host is reachable from its namespace), so its launcher announces it: `host:emulator:
 * <adb port>` on the adb server's smart socket; the server then connects to that port on the
 * host's loopback (the cage's relay) and lists the device as `emulator-<adb port − 1>`.
 */

export interface EmulatorRegistrationOptions {
  /** The adb server's port (ANDROID_ADB_SERVER_PORT). */
  adbServerPort: number;
  /** The device's console port; its serial is `emulator-<consolePort>`. */
  consolePort: number;
  /** The device's adb port on the host's loopback (consolePort + 1). */
  adbPort: number;
  logger: Logger;
  /** How often the listing is checked and, when the device is missing, announced again. Default 1000 ms. */
  intervalMs?: number;
  /** One request's timeout. Default 2000 ms. */
  requestTimeoutMs?: number;
}

export interface EmulatorRegistration extends AsyncDisposable {
  readonly serial: string;
  /** Stops announcing; waits for a check under way. Safe to call twice. */
  close(): Promise<void>;
}

/** A smart-socket request: four hex digits of length, then the request. */
function frame(request: string): string {
  return `${request.length.toString(16).padStart(4, '0')}${request}`;
}

/**
 * Sends one request to the adb server and resolves with everything it answered before closing.
 * `host:emulator:` is answered by nothing but the close, once the server has read it.
 */
function smartSocketRequest(port: number, request: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(`the adb server on 127.0.0.1:${port} did not answer within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    socket.once('connect', () => socket.write(frame(request)));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** Serials the adb server lists, in any state (`host:devices`: OKAY, length, `serial\tstate` lines). */
export async function listedSerials(
  adbServerPort: number,
  timeoutMs = 2_000,
): Promise<Set<string>> {
  const reply = await smartSocketRequest(adbServerPort, 'host:devices', timeoutMs);
  const status = reply.subarray(0, 4).toString('latin1');
  if (status !== 'OKAY') {
    throw new CanarytrapError(
      'adb-server-refused',
      `the adb server answered ${JSON.stringify(reply.toString('latin1').slice(0, 80))} to host:devices`,
    );
  }
  const length = Number.parseInt(reply.subarray(4, 8).toString('latin1'), 16);
  const text = reply.subarray(8, 8 + length).toString('utf8');
  return new Set(
    text
      .split('\n')
      .map((line) => line.split('\t')[0]?.trim() ?? '')
      .filter(Boolean),
  );
}

/** Announces the device once (`host:emulator:<adb port>`). */
export async function announceEmulator(
  adbServerPort: number,
  adbPort: number,
  timeoutMs = 2_000,
): Promise<void> {
  await smartSocketRequest(adbServerPort, `host:emulator:${adbPort}`, timeoutMs);
}

/**
 * Keeps the device listed by the adb server for as long as it runs: checks the listing at once
 * and then every interval, and announces the device whenever it is missing: not yet announced,
 * or forgotten because the adb server restarted (a new server scans only ports 5555–5585 by
 * itself). Failures are logged and retried on the next tick; boot readiness, which waits for
 * the device through adb, is what reports a device that never gets listed.
 */
export function keepEmulatorRegistered(options: EmulatorRegistrationOptions): EmulatorRegistration {
  const serial = `emulator-${options.consolePort}`;
  const intervalMs = options.intervalMs ?? 1_000;
  const timeoutMs = options.requestTimeoutMs ?? 2_000;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const check = async (): Promise<void> => {
    try {
      if ((await listedSerials(options.adbServerPort, timeoutMs)).has(serial)) return;
      await announceEmulator(options.adbServerPort, options.adbPort, timeoutMs);
      options.logger.debug({ serial, adbPort: options.adbPort }, 'announced to the adb server');
    } catch (error) {
      options.logger.debug({ err: error, serial }, 'adb server not reachable; will announce again');
    }
  };
  const tick = (): void => {
    running = check().finally(() => {
      if (!closed) {
        timer = setTimeout(tick, intervalMs);
        // The registration never keeps the worker alive by itself.
        timer.unref();
      }
    });
  };
  tick();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      closed = true;
      clearTimeout(timer);
      await running;
    })());
  return { serial, close, [Symbol.asyncDispose]: close };
}
