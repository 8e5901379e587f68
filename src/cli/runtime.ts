import { loadConfig, type Config } from '../config.ts';
import { CanarytrapError, describeError } from '../errors.ts';
import { createLogger, defaultLogFormat, type LogFormat, type Logger } from '../log.ts';
import { terminalSafe, terminalSafeLines } from '../terminal-text.ts';
import { openRunStore } from '../run/run-store.ts';
import { EXIT } from './exit-codes.ts';

export interface CliRuntime {
  config: Config;
  logger: Logger;
}

/** `logFormat`: default pretty when stderr is a terminal, JSON lines otherwise. */
export function cliRuntime(options: { logFormat?: LogFormat } = {}): CliRuntime {
  const config = loadConfig();
  return {
    config,
    logger: createLogger(config.logLevel, options.logFormat ?? defaultLogFormat()),
  };
}

/** A flag out of its range or of the wrong kind: exit 2, as commander's own refusals. */
const USAGE_CODES = new Set([
  'options-invalid',
  'concurrency-invalid',
  'timeout-invalid',
  'port-invalid',
  'console-port-invalid',
]);

const ENVIRONMENT_CODES = new Set([
  'redis-missing',
  'redis-not-configured',
  'redis-url-invalid',
  'redis-unreachable',
  'redis-start-failed',
  'redis-start-timeout',
  'store-unavailable',
  'adb-missing',
  'tool-missing',
  'port-in-use',
  'port-forbidden',
  'address-unavailable',
]);

/** Maps an error to one line on stderr and an exit code; a stack only with CANARYTRAP_LOG_LEVEL=debug. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CanarytrapError) {
    if (USAGE_CODES.has(error.code)) return EXIT.usage;
    if (ENVIRONMENT_CODES.has(error.code)) return EXIT.environment;
    if (error.expected) return EXIT.input;
    return EXIT.runFailed;
  }
  return EXIT.internal;
}

/**
 * Wraps a command action: errors become one line and an exit code, never a stack trace. The line
 * is terminal-safe: messages quote file names, build properties and what a capture held.
 */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<number | void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await openStoreOfConfig();
      const code = await run(...args);
      process.exitCode = code ?? EXIT.ok;
    } catch (error) {
      process.stderr.write(`canarytrap: ${terminalSafe(describeError(error))}\n`);
      if (debugEnabled() && error instanceof Error)
        process.stderr.write(`${terminalSafeLines(error.stack ?? '')}\n`);
      process.exitCode = exitCodeFor(error);
    }
  };
}

/**
 * The shared run store, when one is configured, registered before the command runs: every read
 * of a run (report, diff, watch, rerun) then finds runs other hosts finished. A configuration
 * error is left for the command to report.
 */
async function openStoreOfConfig(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch {
    return;
  }
  await openRunStore(config);
}

function debugEnabled(): boolean {
  try {
    return loadConfig().logLevel === 'debug';
  } catch {
    return false;
  }
}
