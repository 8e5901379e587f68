import { loadConfig, type Config } from '../config.ts';
import { CanarytrapError, describeError } from '../errors.ts';
import { createLogger, defaultLogFormat, type LogFormat, type Logger } from '../log.ts';
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

const ENVIRONMENT_CODES = new Set([
  'redis-missing',
  'redis-not-configured',
  'redis-url-invalid',
  'redis-unreachable',
  'redis-start-failed',
  'redis-start-timeout',
  'adb-missing',
  'tool-missing',
]);

/** Maps an error to one line on stderr and an exit code; a stack only with CANARYTRAP_LOG_LEVEL=debug. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CanarytrapError) {
    if (ENVIRONMENT_CODES.has(error.code)) return EXIT.environment;
    if (error.expected) return EXIT.input;
    return EXIT.runFailed;
  }
  return EXIT.internal;
}

/** Wraps a command action: errors become one line and an exit code, never a stack trace. */
export function action<A extends unknown[]>(
  run: (...args: A) => Promise<number | void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await run(...args);
      process.exitCode = code ?? EXIT.ok;
    } catch (error) {
      process.stderr.write(`canarytrap: ${describeError(error)}\n`);
      if (debugEnabled() && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
      process.exitCode = exitCodeFor(error);
    }
  };
}

function debugEnabled(): boolean {
  try {
    return loadConfig().logLevel === 'debug';
  } catch {
    return false;
  }
}
