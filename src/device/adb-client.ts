import { execa } from 'execa';
import { CanarytrapError } from '../errors.ts';

export interface AdbClientOptions {
  /** The adb binary. Default `adb`. */
  adbPath?: string;
  /** The adb server port (ANDROID_ADB_SERVER_PORT). Default 5037. */
  serverPort?: number;
  /** Default timeout of one adb command. Default 30 s. */
  timeoutMs?: number;
}

export interface AdbRunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs the real `adb` client against one adb server. Holds no device state: a device object
 * (AdbDevice) carries its serial, so parallel devices never share anything mutable.
 */
export class AdbClient {
  readonly adbPath: string;
  readonly serverPort: number;
  readonly timeoutMs: number;

  constructor(options: AdbClientOptions = {}) {
    this.adbPath = options.adbPath ?? 'adb';
    this.serverPort = options.serverPort ?? 5037;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Runs `adb <args>`; throws `adb-command-failed` / `adb-timeout` unless allowFailure. */
  async run(
    args: string[],
    options: { timeoutMs?: number; allowFailure?: boolean; input?: string | Buffer } = {},
  ): Promise<AdbRunResult> {
    const timeout = options.timeoutMs ?? this.timeoutMs;
    const result = await execa(this.adbPath, args, {
      env: { ANDROID_ADB_SERVER_PORT: String(this.serverPort) },
      timeout,
      reject: false,
      stripFinalNewline: false,
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    });
    if (result.failed && result.code === 'ENOENT') {
      throw new CanarytrapError('adb-missing', `the adb binary "${this.adbPath}" was not found`, {
        permanent: true,
        hint: 'install it (apt-get install adb) or set CANARYTRAP_ADB',
      });
    }
    if (result.timedOut) {
      throw new CanarytrapError(
        'adb-timeout',
        `adb ${args.join(' ')} did not finish within ${timeout} ms`,
        {
          hint: 'the device may be hung; raise the command timeout if it is only slow',
          details: { stdout: String(result.stdout), stderr: String(result.stderr) },
        },
      );
    }
    const out = {
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      exitCode: result.exitCode ?? -1,
    };
    if (out.exitCode !== 0 && !options.allowFailure) {
      throw new CanarytrapError(
        'adb-command-failed',
        `adb ${args.join(' ')} exited with code ${out.exitCode}: ${firstLine(out.stderr || out.stdout)}`,
        { details: { ...out } },
      );
    }
    return out;
  }

  /**
   * Starts the adb server if it is not running. Two `adb start-server` racing against a stopped
   * server each spawn a daemon; the loser kills the winner ("server killed by remote request",
   * "didn't ACK"). So starts against one server are serialised within this process, and a start
   * that lost a race with another process is retried once the dust has settled.
   */
  async startServer(): Promise<void> {
    const key = `${this.adbPath}\0${this.serverPort}`;
    const previous = serverStarts.get(key) ?? Promise.resolve();
    const start = previous.catch(() => undefined).then(() => this.#startServerWithRetry());
    serverStarts.set(key, start);
    try {
      await start;
    } finally {
      if (serverStarts.get(key) === start) serverStarts.delete(key);
    }
  }

  async #startServerWithRetry(): Promise<void> {
    const attempts = 3;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.run(['start-server'], { timeoutMs: 20_000 });
        return;
      } catch (error) {
        if (!(error instanceof CanarytrapError) || error.code !== 'adb-command-failed') throw error;
        if (attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
      }
    }
  }

  /** `adb devices` as serial → state. */
  async devices(): Promise<Map<string, string>> {
    const { stdout } = await this.run(['devices']);
    const devices = new Map<string, string>();
    for (const line of stdout.split('\n').slice(1)) {
      const [serial, state] = line.trim().split(/\s+/);
      if (serial && state) devices.set(serial, state);
    }
    return devices;
  }

  async killServer(): Promise<void> {
    await this.run(['kill-server'], { allowFailure: true, timeoutMs: 10_000 });
  }
}

/** In-flight `adb start-server` per adb binary and server port, shared by every client. */
const serverStarts = new Map<string, Promise<void>>();

export function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.trim() ?? '';
}
