import { execa, type ResultPromise } from 'execa';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import { CanarytrapError, isCanarytrapError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { pollUntil } from '../host/poll.ts';
import { freePort } from '../host/ports.ts';
import { APPIUM_ENTRY, checkAppiumInstall } from './appium-home.ts';

const GUARD = fileURLToPath(new URL('./appium-guard.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Start attempts on fresh ports, for when another process binds the chosen port first. */
const START_ATTEMPTS = 2;

export interface AppiumServerOptions {
  /** Appium's home, holding the UiAutomator2 driver (config `appiumHome`). */
  appiumHome: string;
  /** ANDROID_HOME given to Appium: the driver runs `<androidHome>/platform-tools/adb`. */
  androidHome: string | undefined;
  /** The adb server port the devices are registered with (config `adbServerPort`). */
  adbServerPort: number;
  /** Where Appium's log file goes (`appium-<time>-<port>.log`). */
  logDir: string;
  logger: Logger;
  /** Appium's entry script, run with this Node. Default: the appium npm package's. */
  appiumEntry?: string;
  /** How long Appium may take to answer GET /status. Default 60 s. */
  startTimeoutMs?: number;
}

/** A running Appium server, as sessions see it. */
export interface AppiumEndpoint {
  hostname: string;
  port: number;
  logPath: string;
}

interface Running {
  endpoint: AppiumEndpoint;
  guard: ResultPromise;
  /** Appium's pid, which is also its process group id (the guard makes it a group leader). */
  appiumPid: number | undefined;
}

/**
 * One Appium server per worker host, shared by the worker's jobs. It starts on first need and
 * stops when the worker closes. It runs under appium-guard.ts, whose stdin this process holds:
 * if the worker dies, SIGKILL included, the guard sees the pipe close and kills Appium's whole
 * process group, so no Appium outlives its worker.
 */
export class AppiumServer {
  readonly #options: AppiumServerOptions;
  #running: Promise<Running> | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options: AppiumServerOptions) {
    this.#options = options;
  }

  /** The running server; starts it on first call, and again if it died since. */
  async endpoint(): Promise<AppiumEndpoint> {
    if (this.#stopped) {
      throw new CanarytrapError('appium-stopped', 'the worker is closing; Appium was stopped');
    }
    const current = this.#running;
    if (current) {
      const running = await current.catch(() => undefined);
      if (running && running.guard.exitCode === null && running.guard.signalCode === null) {
        return running.endpoint;
      }
      // A failed start or a server that died is retried, so one bad moment fails one job only.
      if (this.#running === current) this.#running = undefined;
    }
    this.#running ??= this.#start();
    return (await this.#running).endpoint;
  }

  /** Stops Appium and reaps it. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      const running = await this.#running?.catch(() => undefined);
      if (running) await stopRunning(running);
    })();
    return this.#stopped;
  }

  async #start(): Promise<Running> {
    const entry = this.#options.appiumEntry ?? APPIUM_ENTRY;
    await checkAppiumInstall(entry, this.#options.appiumHome);
    await mkdir(this.#options.logDir, { recursive: true });
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#startOnce(entry);
      } catch (error) {
        const retry =
          isCanarytrapError(error) &&
          error.details?.['portTaken'] === true &&
          attempt < START_ATTEMPTS;
        if (!retry) throw error;
      }
    }
  }

  async #startOnce(entry: string): Promise<Running> {
    const port = await freePort();
    const stamp = new Date().toISOString().replaceAll(':', '').replace(/\..*$/, '');
    const logPath = join(this.#options.logDir, `appium-${stamp}-${port}.log`);
    const env: Record<string, string> = {
      APPIUM_HOME: this.#options.appiumHome,
      ANDROID_ADB_SERVER_PORT: String(this.#options.adbServerPort),
      ...(this.#options.androidHome
        ? { ANDROID_HOME: this.#options.androidHome, ANDROID_SDK_ROOT: this.#options.androidHome }
        : {}),
    };
    const guard = execa(
      process.execPath,
      [
        '--import',
        'tsx',
        GUARD,
        logPath,
        process.execPath,
        entry,
        '--address',
        '127.0.0.1',
        '--port',
        String(port),
        '--log-no-colors',
        '--log-timestamp',
      ],
      {
        env,
        cwd: REPO_ROOT,
        // stdin stays an open pipe for the worker's whole life (see appium-guard.ts).
        stdin: 'pipe',
        stdout: 'pipe',
        stderr: 'pipe',
        reject: false,
        cleanup: true,
      },
    );
    const running: Running = {
      endpoint: { hostname: '127.0.0.1', port, logPath },
      guard,
      appiumPid: undefined,
    };
    guard.stdout?.on('data', (chunk: Buffer) => {
      const match = /^pid (\d+)$/m.exec(chunk.toString());
      if (match) running.appiumPid = Number(match[1]);
    });
    const guardErrors: string[] = [];
    guard.stderr?.on('data', (chunk: Buffer) => guardErrors.push(chunk.toString()));
    const timeoutMs = this.#options.startTimeoutMs ?? 60_000;
    try {
      await waitForStatus(running, timeoutMs);
    } catch (cause) {
      await stopRunning(running);
      const tail = await logTail(logPath, guardErrors.join(''));
      const portTaken = /EADDRINUSE/.test(tail);
      throw new CanarytrapError(
        'appium-start-failed',
        `Appium did not start on 127.0.0.1:${port}: ${describeCause(cause)}${tail ? `\n${tail}` : ''}`,
        {
          cause,
          hint: `see ${logPath}; a slow host may need a longer start timeout`,
          details: { logPath, portTaken },
        },
      );
    }
    this.#options.logger.info({ port, logPath }, 'Appium server up');
    return running;
  }
}

/** The host's Appium server as the config describes it; its logs go to `<dataRoot>/logs`. */
export function appiumServerFor(config: Config, logger: Logger): AppiumServer {
  return new AppiumServer({
    appiumHome: config.appiumHome,
    androidHome: config.appiumAndroidHome,
    adbServerPort: config.adbServerPort,
    logDir: join(config.dataRoot, 'logs'),
    logger,
  });
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** Polls GET /status until Appium says it is ready, the guard exits, or time runs out. */
async function waitForStatus(running: Running, timeoutMs: number): Promise<void> {
  const { hostname, port } = running.endpoint;
  await pollUntil({
    what: `Appium's GET /status on ${hostname}:${port}`,
    probe: () =>
      fetch(`http://${hostname}:${port}/status`, { signal: AbortSignal.timeout(2_000) })
        .then(async (response) => {
          if (!response.ok) return false;
          const body = (await response.json()) as { value?: { ready?: boolean } };
          return body.value?.ready !== false;
        })
        .catch(() => false),
    timeoutMs,
    setting: 'startTimeoutMs',
    giveUp: () =>
      running.guard.exitCode !== null || running.guard.signalCode !== null
        ? new Error(
            `it exited (${running.guard.exitCode ?? running.guard.signalCode}) before answering /status`,
          )
        : undefined,
    timeout: { message: `GET /status did not answer ready within ${timeoutMs} ms` },
  });
}

async function stopRunning(running: Running): Promise<void> {
  const { guard } = running;
  if (guard.exitCode === null && guard.signalCode === null) {
    // Closing stdin is the guard's cue to stop the group (SIGTERM, then SIGKILL after 3 s).
    guard.stdin?.end();
    const timer = setTimeout(() => {
      guard.kill('SIGKILL');
      if (running.appiumPid !== undefined) {
        try {
          process.kill(-running.appiumPid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }, 8_000);
    await guard.catch(() => undefined);
    clearTimeout(timer);
  } else {
    await guard.catch(() => undefined);
  }
}

/** The last lines Appium logged, for an error message. */
async function logTail(logPath: string, extra: string, lines = 15): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  return `${text}${extra}`.trimEnd().split('\n').slice(-lines).join('\n');
}
