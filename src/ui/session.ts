import { remote } from 'webdriverio';
import { CanarytrapError } from '../errors.ts';
import type { Device } from '../device/device.ts';
import type { AdbClient } from '../device/adb-client.ts';
import type { Logger } from '../log.ts';
import { freePort } from '../host/ports.ts';
import type { AppiumEndpoint } from './appium-server.ts';

/** The UiAutomator2 server's packages the driver installs and instruments on the device. */
const SERVER_PACKAGES = ['io.appium.uiautomator2.server', 'io.appium.uiautomator2.server.test'];

export interface UiSessionOptions {
  endpoint: AppiumEndpoint;
  device: Device;
  /** The adb client of the worker: the same server the device is registered with. */
  adb: AdbClient;
  logger: Logger;
  /** How long creating the session may take (server APKs installed, instrumentation up). Default 180 s. */
  createTimeoutMs?: number;
  /** Appium ends a session idle this long, should this process stall. Default 120 s. */
  newCommandTimeoutS?: number;
}

/** A WebdriverIO session on one device. `close()` is idempotent and never throws. */
export interface UiSession extends AsyncDisposable {
  readonly browser: WebdriverIO.Browser;
  readonly systemPort: number;
  close(): Promise<void>;
}

export async function openUiSession(options: UiSessionOptions): Promise<UiSession> {
  const { endpoint, device, adb, logger } = options;
  // Each device gets a local port of its own for the driver's adb forward, so parallel
  // sessions on one host never share it.
  const systemPort = await freePort();
  const createTimeoutMs = options.createTimeoutMs ?? 180_000;
  let browser: WebdriverIO.Browser;
  try {
    browser = await remote({
      hostname: endpoint.hostname,
      port: endpoint.port,
      path: '/',
      logLevel: 'silent',
      // A retried POST /session could leave a second session behind on the device.
      connectionRetryCount: 0,
      connectionRetryTimeout: createTimeoutMs,
      capabilities: {
        platformName: 'Android',
        'appium:automationName': 'UiAutomator2',
        'appium:udid': device.serial,
        'appium:adbPort': adb.serverPort,
        'appium:systemPort': systemPort,
        'appium:newCommandTimeout': options.newCommandTimeoutS ?? 120,
        'appium:uiautomator2ServerLaunchTimeout': 60_000,
        'appium:uiautomator2ServerInstallTimeout': 90_000,
        'appium:adbExecTimeout': 30_000,
        // The device under analysis keeps its state, and gets no Appium Settings helper app:
        // an extra app with location and network features would blur what the firmware does.
        'appium:noReset': true,
        'appium:skipDeviceInitialization': true,
        'appium:skipUnlock': true,
        'appium:skipLogcatCapture': true,
        'appium:autoGrantPermissions': false,
      },
    });
  } catch (cause) {
    await releaseDevice(device, adb, systemPort, logger);
    throw new CanarytrapError(
      'ui-session-failed',
      `Appium could not open a UiAutomator2 session on ${device.serial}: ${firstLine(cause)}`,
      {
        cause,
        hint: `see the Appium log ${endpoint.logPath}`,
        details: { logPath: endpoint.logPath },
      },
    );
  }
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      try {
        await withTimeout(browser.deleteSession(), 60_000, 'deleting the session');
      } catch (error) {
        logger.warn({ err: error }, 'UiAutomator2 session did not close cleanly');
      }
      await releaseDevice(device, adb, systemPort, logger);
    })());
  return { browser, systemPort, close, [Symbol.asyncDispose]: close };
}

/**
 * What the driver leaves when a session dies without its DELETE (Appium killed, a timeout): the
 * adb forward of the system port and the instrumentation. Both are removed whatever happened;
 * on a device already stopped these fail quietly.
 */
async function releaseDevice(
  device: Device,
  adb: AdbClient,
  systemPort: number,
  logger: Logger,
): Promise<void> {
  await adb
    .run(['-s', device.serial, 'forward', '--remove', `tcp:${systemPort}`], {
      allowFailure: true,
      timeoutMs: 10_000,
    })
    .catch((error: unknown) => logger.debug({ err: error }, 'forward removal failed'));
  for (const pkg of SERVER_PACKAGES) {
    await device
      .shell(`am force-stop ${pkg}`, { allowFailure: true, timeoutMs: 10_000 })
      .catch((error: unknown) => logger.debug({ err: error }, 'force-stop failed'));
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new CanarytrapError('ui-timeout', `${what} took longer than ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
