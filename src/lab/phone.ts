import { runEachStep, type NamedStep } from '../host/teardown.ts';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CanarytrapError } from '../errors.ts';
import type { Logger } from '../log.ts';
import {
  keepRegistered,
  registerWithAdbServer,
  startAdbDeviceServer,
  type AdbDeviceServer,
  type Registration,
} from './adb/index.ts';
import { startBehaviours, type BehaviourRuntime } from './behaviour/index.ts';
import { findProblems } from './behaviour/validate.ts';
import { ensureConsoleAuthToken, startConsoleServer, type ConsoleServer } from './console/index.ts';
import type { LabImage } from '../android/lab-image.ts';
import {
  createLabDevice,
  extractSystem,
  loadLabImage,
  type DeviceNetwork,
  type LabDevice,
} from './os/index.ts';

/**
 * The lab phone: the OS model booted from a lab image, its emulator console and adb device
 * servers on loopback, announced to the adb server like an emulator (uncaged; in a cage the
 * launcher announces it). One object per phone; it
 * owns a temp dir under the work dir and removes it when stopped.
 */
export interface LabPhoneOptions {
  /** Directory holding the unpacked image (system.img). */
  imageDir: string;
  /** The console port (even, like the emulator's); the serial is `emulator-<consolePort>`. */
  consolePort: number;
  /** Default consolePort + 1, which is what adb derives the serial from. */
  adbPort?: number;
  /**
   * The adb server to announce to (ANDROID_ADB_SERVER_PORT). Absent in a cage, where nothing of
   * the host is reachable: the launcher announces the phone from the host side.
   */
  adbServerPort?: number;
  network: DeviceNetwork;
  /** Line-1 number (`-phone-number`); default 1555521<console port>. */
  phoneNumber?: string;
  /** The phone's temp dir is created under it. */
  workDir: string;
  /** The console auth token file (`~/.emulator_console_auth_token`); created when missing. */
  authTokenFile: string;
  /** `avd name` answers it; default `lab_<image name>`. */
  avdName?: string;
  logger: Logger;
  /** Start to `sys.boot_completed=1`; default 1000 ms. */
  bootDelayMs?: number;
}

export interface LabPhone extends AsyncDisposable {
  readonly serial: string;
  readonly consolePort: number;
  readonly adbPort: number;
  readonly image: LabImage;
  readonly device: LabDevice;
  /** The phone's own temp dir (removed on stop). */
  readonly tempDir: string;
  /** Resolves once the phone has stopped, by stop() or by console `kill`. */
  readonly stopped: Promise<void>;
  /** Stops behaviours and servers, removes the temp dir. Idempotent; never rejects. */
  stop(): Promise<void>;
}

/** Runs each shutdown step on its own, so one failure does not skip the rest. */
async function shutdown(steps: readonly NamedStep[], logger: Logger): Promise<void> {
  for (const failure of await runEachStep(steps)) {
    logger.warn({ err: failure.error, step: failure.step }, 'lab phone shutdown step failed');
  }
}

export async function startLabPhone(options: LabPhoneOptions): Promise<LabPhone> {
  const adbPort = options.adbPort ?? options.consolePort + 1;
  const serial = `emulator-${options.consolePort}`;
  const logger = options.logger.child({ device: serial });
  await mkdir(options.workDir, { recursive: true });
  const tempDir = await mkdtemp(join(options.workDir, 'lab-phone-'));
  const steps: Array<[string, () => Promise<void> | void]> = [];
  let behaviours: BehaviourRuntime | undefined;
  let stopping: Promise<void> | undefined;
  let markStopped: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    markStopped = resolve;
  });
  const stop = (): Promise<void> => {
    stopping ??= shutdown(
      [
        ['behaviours', () => behaviours?.stop()],
        ...steps.reverse(),
        ['temp dir', () => rm(tempDir, { recursive: true, force: true })],
      ],
      logger,
    ).then(markStopped);
    return stopping;
  };

  try {
    const { image, buildProp } = await loadLabImage(options.imageDir);
    const problems = findProblems(image);
    if (problems.length > 0) {
      throw new CanarytrapError(
        'lab-image-invalid',
        `lab image ${image.name} has behaviours that cannot run: ${problems.map((p) => JSON.stringify(p)).join('; ')}`,
        {
          permanent: true,
        },
      );
    }
    const systemDir = join(tempDir, 'system');
    await mkdir(systemDir);
    await extractSystem(options.imageDir, systemDir);
    const device = createLabDevice({
      image,
      buildProp,
      rootDir: tempDir,
      systemDir,
      consolePort: options.consolePort,
      ...(options.phoneNumber === undefined ? {} : { phoneNumber: options.phoneNumber }),
      avdName: options.avdName ?? `lab_${image.name.replaceAll('-', '_')}`,
      network: options.network,
      logger,
      ...(options.bootDelayMs === undefined ? {} : { bootDelayMs: options.bootDelayMs }),
      // The console writes its reply before this runs; the shutdown then closes the console too.
      onKill: async () => {
        setImmediate(() => void stop());
      },
    });
    await device.os.fs.init();
    steps.push(['os', () => device.os.close()]);
    device.os.start();
    device.os.onBootCompleted(() => {
      // The one place the behaviour engine is started.
      behaviours = startBehaviours(
        image,
        device.host,
        logger.child({ component: 'lab-behaviours' }),
      );
    });

    const authToken = await ensureConsoleAuthToken(options.authTokenFile);
    const consoleServer: ConsoleServer = await startConsoleServer({
      port: options.consolePort,
      authToken,
      authTokenPath: options.authTokenFile,
      console: device.console,
      avdName: device.os.avdName,
      logger,
    });
    steps.push(['console server', () => consoleServer.close()]);
    const adbServer: AdbDeviceServer = await startAdbDeviceServer({
      port: adbPort,
      shell: device.shell,
      fs: device.fileSystem,
      identity: device.identity,
      devicePorts: device.os.devicePorts,
      logger,
    });
    steps.push(['adb server', () => adbServer.close()]);
    if (options.adbServerPort !== undefined) {
      await registerWithAdbServer({ adbServerPort: options.adbServerPort, adbPort });
      const registration: Registration = keepRegistered({
        adbServerPort: options.adbServerPort,
        adbPort,
        connectionCount: () => adbServer.connectionCount,
        logger,
      });
      steps.push(['adb registration', () => registration.close()]);
    }

    return {
      serial,
      consolePort: options.consolePort,
      adbPort,
      image,
      device,
      tempDir,
      stopped,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
