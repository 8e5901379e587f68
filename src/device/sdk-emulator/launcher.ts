import { runEachStep, type NamedStep } from '../../host/teardown.ts';
import { execa, type ResultPromise } from 'execa';
import { join } from 'node:path';
import { CanarytrapError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { AdbClient } from '../adb-client.ts';
import { AdbDevice } from '../adb-device.ts';
import { openCageCrossing, type CageCrossing } from '../cage-crossing.ts';
import type { Launcher, LaunchRequest, RunningDevice } from '../device.ts';
import { leaseConsolePorts, type LeaseOptions } from '../../host/port-lease.ts';
import { wiringOf } from '../network-wiring.ts';
import { caInstallRemountsSystem } from '../prepare.ts';
import { waitUntilBooted } from '../readiness.ts';
import { toRunningDevice } from '../running-device.ts';
import { stopProcess } from '../../host/processes.ts';
import { createTemporaryAvd, sysdirEntry, type AvdHardware, type TemporaryAvd } from './avd.ts';
import { emulatorArgs, emulatorEnv } from './command-line.ts';
import {
  abiProblem,
  emulatorBinaryPath,
  isExecutable,
  realHost,
  type EmulatorHost,
} from '../../android/sdk-host.ts';
import { readSystemImage, type SystemImageInfo } from '../../android/sdk-image.ts';
import { writeProcessLog, type ProcessLog } from './process-log.ts';

export interface SdkEmulatorLauncherOptions {
  adb: AdbClient;
  /** The Android SDK root (ANDROID_HOME); undefined makes the launcher unavailable. */
  androidHome: string | undefined;
  consoleAuthTokenPath: string;
  leases?: LeaseOptions;
  hardware?: AvdHardware;
  /** Architecture and KVM of this host. Default: the real ones. */
  host?: EmulatorHost;
  /** After console `kill`, how long the emulator gets before SIGTERM, then SIGKILL. Default 10 s. */
  stopGraceMs?: number;
}

/**
 * Boots a submitted emulator system image on the Android SDK emulator as a temporary,
 * read-only AVD on leased ports: inside the run's cage (DNS at its gateway, console and adb
 * relayed out, announced to the adb server from here), or uncaged through the run's proxy and
 * DNS sinkhole.
 */
export class SdkEmulatorLauncher implements Launcher {
  readonly name = 'sdk-emulator' as const;
  readonly #options: SdkEmulatorLauncherOptions;
  readonly #host: EmulatorHost;

  constructor(options: SdkEmulatorLauncherOptions) {
    this.#options = options;
    this.#host = options.host ?? realHost();
  }

  async unavailableReason(imageDir: string): Promise<string | undefined> {
    return (await this.#check(imageDir)).reason;
  }

  async #check(
    imageDir: string,
  ): Promise<
    { reason: string } | { reason?: undefined; androidHome: string; image: SystemImageInfo }
  > {
    const androidHome = this.#options.androidHome;
    if (!androidHome) {
      return {
        reason:
          'ANDROID_HOME is not set: the SDK emulator needs an Android SDK with the emulator package (see `canarytrap doctor`)',
      };
    }
    const binary = emulatorBinaryPath(androidHome);
    if (!(await isExecutable(binary))) {
      return {
        reason: `${binary} is missing or not executable: install it with \`sdkmanager emulator\``,
      };
    }
    const read = await readSystemImage(imageDir);
    if (!read.ok) return { reason: read.problem };
    const abi = await abiProblem(read.info.abi, this.#host);
    if (abi) return { reason: abi };
    return { androidHome, image: read.info };
  }

  async launch(request: LaunchRequest): Promise<RunningDevice> {
    const checked = await this.#check(request.imageDir);
    if (checked.reason !== undefined) {
      throw new CanarytrapError('emulator-unavailable', checked.reason, { permanent: true });
    }
    const { androidHome, image } = checked;
    const wiring = wiringOf(request);
    const adb = this.#options.adb;
    // The emulator registers with the adb server at start; there must be one on our port.
    await adb.startServer();
    const acceleration = (await this.#host.kvmAccessible()) ? 'auto' : 'off';
    const lease = await leaseConsolePorts(this.#options.leases);
    const logger = request.logger.child({ device: `emulator-${lease.consolePort}` });
    let avd: TemporaryAvd | undefined;
    let child: ResultPromise | undefined;
    let log: ProcessLog | undefined;
    let device: AdbDevice | undefined;
    let crossing: CageCrossing | undefined;
    const teardown = () =>
      runEach(logger, [
        // The console's `kill` lets the emulator shut down cleanly; signals only if it hangs.
        [
          'console kill',
          async () => {
            if (!device || !child || hasExited(child)) return;
            await device.console('kill');
            await exitWithin(child, this.#options.stopGraceMs ?? 10_000);
          },
        ],
        // After the console kill, which goes through the relay; before a forced stop, so an
        // emulator on its way out is not announced again.
        ['close the cage crossing', async () => crossing?.close()],
        [
          'stop emulator process',
          async () => {
            if (child) await stopProcess(child, { graceMs: this.#options.stopGraceMs ?? 10_000 });
          },
        ],
        ['close emulator log', async () => log?.close()],
        ['remove temporary AVD', async () => avd?.remove()],
        ['release ports', () => lease.release()],
      ]);
    try {
      avd = await createTemporaryAvd({
        image,
        sysdir: sysdirEntry(request.imageDir, androidHome),
        label: String(lease.consolePort),
        ...(this.#options.hardware ? { hardware: this.#options.hardware } : {}),
      });
      const args = emulatorArgs({
        avdName: avd.name,
        imageDir: request.imageDir,
        consolePort: lease.consolePort,
        adbPort: lease.adbPort,
        network: wiring,
        writableSystem: caInstallRemountsSystem(image.apiLevel),
        pcapPath: request.network.pcapPath ?? join(request.runDir, 'emulator.pcap'),
        acceleration,
        ...(request.phoneNumber ? { phoneNumber: request.phoneNumber } : {}),
      });
      logger.info(
        { args, abi: image.abi, apiLevel: image.apiLevel, network: wiring.mode },
        'starting emulator',
      );
      const binary = emulatorBinaryPath(androidHome);
      // In a cage the emulator's user-mode network opens its host sockets inside the namespace,
      // so every guest packet is the cage's; its console and adb ports are relayed out.
      if (wiring.mode === 'caged') {
        crossing = await openCageCrossing({
          cage: wiring.cage,
          consolePort: lease.consolePort,
          adbPort: lease.adbPort,
          adbServerPort: adb.serverPort,
          logger,
        });
      }
      const command =
        wiring.mode === 'caged' ? wiring.cage.wrap(binary, args) : { file: binary, args };
      // stdin stays an open pipe and `cleanup` kills the emulator when this process exits.
      const running = execa(command.file, command.args, {
        env: emulatorEnv({
          androidHome,
          avdHome: avd.avdHome,
          adbServerPort: adb.serverPort,
        }),
        stdin: 'pipe',
        stdout: 'pipe',
        stderr: 'pipe',
        reject: false,
        cleanup: true,
        cwd: avd.avdDir,
      });
      child = running;
      // The emulator's own announcement cannot leave the cage; ours is repeated until listed.
      crossing?.announce();
      const processLog = writeProcessLog(running, join(request.runDir, 'emulator.log'));
      log = processLog;
      device = new AdbDevice({
        adb,
        consolePort: lease.consolePort,
        adbPort: lease.adbPort,
        consoleAuthTokenPath: this.#options.consoleAuthTokenPath,
      });
      await waitUntilBooted(device, {
        timeoutMs: request.bootTimeoutMs ?? 180_000,
        aborted: () =>
          hasExited(running)
            ? `emulator exited (${running.exitCode ?? running.signalCode}): ${processLog.tail() || 'no output'}`
            : undefined,
        ...(request.signal ? { signal: request.signal } : {}),
      });
      logger.info({ serial: device.serial }, 'emulator booted');
      return toRunningDevice(device, 'sdk-emulator', teardown);
    } catch (error) {
      await teardown();
      throw error;
    }
  }
}

function hasExited(child: ResultPromise): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves when the process has exited or `ms` have passed, whichever comes first. */
async function exitWithin(child: ResultPromise, ms: number): Promise<void> {
  if (hasExited(child)) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    new Promise<void>((resolve) => child.once('exit', () => resolve())),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/** Runs every teardown step, each on its own, so one failure never skips the rest. */
async function runEach(logger: Logger, steps: readonly NamedStep[]): Promise<void> {
  for (const failure of await runEachStep(steps)) {
    logger.debug({ err: failure.error, step: failure.step }, 'teardown step failed');
  }
}
