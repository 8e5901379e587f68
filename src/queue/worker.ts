import { Worker, type Job } from 'bullmq';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { redisConnection } from './connection.ts';
import type { AnalysisJobData, AnalysisResult } from './job-data.ts';
import { ANALYSIS_QUEUE } from './names.ts';

export type AnalysisProcessor = (
  job: Job<AnalysisJobData, AnalysisResult>,
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
}

export interface WorkerHandle {
  worker: Worker<AnalysisJobData, AnalysisResult>;
  close(): Promise<void>;
}

/** A queue worker. One bad job fails that job only: the worker stays up. */
export function startAnalysisWorker(options: WorkerOptions): WorkerHandle {
  const connection = redisConnection(options.redisUrl);
  const worker = new Worker<AnalysisJobData, AnalysisResult>(ANALYSIS_QUEUE, options.processor, {
    connection,
    prefix: options.config.queuePrefix,
    concurrency: options.concurrency,
    stalledInterval: options.stalledIntervalMs ?? options.config.stalledIntervalMs,
    lockDuration: options.stalledIntervalMs ?? options.config.stalledIntervalMs,
    maxStalledCount: 1,
  });
  worker.on('failed', (job, error) =>
    options.logger.warn({ jobId: job?.id, error: error.message }, 'job failed'),
  );
  worker.on('error', (error) => options.logger.error({ err: error }, 'worker error'));
  let closed: Promise<void> | undefined;
  return {
    worker,
    close: () =>
      (closed ??= (async () => {
        await worker.close();
        connection.disconnect();
      })()),
  };
}
