import { UnrecoverableError, type Job } from 'bullmq';
import { join } from 'node:path';
import type { Config } from '../src/config.ts';
import { AdbClient } from '../src/device/adb-client.ts';
import { CanarytrapError, describeError, isCanarytrapError } from '../src/errors.ts';
import type { Logger } from '../src/log.ts';
import {
  CANCEL_REASON,
  isRunCancelled,
  settleWithin,
  throwIfCancelled,
  untilCancelled,
} from '../src/queue/cancel.ts';
import type { AnalysisJobData, AnalysisProgress, AnalysisResult } from '../src/queue/job-data.ts';
import type { AppiumServer } from '../src/ui/index.ts';
import { STAGES, type StageName } from '../src/queue/names.ts';
import { writeJsonAtomic } from '../src/host/fs.ts';
import { RUN_FILES, type RunRecord } from '../src/run/run-dir.ts';
import { openRunAttempt } from '../src/run/attempts.ts';
import { removeUploadOf } from '../src/run/uploads.ts';
import { publishFinishedRun } from '../src/run/run-store.ts';
import { localImagePath } from '../src/run/shared-image.ts';
import { MAX_STALLED_COUNT } from '../src/queue/worker.ts';
import { Teardown } from '../src/host/teardown.ts';
import type { RunContext, StageDefinition } from './context.ts';
import { bootStage } from './stages/boot.ts';
import { collectStage } from './stages/collect.ts';
import { correlateStage } from './stages/correlate.ts';
import { exerciseStage } from './stages/exercise.ts';
import { intakeStage } from './stages/intake.ts';
import { plantStage } from './stages/plant.ts';
import { prepareStage } from './stages/prepare.ts';
import { reportStage } from './stages/report.ts';

export const PIPELINE: readonly StageDefinition[] = [
  { name: 'intake', run: intakeStage },
  { name: 'boot', run: bootStage },
  { name: 'prepare', run: prepareStage },
  { name: 'plant', run: plantStage },
  { name: 'exercise', run: exerciseStage },
  { name: 'collect', run: collectStage },
  { name: 'correlate', run: correlateStage },
  { name: 'report', run: reportStage },
];

/** Between intake and report every stage needs the running image; one that cannot run skips them. */
const DEVICE_STAGES: ReadonlySet<StageName> = new Set(
  STAGES.filter((stage) => stage !== 'intake' && stage !== 'report'),
);

export interface AnalysisDeps {
  config: Config;
  logger: Logger;
  /** The worker host's Appium server; absent, a run that drives the UI starts its own. */
  appium?: AppiumServer;
}

/**
 * Ends one stage's part of the run: its record in the run's stage list (run.json, the report) and
 * the progress event that `watch` and the web pages show, which say the same thing.
 */
async function recordStage(
  context: RunContext,
  index: number,
  outcome: { startedAt: number; status: 'done' | 'failed' | 'skipped'; note?: string | undefined },
): Promise<void> {
  const stage = PIPELINE[index]!.name;
  const { startedAt, status, note } = outcome;
  const finishedAt = status === 'skipped' ? startedAt : Date.now();
  context.stages.push({ name: stage, startedAt, finishedAt, status, ...(note ? { note } : {}) });
  await context.publish({
    type: 'stage',
    stage,
    index,
    total: STAGES.length,
    status,
    ...(note ? { message: note } : {}),
    at: finishedAt,
  });
}

/** How long a stage cut short by a cancel may take to notice its device is gone. */
const ABANDONED_STAGE_MS = 20_000;

/**
 * The BullMQ processor of one analysis: the stages in order, teardown on every path. When
 * `signal` aborts (the run was cancelled) it stops at once, between stages or in the middle of
 * one, tears the device down and fails the job with "cancelled by user", without a retry.
 */
