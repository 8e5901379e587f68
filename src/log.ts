import { destination, pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { terminalSafe } from './terminal-text.ts';

export type { Logger };

/**
 * `pretty`: for a person, a line per entry with its fields indented below, coloured on a terminal.
 * `json`: JSON lines, for a program.
 */
export type LogFormat = 'pretty' | 'json';

/** Pretty where a person reads stderr (a terminal), JSON lines where a program does. */
export function defaultLogFormat(stderr: { isTTY?: boolean } = process.stderr): LogFormat {
  return stderr.isTTY ? 'pretty' : 'json';
}

/**
 * A logger writing to stderr, so command output on stdout stays clean for scripts. Bind `jobId`,
 * `stage` and `device` with `.child()` where they are known. The level comes from the config
 * module (CANARYTRAP_LOG_LEVEL).
 */
export function createLogger(level = 'warn', format: LogFormat = defaultLogFormat()): Logger {
  const options = { level, base: undefined };
  if (format === 'json') return pino(options, destination(2));
  const stacks = level === 'debug' || level === 'trace';
  // Synchronous, like destination(2): a line logged just before exit is not lost.
  const stream = pinoPretty({
    destination: 2,
    sync: true,
    colorize: process.stderr.isTTY === true,
    translateTime: 'SYS:HH:MM:ss',
    // An error reads as its message; its stack only where someone asked for debug output.
    ...(stacks ? {} : { errorLikeObjectKeys: [], customPrettifiers: { err: errorMessage } }),
  });
  return pino(options, stream);
}

/** pino-pretty cleans the message line itself, but prints what a prettifier returns as it is. */
function errorMessage(value: unknown): string {
  const message = (value as { message?: unknown } | undefined)?.message;
  return terminalSafe(
    typeof message === 'string' ? message : (JSON.stringify(value) ?? String(value)),
  );
}

/** A logger that drops everything: for library use and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
