import { CanarytrapError } from '../errors.ts';
import { findRun, findRunJob, openAnalysisQueue, openQueueEvents } from './analysis-queue.ts';
import type { AnalysisProgress, AnalysisResult } from './job-data.ts';
import { waitingFor, type WaitingFor } from './waiting.ts';

export type FollowOutcome =
  { status: 'completed'; result: AnalysisResult } | { status: 'failed'; reason: string };

export interface FollowOptions {
  redisUrl: string;
  prefix: string;
  runId: string;
  onProgress: (progress: AnalysisProgress) => void;
  /**
   * While the run waits to be taken: what it waits for, each time that changes (a worker that
   * can run it connects or leaves). `undefined` once it is no longer waiting.
   */
  onWaiting?: (waiting: WaitingFor | undefined) => void;
  /** How often the waiting reason is looked at again. Default 2 s. */
  waitingPollMs?: number;
  /** Give up after this long. Default: no limit. */
  timeoutMs?: number;
}

/**
 * Follows one analysis live through QueueEvents until it completes or fails. Subscribes first
 * and looks at the job's state after, so an ending that happens in between is not missed.
 */
export async function followRun(options: FollowOptions): Promise<FollowOutcome> {
  const handle = openAnalysisQueue(options.redisUrl, options.prefix);
  const eventsHandle = openQueueEvents(options.redisUrl, options.prefix);
  const events = eventsHandle.events;
  try {
    await events.waitUntilReady();
    const found = await findRunJob(handle, options.runId);
    if (!found) {
      throw new CanarytrapError('run-not-found', `no run ${options.runId} in the queue`, {
        permanent: true,
        expected: true,
        hint: 'list runs under the data root, or check CANARYTRAP_QUEUE_PREFIX',
      });
    }
    const { job, lane } = found;
    return await new Promise<FollowOutcome>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let waitingTimer: NodeJS.Timeout | undefined;
      let lastWaiting: string | undefined;
      const lookAtWaiting = async () => {
        const waiting = await waitingFor(handle, job, lane);
        const key = JSON.stringify(waiting ?? null);
        if (key !== lastWaiting) {
          lastWaiting = key;
          options.onWaiting?.(waiting);
        }
        if (waiting)
          waitingTimer = setTimeout(
            () => void lookAtWaiting().catch(reject),
            options.waitingPollMs ?? 2_000,
          );
      };
      const finish = (outcome: FollowOutcome) => {
        clearTimeout(timer);
        clearTimeout(waitingTimer);
        events.off('progress', onProgress);
        events.off('completed', onCompleted);
        events.off('failed', onFailed);
        resolve(outcome);
      };
      const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
        if (jobId === options.runId && typeof data === 'object' && data !== null)
          options.onProgress(data as AnalysisProgress);
      };
      const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => {
        if (jobId !== options.runId) return;
        const result = (
          typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue
        ) as AnalysisResult;
        finish({ status: 'completed', result });
      };
      const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
        if (jobId !== options.runId) return;
        // A failed attempt that will be retried is not the end.
        void findRun(handle, jobId).then(async (latest) => {
          const state = await latest?.getState();
          if (state === 'failed') finish({ status: 'failed', reason: failedReason });
        }, reject);
      };
      events.on('progress', onProgress);
      events.on('completed', onCompleted);
      events.on('failed', onFailed);
      if (options.timeoutMs) {
        timer = setTimeout(
          () =>
            reject(
              new CanarytrapError(
                'watch-timeout',
                `run ${options.runId} did not finish within ${options.timeoutMs} ms`,
              ),
            ),
          options.timeoutMs,
        );
      }
      void job.getState().then(async (state) => {
        if (state === 'completed') {
          const latest = await findRun(handle, options.runId);
          if (latest?.returnvalue) finish({ status: 'completed', result: latest.returnvalue });
        } else if (state === 'failed') {
          const latest = await findRun(handle, options.runId);
          finish({ status: 'failed', reason: latest?.failedReason ?? 'unknown' });
        } else if (options.onWaiting) {
          await lookAtWaiting();
        }
      }, reject);
    });
  } finally {
    await eventsHandle.close();
    await handle.close();
  }
}