export async function processAnalysis(
  job: Job<AnalysisJobData, AnalysisResult>,
  deps: AnalysisDeps,
  signal?: AbortSignal,
): Promise<AnalysisResult> {
  const jobId = job.id ?? job.data.runId;
  const jobLogger = deps.logger.child({ jobId, runId: job.data.runId });
  // A job whose image is in the shared store reads it from there (this host may not be the one
  // it was submitted on).
  const data = job.data.imageKey
    ? { ...job.data, imagePath: await localImagePath(deps.config, job.data) }
    : job.data;
  const context: RunContext = {
    data,
    jobId,
    config: deps.config,
    adb: new AdbClient({ adbPath: deps.config.adbPath, serverPort: deps.config.adbServerPort }),
    teardown: new Teardown(),
    startedAt: Date.now(),
    attempt: attemptOf(job),
    logger: jobLogger,
    ...(signal ? { signal } : {}),
    ...(deps.appium ? { appium: deps.appium } : {}),
    publish: (progress: AnalysisProgress) => job.updateProgress(progress),
    flows: [],
    events: [],
    leaks: [],
    limitations: [],
    stages: [],
  };
  // A stage a cancel cut short still runs until its device is gone; it is awaited after teardown.
  let abandoned: Promise<unknown> | undefined;
  try {
    if (context.attempt > 1) await announceRetry(context, job);
    for (const [index, stage] of PIPELINE.entries()) {
      throwIfCancelled(signal);
      // Every stage logs with jobId, stage and (once booted) the device bound.
      context.logger = jobLogger.child({
        stage: stage.name,
        ...(context.device ? { device: context.device.serial } : {}),
      });
      const startedAt = Date.now();
      if (context.staticOnly !== undefined && DEVICE_STAGES.has(stage.name)) {
        const note = `skipped: the image cannot run dynamically (${context.staticOnly})`;
        await recordStage(context, index, { startedAt, status: 'skipped', note });
        continue;
      }
      await context.publish({
        type: 'stage',
        stage: stage.name,
        index,
        total: STAGES.length,
        status: 'started',
        at: startedAt,
      });
      try {
        const work = stage.run(context);
        abandoned = work;
        const note = (await untilCancelled(work, signal)) ?? undefined;
        abandoned = undefined;
        await recordStage(context, index, { startedAt, status: 'done', note });
      } catch (error) {
        // Only a cancel leaves the stage running; a stage that failed on its own has ended.
        if (!isRunCancelled(error)) abandoned = undefined;
        await recordStage(context, index, {
          startedAt,
          status: 'failed',
          note: describeError(error),
        });
        throw error;
      }
      if (context.runDir) await writeRecord(context, job, 'running');
    }
    await writeRecord(context, job, 'done');
    await forgetUpload(context);
    // Stored before the job completes: a run is finished once every host can read it.
    if (context.runDir) await publishFinishedRun(deps.config, job.data.runId, context.runDir);
    return {
      runId: job.data.runId,
      runDir: context.runDir ?? '',
      verdict: context.verdict ?? (context.leaks.length > 0 ? 'leaks-found' : 'no-leaks'),
      leakCount: context.leaks.length,
      summary: context.stages.at(-1)?.note ?? '',
    };
  } catch (error) {
    const cancelled = isRunCancelled(error);
    if (cancelled) context.logger.info('run cancelled');
    else context.logger.error({ err: error }, 'analysis failed');
    if (context.runDir)
      await writeRecord(context, job, cancelled ? 'cancelled' : 'failed', error).catch(
        (writeError: unknown) => context.logger.warn({ err: writeError }, 'run record not written'),
      );
    const queueError = toQueueError(error);
    if (queueError instanceof UnrecoverableError || isLastAttempt(job)) {
      await forgetUpload(context);
      if (context.runDir)
        await publishFinishedRun(deps.config, job.data.runId, context.runDir).catch(
          (storeError: unknown) =>
            context.logger.error({ err: storeError }, 'the failed run could not be stored'),
        );
    }
    throw queueError;
  } finally {
    const failures = await context.teardown.run();
    if (failures.length > 0) context.logger.warn({ failures }, 'teardown steps failed');
    if (abandoned) {
      const ended = await settleWithin(abandoned, ABANDONED_STAGE_MS);
      context.logger.info({ ended }, 'cancelled stage wound down');
      // A device or network the cut-short stage started after teardown ran is stopped here (the
      // stops are idempotent). The network's stop takes down its capture, edge recorder and
      // cage: a recorder left running would keep this process alive and the cage on the host.
      await context.device?.stop().catch((e: unknown) => context.logger.warn({ err: e }, 'device'));
      await context.network
        ?.stop()
        .catch((e: unknown) => context.logger.warn({ err: e }, 'network'));
    }
  }
}

