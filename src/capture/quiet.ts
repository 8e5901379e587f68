import type { CaptureSession } from './types.ts';

export interface QuietOptions {
  /** The network counts as quiet after this long without a new flow. */
  quietMs: number;
  /** Give up waiting after this long, quiet or not: a chatty app must not stall the run. */
  maxMs: number;
}

/**
 * Resolves once the capture has seen no new flow for `quietMs`, or after `maxMs` at the latest.
 * Used between trigger steps, so a step's traffic is in before the next step starts.
 */
export function waitForQuiet(
  capture: Pick<CaptureSession, 'onFlow'>,
  options: QuietOptions,
): Promise<void> {
  return new Promise((resolve) => {
    let quietTimer: NodeJS.Timeout;
    const finish = (): void => {
      clearTimeout(quietTimer);
      clearTimeout(maxTimer);
      unsubscribe();
      resolve();
    };
    const maxTimer = setTimeout(finish, options.maxMs);
    quietTimer = setTimeout(finish, options.quietMs);
    const unsubscribe = capture.onFlow(() => {
      clearTimeout(quietTimer);
      quietTimer = setTimeout(finish, options.quietMs);
    });
  });
}
