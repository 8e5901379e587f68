import { DelayedError, Worker, type Job } from 'bullmq';
import { freemem as freeMemory } from 'node:os';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { CANCEL_REASON, cancelRequested, listenForCancels } from './cancel.ts';
import { redisConnection } from './connection.ts';
import { detectHostCapabilities, hostSlots, type HostCapabilities } from './host-capabilities.ts';
import type { AnalysisJobData, AnalysisResult } from './job-data.ts';
import { LANES, lanesServedBy, type LaneName } from './lanes.ts';
import { advertiseWorker, newWorkerId, type Advertiser } from './worker-registry.ts';

/** `signal` aborts when the run is cancelled (`canarytrap cancel`, the API, the watch page). */
export type AnalysisProcessor = (
  job: Job<AnalysisJobData, AnalysisResult>,
  signal: AbortSignal,
) => Promise<AnalysisResult>;

export interface WorkerOptions {
  redisUrl: string;
  config: Config;
  logger: Logger;
  /** Analyses this host may run at once, as asked; lowered to what its free memory holds. */
  concurrency: number;
  processor: AnalysisProcessor;
  /** What this host can run. Default: detected (host-capabilities.ts). */
  capabilities?: HostCapabilities;
  /**
   * How soon a job whose worker died is handed to another worker. Default `config.stalledIntervalMs`
   * (15 s): the lock is renewed every half of it, and a killed worker's job should not wait long.
   */
  stalledIntervalMs?: number;
  /** Runs when the worker closes, after its last job: stops what the host shares (Appium). */
  onClose?: () => Promise<void>;
}

export interface WorkerHandle {
  /** Resolves once the host's capabilities are known and its lanes are being served. */
  ready: Promise<ServedLanes>;
  /** True while every lane worker is running (false before ready and after close). */
  isRunning(): boolean;
  /** Counts for the worker's metrics: slots, runs now, runs ended since start by outcome. */
  stats(): WorkerStats;
  close(): Promise<void>;
}

export interface WorkerStats {
  slots: number;
  running: number;
  completed: number;
  failed: number;
}

export interface ServedLanes {
  id: string;
  lanes: LaneName[];
  capabilities: HostCapabilities;
  slots: number;
  limitedBy?: string;
}

/** How often a job whose worker was lost is handed to another worker before it fails. */
export const MAX_STALLED_COUNT = 1;

/** A job taken while the host's slots were full goes back to its lane for this long. */
const FULL_HOST_BACKOFF_MS = 1_000;

/**
 * A queue worker for this host: one BullMQ worker per lane its capabilities serve, sharing the
 * host's slots, and an advert in Redis saying what it can run. One bad job fails that job
 * only: the worker stays up.
 */
