import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AnalysisJobData, AnalysisResult } from './job-data.ts';
import { redisConnection } from './connection.ts';
import { LANE_NAMES, LANES, laneForJob, type LaneName } from './lanes.ts';

export type AnalysisQueue = Queue<AnalysisJobData, AnalysisResult>;
export type AnalysisJob = Job<AnalysisJobData, AnalysisResult>;

export interface QueueHandle {
  /** The queue of every lane (src/queue/lanes.ts): a run's job is in the one its needs decide. */
  lanes: Readonly<Record<LaneName, AnalysisQueue>>;
  /** The queues' own connection, for plain commands beside them (cancel requests, adverts). */
  connection: Redis;
  prefix: string;
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
  const lanes = Object.fromEntries(
    LANE_NAMES.map((name) => [
      name,
      new Queue<AnalysisJobData, AnalysisResult>(LANES[name].queue, { connection, prefix }),
    ]),
  ) as Record<LaneName, AnalysisQueue>;
  let closed: Promise<void> | undefined;
  return {
    lanes,
    connection,
    prefix,
    close: () =>
      (closed ??= (async () => {
        await Promise.all(Object.values(lanes).map((queue) => queue.close()));
        connection.disconnect();
      })()),
  };
}

export async function enqueueAnalysis(
  handle: QueueHandle,
  data: AnalysisJobData,
): Promise<AnalysisJob> {
  return handle.lanes[laneForJob(data)].add('analysis', data, {
    ...DEFAULT_JOB_OPTIONS,
    jobId: data.runId,
  });
}

/** A run's job in whichever lane holds it, with the lane's name. */
export async function findRunJob(
  handle: QueueHandle,
  runId: string,
): Promise<{ job: AnalysisJob; lane: LaneName } | undefined> {
  for (const lane of LANE_NAMES) {
    const job = await Job.fromId<AnalysisJobData, AnalysisResult>(handle.lanes[lane], runId);
    if (job) return { job, lane };
  }
  return undefined;
}

/** Like findRunJob, the job only. */
export async function findRun(
  handle: QueueHandle,
  runId: string,
): Promise<AnalysisJob | undefined> {
  return (await findRunJob(handle, runId))?.job;
}

type EventName = 'progress' | 'completed' | 'failed' | 'waiting' | 'active';
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- QueueEvents' listener types differ per event
type EventListener = (...args: any[]) => void;

/** Every lane's events as one stream: `on('progress', …)` hears the jobs of all lanes. */
export interface LaneEvents {
  on(event: EventName, listener: EventListener): void;
  off(event: EventName, listener: EventListener): void;
  waitUntilReady(): Promise<void>;
}

export interface QueueEventsHandle {
  events: LaneEvents;
  close(): Promise<void>;
}

/** QueueEvents does not close a connection it was given, so the handle closes them all. */
export function openQueueEvents(redisUrl: string, prefix: string): QueueEventsHandle {
  // Each QueueEvents reads its stream with a blocking command: a connection each.
  const subscriptions = LANE_NAMES.map((name) => {
    const connection = redisConnection(redisUrl);
    return { connection, events: new QueueEvents(LANES[name].queue, { connection, prefix }) };
  });
  const events: LaneEvents = {
    on: (event, listener) => {
      for (const { events: laneEvents } of subscriptions) laneEvents.on(event, listener);
    },
    off: (event, listener) => {
      for (const { events: laneEvents } of subscriptions) laneEvents.off(event, listener);
    },
    waitUntilReady: async () => {
      await Promise.all(subscriptions.map(({ events: laneEvents }) => laneEvents.waitUntilReady()));
    },
  };
  let closed: Promise<void> | undefined;
  return {
    events,
    close: () =>
      (closed ??= (async () => {
        await Promise.all(subscriptions.map(({ events: laneEvents }) => laneEvents.close()));
        for (const { connection } of subscriptions) connection.disconnect();
      })()),
  };
}

type JobState = Parameters<AnalysisQueue['getJobs']>[0];

/** The jobs of every lane in these states (up to `limit` per lane). */
export async function runJobs(
  handle: QueueHandle,
  states: JobState,
  limit = 1000,
): Promise<AnalysisJob[]> {
  const perLane = await Promise.all(
    LANE_NAMES.map((lane) => handle.lanes[lane].getJobs(states, 0, limit - 1)),
  );
  return perLane.flat();
}

/** Job counts by state, summed over the lanes. */
export async function runJobCounts(handle: QueueHandle): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const lane of LANE_NAMES) {
    for (const [state, count] of Object.entries(await handle.lanes[lane].getJobCounts()))
      totals[state] = (totals[state] ?? 0) + count;
  }
  return totals;
}
