import { Job } from 'bullmq';
import { CanarytrapError } from '../errors.ts';
import { openAnalysisQueue, openQueueEvents } from './analysis-queue.ts';
import type { AnalysisJobData, AnalysisProgress, AnalysisResult } from './job-data.ts';

export type FollowOutcome =
  { status: 'completed'; result: AnalysisResult } | { status: 'failed'; reason: string };

export interface FollowOptions {
  redisUrl: string;
  prefix: string;
  runId: string;
  onProgress: (progress: AnalysisProgress) => void;
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
    const job = await Job.fromId<AnalysisJobData, AnalysisResult>(handle.queue, options.runId);
    if (!job) {
      throw new CanarytrapError('run-not-found', `no run ${options.runId} in the queue`, {
        permanent: true,
        expected: true,
        hint: 'list runs under the data root, or check CANARYTRAP_QUEUE_PREFIX',
      });
    }
    return await new Promise<FollowOutcome>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: FollowOutcome) => {
        clearTimeout(timer);
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
        void Job.fromId(handle.queue, jobId).then(async (latest) => {
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
          const latest = await Job.fromId<AnalysisJobData, AnalysisResult>(
            handle.queue,
            options.runId,
          );
          if (latest?.returnvalue) finish({ status: 'completed', result: latest.returnvalue });
        } else if (state === 'failed') {
          const latest = await Job.fromId(handle.queue, options.runId);
          finish({ status: 'failed', reason: latest?.failedReason ?? 'unknown' });
        }
      }, reject);
    });
  } finally {
    await eventsHandle.close();
    await handle.close();
  }
}