export function startAnalysisWorker(options: WorkerOptions): WorkerHandle {
  const connection = redisConnection(options.redisUrl, options.logger);
  const prefix = options.config.queuePrefix;
  const id = newWorkerId();
  const startedAt = new Date().toISOString();
  const workers: Worker<AnalysisJobData, AnalysisResult>[] = [];
  let running = 0;
  let slotCount = 0;
  const ended = { completed: 0, failed: 0 };
  let advertiser: Advertiser | undefined;
  let closing = false;

  const ready = (async (): Promise<ServedLanes> => {
    const capabilities = options.capabilities ?? (await detectHostCapabilities(options.config));
    const lanes = lanesServedBy(capabilities.capabilities);
    const { slots, limitedBy } = hostSlots(options.concurrency, capabilities.capabilities);
    slotCount = slots;
    if (limitedBy)
      options.logger.warn(
        { asked: options.concurrency, slots, limitedBy },
        'fewer slots than asked',
      );

    // Slots are the host's, not each lane's: when they are full, the lane workers stop taking
    // jobs; one taken in the instant before that goes back to its lane unrun (no attempt spent).
    const setTaking = (taking: boolean) => {
      for (const worker of workers) {
        if (closing) return;
        if (taking && worker.isPaused()) worker.resume();
        else if (!taking && !worker.isPaused()) void worker.pause(true);
      }
    };
    const processor = async (
      job: Job<AnalysisJobData, AnalysisResult>,
      token: string | undefined,
      signal: AbortSignal | undefined,
    ): Promise<AnalysisResult> => {
      if (running >= slots) {
        await job.moveToDelayed(Date.now() + FULL_HOST_BACKOFF_MS, token);
        throw new DelayedError();
      }
      running += 1;
      if (running >= slots && workers.length > 1) setTaking(false);
      void advertiser?.renew();
      const controller = new AbortController();
      const forward = () => controller.abort(signal?.reason ?? CANCEL_REASON);
      signal?.addEventListener('abort', forward, { once: true });
      try {
        // A cancel published before this worker tracked the job is still on record.
        if (job.id && (await cancelRequested(connection, prefix, job.id)))
          controller.abort(CANCEL_REASON);
        const result = await options.processor(job, controller.signal);
        ended.completed += 1;
        return result;
      } catch (error) {
        ended.failed += 1;
        throw error;
      } finally {
        signal?.removeEventListener('abort', forward);
        running -= 1;
        if (running < slots && workers.length > 1) setTaking(true);
        void advertiser?.renew();
      }
    };
    if (closing) return { id, lanes: [], capabilities, slots };
    for (const lane of lanes) {
      // BullMQ hands a processor an AbortSignal (and lets cancelJob abort it) only when the
      // processor declares a third parameter, as this one does.
      const worker = new Worker<AnalysisJobData, AnalysisResult>(LANES[lane].queue, processor, {
        connection,
        prefix,
        concurrency: slots,
        stalledInterval: options.stalledIntervalMs ?? options.config.stalledIntervalMs,
        lockDuration: options.stalledIntervalMs ?? options.config.stalledIntervalMs,
        maxStalledCount: MAX_STALLED_COUNT,
      });
      worker.on('failed', (job, error) => {
        if (!(error instanceof DelayedError))
          options.logger.warn({ jobId: job?.id, lane, error: error.message }, 'job failed');
      });
      worker.on('error', (error) => options.logger.error({ err: error, lane }, 'worker error'));
      workers.push(worker);
    }
    advertiser = advertiseWorker(
      connection,
      prefix,
      () => ({
        id,
        host: id.split(':')[0] ?? '',
        pid: process.pid,
        capabilities: capabilities.capabilities,
        lanes,
        slots,
        running,
        freeMemoryMiB: Math.floor(freeMemory() / 2 ** 20),
        missing: capabilities.missing,
        startedAt,
      }),
      (error) => options.logger.warn({ err: error }, 'worker advert not renewed'),
    );
    options.logger.info(
      { id, lanes, capabilities: capabilities.capabilities, missing: capabilities.missing, slots },
      'worker serving its lanes',
    );
    return { id, lanes, capabilities, slots, ...(limitedBy ? { limitedBy } : {}) };
  })();

  ready.catch((error: unknown) =>
    options.logger.error({ err: error }, 'worker could not start serving its lanes'),
  );

  const cancels = listenForCancels(
    options.redisUrl,
    prefix,
    (runId) => {
      if (workers.some((worker) => worker.cancelJob(runId, CANCEL_REASON)))
        options.logger.info({ jobId: runId }, 'cancel requested: stopping the run');
    },
    (error) => options.logger.warn({ err: error }, 'cancel subscription'),
  );
  let closed: Promise<void> | undefined;
  return {
    ready,
    stats: () => ({ slots: slotCount, running, ...ended }),
    isRunning: () => !closing && workers.length > 0 && workers.every((w) => w.isRunning()),
    close: () =>
      (closed ??= (async () => {
        closing = true;
        await ready.catch(() => undefined);
        // In order (a run still finishing can be cancelled until the worker is closed), and
        // each step runs even if one before it failed.
        for (const step of [
          () => Promise.all(workers.map((worker) => worker.close())),
          async () => advertiser?.withdraw(),
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
