import { execa, type ResultPromise } from 'execa';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CanarytrapError, isCanarytrapError } from '../../errors.ts';
import type { AdbClient } from '../adb-client.ts';
import { AdbDevice } from '../adb-device.ts';
import type { Launcher, LaunchRequest, RunningDevice } from '../device.ts';
import { leaseConsolePorts, type LeaseOptions } from '../port-lease.ts';
import { waitUntilBooted } from '../readiness.ts';
import { readReadyLine } from './ready-line.ts';
import { toRunningDevice } from '../running-device.ts';
import { stopProcess } from '../stop-process.ts';

const LAB_MAIN = fileURLToPath(new URL('../../lab/main.ts', import.meta.url));
/** Boot attempts on fresh port pairs when another process takes a leased pair first. */
const PORT_ATTEMPTS = 3;
const PORTS_TAKEN = 'device-ports-taken';

export interface LabPhoneLauncherOptions {
  adb: AdbClient;
  consoleAuthTokenPath: string;
  leases?: LeaseOptions;
}

/**
 * Boots the lab phone: a separate process that speaks the emulator console and adb device
 * protocols and registers with the adb server, so the device path after boot is the one a real
 * emulator takes.
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
    // The lab phone announces itself to the adb server as the emulator does; there must be one.
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
    const lease = await leaseConsolePorts(this.#options.leases);
    const workDir = await mkdtemp(join(tmpdir(), 'canarytrap-lab-phone-'));
    const logger = request.logger.child({ device: `emulator-${lease.consolePort}` });
    const args = [
      '--import',
      'tsx',
      LAB_MAIN,
      '--image-dir',
      request.imageDir,
      '--console-port',
      String(lease.consolePort),
      '--adb-port',
      String(lease.adbPort),
      '--adb-server-port',
      String(this.#options.adb.serverPort),
      '--http-proxy',
      `${request.network.httpProxy.host}:${request.network.httpProxy.port}`,
      '--dns-server',
      `${request.network.dnsServer.host}:${request.network.dnsServer.port}`,
      '--work-dir',
      workDir,
      '--auth-token-file',
      this.#options.consoleAuthTokenPath,
      // If this process dies, even by SIGKILL, the phone sees its stdin close, stops and
      // removes the work dir that the cleanup below could then no longer remove.
      '--exit-with-stdin',
      '--remove-work-dir',
      ...(request.phoneNumber ? ['--phone-number', request.phoneNumber] : []),
    ];
    let child: ResultPromise | undefined;
    const stderrLines: string[] = [];
    const cleanup = async () => {
      if (child) await stopProcess(child, { graceMs: 3_000 });
      await rm(workDir, { recursive: true, force: true });
      await lease.release();
    };
    try {
      // stdin stays an open pipe for the phone's whole life (see --exit-with-stdin above).
      child = execa(process.execPath, args, {
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
      logger.info({ serial: device.serial }, 'lab phone booted');
      return toRunningDevice(device, 'lab-phone', async () => {
        // The console's `kill` is how adb and users stop an emulator; signals only if it hangs.
        await device.console('kill').catch(() => undefined);
        await cleanup();
      });
    } catch (error) {
      await cleanup();
      // The lease checks that the pair is free, but a process outside our lock dir (another
      // user's worker, an emulator started by hand) can bind it before the phone does.
      if (stderrLines.some((line) => /^lab-(console|adb)-port-busy:/.test(line))) {
        throw new CanarytrapError(
          PORTS_TAKEN,
          `ports ${lease.consolePort}/${lease.adbPort} were taken before the lab phone listened`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}
