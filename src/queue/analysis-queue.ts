import { Queue, QueueEvents, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { ANALYSIS_QUEUE } from './names.ts';
import type { AnalysisJobData, AnalysisResult } from './job-data.ts';
import { redisConnection } from './connection.ts';

export interface QueueHandle {
  queue: Queue<AnalysisJobData, AnalysisResult>;
  /** The queue's own connection, for plain commands beside it (cancel requests). */
  connection: Redis;
  close(): Promise<void>;
}

/** Retries cover device crashes and killed workers; permanent errors are UnrecoverableError. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 2,
  backoff: { type: 'fixed', delay: 1_000 },
  removeOnComplete: { age: 30 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export function openAnalysisQueue(redisUrl: string, prefix: string): QueueHandle {
  const connection = redisConnection(redisUrl);
  const queue = new Queue<AnalysisJobData, AnalysisResult>(ANALYSIS_QUEUE, { connection, prefix });
  let closed: Promise<void> | undefined;
  return {
    queue,
    connection,
    close: () =>
      (closed ??= (async () => {
        await queue.close();
        connection.disconnect();
      })()),
  };
}

export async function enqueueAnalysis(
  handle: QueueHandle,
  data: AnalysisJobData,
): Promise<Job<AnalysisJobData, AnalysisResult>> {
  return handle.queue.add('analysis', data, { ...DEFAULT_JOB_OPTIONS, jobId: data.runId });
}

export interface QueueEventsHandle {
  events: QueueEvents;
  close(): Promise<void>;
}

/** QueueEvents does not close a connection it was given, so the handle closes both. */
export function openQueueEvents(redisUrl: string, prefix: string): QueueEventsHandle {
  const connection = redisConnection(redisUrl);
  const events = new QueueEvents(ANALYSIS_QUEUE, { connection, prefix });
  let closed: Promise<void> | undefined;
  return {
    events,
    close: () =>
      (closed ??= (async () => {
        await events.close();
        connection.disconnect();
      })()),
  };
}
