import { destination, pino, type Logger } from 'pino';

export type { Logger };

/**
 * A logger writing JSON lines to stderr, so command output on stdout stays clean for scripts.
 * Bind `jobId`, `stage` and `device` with `.child()` where they are known. The level comes
 * from the config module (CANARYTRAP_LOG_LEVEL).
 */
export function createLogger(level = 'warn'): Logger {
  return pino({ level, base: undefined }, destination(2));
}

/** A logger that drops everything: for library use and tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
