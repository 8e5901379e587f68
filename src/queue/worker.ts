import { Worker, type Job } from 'bullmq';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { CANCEL_REASON, cancelRequested, listenForCancels } from './cancel.ts';
import { redisConnection } from './connection.ts';
import type { AnalysisJobData, AnalysisResult } from './job-data.ts';
import { ANALYSIS_QUEUE } from './names.ts';

/** `signal` aborts when the run is cancelled (`canarytrap cancel`, the API, the watch page). */
export type AnalysisProcessor = (
  job: Job<AnalysisJobData, AnalysisResult>,
  signal: AbortSignal,
) => Promise<AnalysisResult>;

export interface WorkerOptions {
  redisUrl: string;
  config: Config;
  logger: Logger;
  concurrency: number;
  processor: AnalysisProcessor;
  /**
   * How soon a job whose worker died is handed to another worker. Default `config.stalledIntervalMs`
   * (15 s): the lock is renewed every half of it, and a killed worker's job should not wait long.
   */
  stalledIntervalMs?: number;
  /** Runs when the worker closes, after its last job: stops what the host shares (Appium). */
  onClose?: () => Promise<void>;
}

export interface WorkerHandle {
  worker: Worker<AnalysisJobData, AnalysisResult>;
  close(): Promise<void>;
}

/** How often a job whose worker was lost is handed to another worker before it fails. */
export const MAX_STALLED_COUNT = 1;

/** A queue worker. One bad job fails that job only: the worker stays up. */
export function startAnalysisWorker(options: WorkerOptions): WorkerHandle {
  const connection = redisConnection(options.redisUrl, options.logger);
  const prefix = options.config.queuePrefix;
  // BullMQ hands a processor an AbortSignal (and lets cancelJob abort it) only when the
  // processor declares a third parameter.
  const processor = async (
    job: Job<AnalysisJobData, AnalysisResult>,
    _token: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<AnalysisResult> => {
    const controller = new AbortController();
    const forward = () => controller.abort(signal?.reason ?? CANCEL_REASON);
    signal?.addEventListener('abort', forward, { once: true });
    try {
      // A cancel published before this worker tracked the job is still on record.
      if (job.id && (await cancelRequested(connection, prefix, job.id)))
        controller.abort(CANCEL_REASON);
      return await options.processor(job, controller.signal);
    } finally {
      signal?.removeEventListener('abort', forward);
    }
  };
  const worker = new Worker<AnalysisJobData, AnalysisResult>(ANALYSIS_QUEUE, processor, {
    connection,
    prefix: options.config.queuePrefix,
    concurrency: options.concurrency,
    stalledInterval: options.stalledIntervalMs ?? options.config.stalledIntervalMs,
    lockDuration: options.stalledIntervalMs ?? options.config.stalledIntervalMs,
    maxStalledCount: MAX_STALLED_COUNT,
  });
  worker.on('failed', (job, error) =>
    options.logger.warn({ jobId: job?.id, error: error.message }, 'job failed'),
  );
  worker.on('error', (error) => options.logger.error({ err: error }, 'worker error'));
  const cancels = listenForCancels(
    options.redisUrl,
    prefix,
    (runId) => {
      if (worker.cancelJob(runId, CANCEL_REASON))
        options.logger.info({ jobId: runId }, 'cancel requested: stopping the run');
    },
    (error) => options.logger.warn({ err: error }, 'cancel subscription'),
  );
  let closed: Promise<void> | undefined;
  return {
    worker,
    close: () =>
      (closed ??= (async () => {
        // In order (a run still finishing can be cancelled until the worker is closed), and
        // each step runs even if one before it failed.
        for (const step of [
          () => worker.close(),
          () => cancels.close(),
          async () => options.onClose?.(),
        ]) {
          try {
            await step();
          } catch (error) {
            options.logger.warn({ err: error }, 'worker close');
          }
        }
        connection.disconnect();
      })()),
  };
}
