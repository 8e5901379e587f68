import { setTimeout as sleep } from 'node:timers/promises';
import { CanarytrapError } from '../errors.ts';

/** Time as a wait sees it; tests inject one that does not sleep. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  },
};

export interface PollOptions<T> {
  /** What is awaited, in words for the timeout error: `frida-server on 127.0.0.1:27042`. */
  what: string;
  /** Resolves with the awaited value, or with undefined or false while it does not hold yet. */
  probe: () => Promise<T | undefined | false>;
  timeoutMs: number;
  /** The setting that raises timeoutMs, named in the timeout error (`bootTimeoutMs`). */
  setting: string;
  /** Between probes. Default 250 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Default the real clock. */
  clock?: Clock;
  /** Asked before every probe: an error to stop with now (the awaited process died). */
  giveUp?: () => Error | undefined;
  /** The timeout error, where a caller's code or words say more than the defaults. */
  timeout?: { code?: string; message?: string; hint?: string };
}

/**
 * Probes until the probe yields a value, and resolves with it. On timeout it throws a
 * CanarytrapError (code `wait-timeout` unless told otherwise) that names what was awaited, for
 * how long, and the setting to raise.
 */
export async function pollUntil<T>(options: PollOptions<T>): Promise<T> {
  const clock = options.clock ?? realClock;
  const deadline = clock.now() + options.timeoutMs;
  for (;;) {
    const reason = options.giveUp?.();
    if (reason) throw reason;
    options.signal?.throwIfAborted();
    const value = await options.probe();
    if (value !== undefined && value !== false) return value;
    if (clock.now() > deadline) throw timeoutError(options);
    await clock.sleep(options.intervalMs ?? 250, options.signal);
  }
}

function timeoutError(options: PollOptions<unknown>): CanarytrapError {
  const { what, timeoutMs, setting, timeout } = options;
  const raise = `raise ${setting} (now ${timeoutMs} ms) if the machine is slow`;
  return new CanarytrapError(
    timeout?.code ?? 'wait-timeout',
    timeout?.message ?? `timed out after ${timeoutMs} ms waiting for ${what}`,
    {
      hint: timeout?.hint ?? raise,
      details: { waitingFor: what, timeoutMs, setting },
    },
  );
}
