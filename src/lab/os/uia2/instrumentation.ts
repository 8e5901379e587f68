import type { Logger } from '../../../log.ts';
import type { LabOs } from '../lab-os.ts';
import type { InstrumentRequest, Instrumentations } from '../instrumentations.ts';
import type { CommandResult } from '../shell/result.ts';
import { startUia2Server, type Uia2Server } from './server.ts';

export const UIA2_SERVER_PACKAGE = 'io.appium.uiautomator2.server';
export const UIA2_TEST_PACKAGE = `${UIA2_SERVER_PACKAGE}.test`;
/** Where the UiAutomator2 server listens on the device unless the instrumentation names a port. */
export const UIA2_DEVICE_PORT = 6790;

type Ending = 'finished' | 'killed';

interface Running {
  testPackage: string;
  targetPackage: string;
  server: Uia2Server;
  devicePort: number;
  ended: Promise<Ending>;
  end(how: Ending): void;
}

/** The test class AndroidJUnitRunner names when the server's one test starts. */
const TEST_CLASS_LINE = `\n${UIA2_TEST_PACKAGE}.AppiumUiAutomator2Server:`;

/** What `am instrument -w` prints after the class line when the server's test returns. */
function junitSummary(started: number): string {
  const seconds = ((Date.now() - started) / 1000).toFixed(3);
  return `.\n\nTime: ${seconds}\n\nOK (1 test)\n\n\n`;
}

/** What it prints after the class line when the server's process is killed. */
const CRASHED = '\nINSTRUMENTATION_RESULT: shortMsg=Process crashed.\nINSTRUMENTATION_CODE: 0\n';

/**
 * Runs instrumentations (`am instrument`). The one modelled is the UiAutomator2 server's: its
 * HTTP server listens on an ephemeral host port registered as device port 6790, and it runs until
 * its session is deleted, `am force-stop` kills it, the `-w` caller goes away, or the phone stops.
 */
export class InstrumentationRunner implements Instrumentations {
  readonly #os: LabOs;
  readonly #logger: Logger;
  readonly #running = new Set<Running>();

  constructor(os: LabOs, logger: Logger) {
    this.#os = os;
    this.#logger = logger.child({ component: 'lab-instrumentation' });
  }

  /**
   * `am instrument`; with `-w` it returns when the instrumentation ends. `stream`, when the
   * caller reads output as it comes, gets the class line at once, as the real runner prints it.
   */
  async run(
    request: InstrumentRequest,
    signal: AbortSignal,
    stream?: (data: string) => Promise<void>,
  ): Promise<CommandResult> {
    const [testPackage = '', runner = ''] = request.component.split('/');
    const test = this.#os.packages.get(testPackage);
    const instrumentation = test?.instrumentation;
    const runnerClass = runner.startsWith('.') ? `${testPackage}${runner}` : runner;
    if (instrumentation === undefined || instrumentation.name !== runnerClass) {
      const message = `Unable to find instrumentation info for: ComponentInfo{${testPackage}/${runnerClass}}`;
      return {
        stdout: `INSTRUMENTATION_STATUS: id=ActivityManagerService\nINSTRUMENTATION_STATUS: Error=${message}\nINSTRUMENTATION_STATUS_CODE: -1\n`,
        stderr: `android.util.AndroidException: INSTRUMENTATION_FAILED: ${testPackage}/${runnerClass}\n`,
        exitCode: 1,
      };
    }
    const targetPackage = instrumentation.targetPackage;
    if (this.#os.packages.get(targetPackage) === undefined) {
      return {
        stdout: `INSTRUMENTATION_RESULT: shortMsg=java.lang.RuntimeException\nINSTRUMENTATION_RESULT: longMsg=Unable to instantiate instrumentation: target package ${targetPackage} is not installed\nINSTRUMENTATION_CODE: 0\n`,
        exitCode: 0,
      };
    }
    if (testPackage !== UIA2_TEST_PACKAGE) {
      // Only the UiAutomator2 server is modelled; any other test package has no tests to run.
      return { stdout: request.wait ? '\nTime: 0.001\n\nOK (0 tests)\n\n\n' : '', exitCode: 0 };
    }
    const started = Date.now();
    const running = await this.#start(testPackage, targetPackage, request);
    if (running === undefined)
      return { stdout: request.wait ? TEST_CLASS_LINE + CRASHED : '', exitCode: 0 };
    if (!request.wait) return { exitCode: 0 };
    if (stream !== undefined) await stream(TEST_CLASS_LINE);
    const onAbort = (): void => running.end('killed');
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) running.end('killed');
    const how = await running.ended;
    signal.removeEventListener('abort', onAbort);
    const ending = how === 'finished' ? junitSummary(started) : CRASHED;
    return { stdout: stream === undefined ? TEST_CLASS_LINE + ending : ending, exitCode: 0 };
  }

  async #start(
    testPackage: string,
    targetPackage: string,
    request: InstrumentRequest,
  ): Promise<Running | undefined> {
    const portText = request.extras.get('port');
    const devicePort = portText === undefined ? UIA2_DEVICE_PORT : Number(portText);
    let end: (how: Ending) => void = () => undefined;
    const ended = new Promise<Ending>((resolve) => {
      end = resolve;
    });
    const server = await startUia2Server({
      os: this.#os,
      logger: this.#logger,
      onShutdown: () => end('finished'),
    });
    if (!this.#os.devicePorts.register(devicePort, server.hostPort)) {
      // The port is taken (another server instance): the new one dies on its BindException.
      this.#logger.warn({ devicePort }, 'uiautomator2 server: device port already in use');
      await server.close();
      return undefined;
    }
    const running: Running = {
      testPackage,
      targetPackage,
      server,
      devicePort,
      ended,
      end: (how) => end(how),
    };
    this.#running.add(running);
    this.#os.pidOf(targetPackage);
    this.#logger.info({ devicePort, hostPort: server.hostPort }, 'uiautomator2 server started');
    void ended.then(async () => {
      this.#running.delete(running);
      this.#os.devicePorts.unregister(devicePort, server.hostPort);
      this.#os.endProcess(targetPackage);
      await server.close();
      this.#logger.info({ devicePort }, 'uiautomator2 server stopped');
    });
    return running;
  }

  /** True while an instrumentation of this package (test or target) runs. */
  isRunning(pkg: string): boolean {
    return [...this.#running].some((r) => r.testPackage === pkg || r.targetPackage === pkg);
  }

  /** `am force-stop <pkg>`: kills instrumentations whose test or target package it is. */
  forceStop(pkg: string): void {
    for (const running of this.#running) {
      if (running.testPackage === pkg || running.targetPackage === pkg) running.end('killed');
    }
  }

  /** The phone stops: every instrumentation dies with it. */
  async close(): Promise<void> {
    const all = [...this.#running];
    for (const running of all) running.end('killed');
    await Promise.all(all.map((r) => r.server.close()));
  }
}
