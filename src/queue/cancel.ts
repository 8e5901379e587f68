import { CanarytrapError, isCanarytrapError } from '../errors.ts';
import type { Redis } from 'ioredis';
import { findRun, type QueueHandle } from './analysis-queue.ts';
import { redisConnection } from './connection.ts';
import { ANALYSIS_QUEUE } from './names.ts';

/** The failure reason of a cancelled run, as BullMQ stores it and the watch page shows it. */
export const CANCEL_REASON = 'cancelled by user';

/** How long a cancel request is remembered for a worker that picks the job up late. */
const REQUEST_TTL_SECONDS = 3600;

/** Requests are published on one channel per queue, under the queue's prefix. */
export function cancelChannel(prefix: string): string {
  return `${prefix}:${ANALYSIS_QUEUE}:cancel`;
}

function requestKey(prefix: string, runId: string): string {
  return `${prefix}:${ANALYSIS_QUEUE}:cancel:${runId}`;
}

/** True for the failure reason of a run that was cancelled, whichever process reads it. */
export function isCancelReason(reason: string | undefined): boolean {
  return reason === CANCEL_REASON;
}

export type CancelOutcome =
  /** It was still queued: removed, it will never run. */
  | { outcome: 'removed' }
  /** It is running: its worker was asked to stop it and tear its device down. */
  | { outcome: 'cancelling' }
  | { outcome: 'not-found' }
  | { outcome: 'finished'; state: 'completed' | 'failed' };

/**
 * Cancels a run. A queued job is removed; a running one is asked to stop through Redis, since
 * only the worker holding it can abort it and tear its device down. The request is also kept
 * under a key for a while, so a worker that takes the job just now (or after a crash) sees it.
 */
export async function cancelRun(handle: QueueHandle, runId: string): Promise<CancelOutcome> {
  const job = await findRun(handle, runId);
  if (!job) return { outcome: 'not-found' };
  const state = await job.getState();
  if (state === 'completed' || state === 'failed') return { outcome: 'finished', state };
  if (state !== 'active') {
    try {
      await job.remove();
      return { outcome: 'removed' };
    } catch {
      // A worker locked it between the state read and the removal: it is running now.
    }
  }
  await publishCancel(handle.connection, handle.prefix, runId);
  return { outcome: 'cancelling' };
}

async function publishCancel(client: Redis, prefix: string, runId: string): Promise<void> {
  await client.set(requestKey(prefix, runId), '1', 'EX', REQUEST_TTL_SECONDS);
  await client.publish(cancelChannel(prefix), runId);
}

export async function cancelRequested(
  client: Redis,
  prefix: string,
  runId: string,
): Promise<boolean> {
  return (await client.exists(requestKey(prefix, runId))) === 1;
}

export interface CancelListener {
  /** Resolves once the subscription is live. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** A worker's subscription to cancel requests; `onCancel` gets each requested run id. */
export function listenForCancels(
  redisUrl: string,
  prefix: string,
  onCancel: (runId: string) => void,
  onError: (error: unknown) => void,
): CancelListener {
  const subscriber = redisConnection(redisUrl);
  const channel = cancelChannel(prefix);
  subscriber.on('message', (from: string, runId: string) => {
    if (from === channel) onCancel(runId);
  });
  subscriber.on('error', onError);
  // A failed subscription is reported, not thrown: the worker still runs jobs, it only cannot
  // be asked to stop them early.
  const ready = subscriber.subscribe(channel).then(() => undefined, onError);
  let closed: Promise<void> | undefined;
  return {
    ready,
    close: () =>
      (closed ??= (async () => {
        await ready;
        subscriber.disconnect();
      })()),
  };
}

/** The run was cancelled: permanent (a retry would only be cancelled again) and expected. */
export class RunCancelledError extends CanarytrapError {
  override readonly name = 'RunCancelledError';
  constructor() {
    super('run-cancelled', CANCEL_REASON, { permanent: true, expected: true });
  }
}

export function isRunCancelled(error: unknown): boolean {
  return isCanarytrapError(error) && error.code === 'run-cancelled';
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new RunCancelledError();
}

/**
 * Settles as `work` does, or rejects with RunCancelledError as soon as `signal` aborts. The work
 * itself goes on (nothing here can stop it); the caller tears down what it uses and then waits
 * for it with `settleWithin`.
 */
export function untilCancelled<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  // The work's outcome is always handled here, even when the cancel came first, so a stage that
  // fails after its device is torn down is never an unhandled rejection.
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new RunCancelledError());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Waits for abandoned work to settle, at most `ms`; resolves with how it ended. Its failure is
 * expected (its device was torn down under it) and is returned, not thrown.
 */
export async function settleWithin(
  work: Promise<unknown>,
  ms: number,
): Promise<'settled' | 'failed' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([
      work.then(
        () => 'settled' as const,
        () => 'failed' as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
