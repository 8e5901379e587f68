import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CanarytrapError, isCanarytrapError } from '../../errors.ts';
import type { AdbClient } from '../adb-client.ts';
import type { Cage } from '../../capture/cage/index.ts';
import { runEachStep } from '../../host/teardown.ts';
import type { Logger } from '../../log.ts';
import { AdbDevice } from '../adb-device.ts';
import { openCageCrossing, type CageCrossing } from '../cage-crossing.ts';
import { wiringOf } from '../network-wiring.ts';
import { labPhoneArgs } from './command-line.ts';
import type { DeviceInstrumentation, Launcher, LaunchRequest, RunningDevice } from '../device.ts';
import { leaseConsolePorts, type LeaseOptions } from '../../host/port-lease.ts';
import { waitUntilBooted } from '../readiness.ts';
import { readReadyLine } from './ready-line.ts';
import { toRunningDevice } from '../running-device.ts';
import { stopProcess } from '../../host/processes.ts';

const LAB_MAIN = fileURLToPath(new URL('../../lab/main.ts', import.meta.url));
/** Boot attempts on fresh port pairs when another process takes a leased pair first. */
const PORT_ATTEMPTS = 3;
const PORTS_TAKEN = 'device-ports-taken';
/** No frida-server runs on the lab phone; it writes its own apps' events, in the same schema. */
const LAB_PHONE_INSTRUMENTATION: DeviceInstrumentation = {
  fridaUnavailable: 'the lab phone runs no frida-server',
  ownEvents: {
    note: "the lab phone reported its apps' events itself",
    summary: 'lab phone events (no Frida)',
  },
};

export interface LabPhoneLauncherOptions {
  adb: AdbClient;
  consoleAuthTokenPath: string;
  leases?: LeaseOptions;
}

/**
 * Boots the lab phone: a separate process that speaks the emulator console and adb device
 * protocols, so the device path after boot is the one a real emulator takes. In a cage it runs
 * inside the cage's namespace, its ports are relayed out and it is announced to the adb server
 * from here; uncaged it announces itself and its apps go through the run's proxy.
 */
export class LabPhoneLauncher implements Launcher {
  readonly name = 'lab-phone' as const;
  readonly #options: LabPhoneLauncherOptions;

  constructor(options: LabPhoneLauncherOptions) {
    this.#options = options;
  }

  async unavailableReason(imageDir: string): Promise<string | undefined> {
    const image = await stat(join(imageDir, 'system.img')).catch(() => undefined);
    return image?.isFile() ? undefined : `${imageDir} holds no system.img`;
  }

  async launch(request: LaunchRequest): Promise<RunningDevice> {
    // The lab phone (uncaged) or this launcher (caged) announces it to the adb server.
    await this.#options.adb.startServer();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#launchOnLeasedPorts(request);
      } catch (error) {
        if (!isCanarytrapError(error) || error.code !== PORTS_TAKEN || attempt >= PORT_ATTEMPTS)
          throw error;
        request.logger.info(
          { err: error },
          'lab phone ports taken meanwhile; leasing another pair',
        );
      }
    }
  }

  async #launchOnLeasedPorts(request: LaunchRequest): Promise<RunningDevice> {
    const wiring = wiringOf(request);
    const lease = await leaseConsolePorts(this.#options.leases);
    const workDir = await mkdtemp(join(tmpdir(), 'canarytrap-lab-phone-'));
    const logger = request.logger.child({ device: `emulator-${lease.consolePort}` });
    const args = labPhoneArgs({
      labMain: LAB_MAIN,
      imageDir: request.imageDir,
      consolePort: lease.consolePort,
      adbPort: lease.adbPort,
      adbServerPort: this.#options.adb.serverPort,
      network: wiring,
      workDir,
      authTokenFile: this.#options.consoleAuthTokenPath,
      ...(request.phoneNumber ? { phoneNumber: request.phoneNumber } : {}),
    });
    let child: ResultPromise | undefined;
    let crossing: CageCrossing | undefined;
    const stderrLines: string[] = [];
    const cleanup = async (): Promise<void> => {
      const failures = await runEachStep([
        // First, so a phone on its way out is not announced again.
        ['close the cage crossing', async () => crossing?.close()],
        ['stop the lab phone', async () => child && stopProcess(child, { graceMs: 3_000 })],
        ['remove the work dir', () => rm(workDir, { recursive: true, force: true })],
        ['release ports', () => lease.release()],
      ]);
      for (const failure of failures) {
        logger.warn({ err: failure.error, step: failure.step }, 'lab phone cleanup step failed');
      }
    };
    try {
      if (wiring.mode === 'caged') crossing = await this.#openCrossing(wiring.cage, lease, logger);
      const command =
        wiring.mode === 'caged'
          ? wiring.cage.wrap(process.execPath, args)
          : { file: process.execPath, args };
      // stdin stays an open pipe for the phone's whole life (see --exit-with-stdin).
      child = execa(command.file, command.args, {
        stdin: 'pipe',
        stdout: 'pipe',
        stderr: 'pipe',
        reject: false,
        cleanup: true,
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          stderrLines.push(line);
          if (stderrLines.length > 50) stderrLines.shift();
          logger.debug({ lab: line }, 'lab phone');
        }
      });
      const running = child;
      const ready = await readReadyLine(running, request.bootTimeoutMs ?? 30_000, () =>
        stderrLines.slice(-5).join('\n'),
      );
      if (ready.serial !== `emulator-${lease.consolePort}`) {
        throw new CanarytrapError(
          'device-unexpected-output',
          `lab phone announced ${ready.serial}, expected emulator-${lease.consolePort}`,
        );
      }
      // Caged, the phone cannot reach the adb server: it is announced from here, now that it listens.
      crossing?.announce();
      const device = new AdbDevice({
        adb: this.#options.adb,
        consolePort: lease.consolePort,
        adbPort: lease.adbPort,
        consoleAuthTokenPath: this.#options.consoleAuthTokenPath,
      });
      await waitUntilBooted(device, {
        timeoutMs: request.bootTimeoutMs ?? 30_000,
        aborted: () =>
          running.exitCode !== null ? `exited with code ${running.exitCode}` : undefined,
        ...(request.signal ? { signal: request.signal } : {}),
      });
      logger.info({ serial: device.serial, network: wiring.mode }, 'lab phone booted');
      return toRunningDevice(
        device,
        'lab-phone',
        async () => {
          // The console's `kill` is how adb and users stop an emulator; signals only if it hangs.
          await device.console('kill').catch(() => undefined);
          await cleanup();
        },
        LAB_PHONE_INSTRUMENTATION,
      );
    } catch (error) {
      await cleanup();
      // The lease checks that the pair is free, but a process outside our lock dir (another
      // user's worker, an emulator started by hand) can bind it before the phone or the relay.
      if (
        stderrLines.some((line) => /^lab-(console|adb)-port-busy:/.test(line)) ||
        (isCanarytrapError(error) && error.code === 'cage-relay-port-busy')
      ) {
        throw new CanarytrapError(
          PORTS_TAKEN,
          `ports ${lease.consolePort}/${lease.adbPort} were taken before the lab phone listened`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** The relays that carry the host's console and adb ports into the cage. */
  #openCrossing(
    cage: Cage,
    lease: { consolePort: number; adbPort: number },
    logger: Logger,
  ): Promise<CageCrossing> {
    return openCageCrossing({
      cage,
      consolePort: lease.consolePort,
      adbPort: lease.adbPort,
      adbServerPort: this.#options.adb.serverPort,
      logger,
    });
  }
}