/** Whether BullMQ will not try this run again after it fails (attempts spent). */
function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** An uploaded image is removed once its run is over; the image store keeps what it needs. */
async function forgetUpload(context: RunContext): Promise<void> {
  await removeUploadOf(context.config, context.data.imagePath).catch((error: unknown) =>
    context.logger.warn({ err: error }, 'upload not removed'),
  );
}

async function writeRecord(
  context: RunContext,
  job: Job<AnalysisJobData>,
  status: RunRecord['status'],
  error?: unknown,
): Promise<void> {
  if (!context.runDir) return;
  const record: RunRecord = {
    runId: context.data.runId,
    imageLabel: context.data.imageLabel,
    ...(context.image ? { imageSha256: context.image.id } : {}),
    ...(context.data.baselineRunId ? { baselineRunId: context.data.baselineRunId } : {}),
    status,
    createdAt: new Date(context.startedAt).toISOString(),
    ...(status === 'running' ? {} : { finishedAt: new Date().toISOString() }),
    ...(error
      ? {
          error: {
            code: isCanarytrapError(error) ? error.code : 'internal-error',
            message: describeError(error),
          },
        }
      : {}),
    attempt: context.attempt,
  };
  await writeJsonAtomic(join(context.runDir, RUN_FILES.record), record);
}

/**
 * The attempt this is: one more than the attempts that failed (attemptsMade) and those whose
 * worker was lost (stalledCounter). Not attemptsStarted, which also counts a job put back to wait
 * without having run.
 */
function attemptOf(job: Job): number {
  return job.attemptsMade + job.stalledCounter + 1;
}

/**
 * A retried run first moves the evidence of the attempt before it aside (attempts/<n>/), then
 * says what happened in the run's progress, which `watch` and the web page show.
 */
async function announceRetry(context: RunContext, job: Job): Promise<void> {
  const { earlier } = await openRunAttempt(
    context.config.dataRoot,
    context.data.runId,
    context.attempt,
  );
  const last = earlier.at(-1);
  const why =
    last === undefined || last.outcome === 'lost'
      ? 'after the worker was lost'
      : `after attempt ${last.attempt} ${last.outcome === 'failed' ? `failed: ${last.reason}` : 'was cancelled'}`;
  // Failed attempts are bounded by the job's attempts, lost workers by the stalled count.
  const most = (job.opts.attempts ?? 1) + MAX_STALLED_COUNT;
  const message = `retrying (attempt ${context.attempt} of ${most}) ${why}`;
  context.logger.warn({ attempt: context.attempt, earlier }, message);
  await context.publish({ type: 'note', stage: 'intake', message, at: Date.now() });
}

/** Errors a retry cannot fix become UnrecoverableError, so BullMQ does not try again. */
function toQueueError(error: unknown): Error {
  if (isRunCancelled(error)) return new UnrecoverableError(CANCEL_REASON);
  if (error instanceof CanarytrapError && error.permanent) {
    const unrecoverable = new UnrecoverableError(`${error.code}: ${error.oneLine()}`);
    return unrecoverable;
  }
  return error instanceof Error ? error : new Error(String(error));
}
