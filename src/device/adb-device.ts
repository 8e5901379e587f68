import { CanarytrapError } from '../errors.ts';
import { pollUntil } from '../host/poll.ts';
import type { AdbClient } from './adb-client.ts';
import { firstLine } from './adb-client.ts';
import { consoleCommand } from './console-client.ts';
import type { Device, ShellOptions, ShellResult } from './device.ts';

export interface AdbDeviceOptions {
  adb: AdbClient;
  consolePort: number;
  /** Default consolePort + 1, as the emulator pairs them. */
  adbPort?: number;
  consoleAuthTokenPath: string;
}

/**
 * A device reached through real `adb` and the emulator console. The same class serves the SDK
 * emulator and the lab phone: nothing after boot knows which one it got.
 */
export class AdbDevice implements Device {
  readonly serial: string;
  readonly consolePort: number;
  readonly adbPort: number;
  readonly #adb: AdbClient;
  readonly #tokenPath: string;
  #abi: string | undefined;
  #apiLevel: number | undefined;

  constructor(options: AdbDeviceOptions) {
    this.consolePort = options.consolePort;
    this.adbPort = options.adbPort ?? options.consolePort + 1;
    this.serial = `emulator-${options.consolePort}`;
    this.#adb = options.adb;
    this.#tokenPath = options.consoleAuthTokenPath;
  }

  async shell(command: string, options: ShellOptions = {}): Promise<ShellResult> {
    const result = await this.#adb.run(['-s', this.serial, 'shell', command], {
      allowFailure: true,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    if (result.exitCode !== 0 && !options.allowFailure) {
      throw new CanarytrapError(
        'device-command-failed',
        `"${command}" on ${this.serial} exited with code ${result.exitCode}: ${firstLine(result.stderr || result.stdout)}`,
        { details: { ...result, serial: this.serial } },
      );
    }
    return result;
  }

  async push(localPath: string, remotePath: string): Promise<void> {
    await this.#adb.run(['-s', this.serial, 'push', localPath, remotePath], { timeoutMs: 120_000 });
  }

  async pull(remotePath: string, localPath: string): Promise<void> {
    await this.#adb.run(['-s', this.serial, 'pull', remotePath, localPath], { timeoutMs: 120_000 });
  }

  async install(apkPath: string): Promise<void> {
    const result = await this.#adb.run(['-s', this.serial, 'install', '-r', '-g', apkPath], {
      timeoutMs: 180_000,
    });
    if (!/Success/.test(result.stdout)) {
      throw new CanarytrapError(
        'apk-install-failed',
        `installing ${apkPath} on ${this.serial}: ${firstLine(result.stdout + result.stderr)}`,
      );
    }
  }

  async console(command: string): Promise<string> {
    return consoleCommand(command, { port: this.consolePort, authTokenPath: this.#tokenPath });
  }

  async abi(): Promise<string> {
    this.#abi ??= (await this.shell('getprop ro.product.cpu.abi')).stdout.trim();
    return this.#abi;
  }

  async apiLevel(): Promise<number> {
    if (this.#apiLevel === undefined) {
      const text = (await this.shell('getprop ro.build.version.sdk')).stdout.trim();
      const level = Number(text);
      if (!Number.isInteger(level)) {
        throw new CanarytrapError(
          'device-unexpected-output',
          `ro.build.version.sdk on ${this.serial} is "${text}"`,
        );
      }
      this.#apiLevel = level;
    }
    return this.#apiLevel;
  }

  async forward(remotePort: number, localPort = 0): Promise<number> {
    const { stdout } = await this.#adb.run([
      '-s',
      this.serial,
      'forward',
      `tcp:${localPort}`,
      `tcp:${remotePort}`,
    ]);
    // With tcp:0, adb prints the port it chose.
    const chosen = localPort === 0 ? Number(stdout.trim()) : localPort;
    if (!Number.isInteger(chosen) || chosen <= 0) {
      throw new CanarytrapError(
        'adb-forward-failed',
        `adb forward to device port ${remotePort} printed "${stdout.trim()}"`,
      );
    }
    return chosen;
  }

  /** adb's own view of the device: `device`, `offline`, or undefined when not listed. */
  async state(): Promise<string | undefined> {
    return (await this.#adb.devices()).get(this.serial);
  }

  /** `adb root` and wait until the device answers as root. */
  async root(timeoutMs = 20_000): Promise<void> {
    await this.#adb.run(['-s', this.serial, 'root'], { allowFailure: true });
    await pollUntil({
      what: `${this.serial} running as root`,
      probe: async () => {
        const id = await this.shell('id', { allowFailure: true }).catch(() => undefined);
        return id?.stdout.includes('uid=0(') === true;
      },
      timeoutMs,
      setting: 'root(timeoutMs)',
      timeout: {
        code: 'device-root-failed',
        message: `${this.serial} did not run as root within ${timeoutMs} ms after adb root`,
        hint: 'use a userdebug or eng image (Google APIs images without Play Store), which allow adb root',
      },
    });
  }
}
