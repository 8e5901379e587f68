import { rm } from 'node:fs/promises';
import { enqueueAnalysis, findRun } from '../queue/analysis-queue.ts';
import { cancelRun } from '../queue/cancel.ts';
import type { AnalysisJobData } from '../queue/job-data.ts';
import { diffReports, type ReportDiff } from '../report/diff.ts';
import { labImageNames } from '../run/image-argument.ts';
import { rerunJobData } from '../run/rerun.ts';
import type { ServerContext } from './context.ts';
import { ApiError } from './http-kit.ts';
import { readRunReport } from '../run/run-report.ts';
import { withSharedImage } from '../run/shared-image.ts';
import { checkImage, jobForSubmission, type ImageSource, type Submission } from './submission.ts';

async function queueJob(ctx: ServerContext, data: AnalysisJobData): Promise<{ runId: string }> {
  const shared = await withSharedImage(ctx.config, data);
  await enqueueAnalysis(ctx.queue, shared);
  ctx.logger.info({ runId: data.runId, image: data.imageLabel }, 'run queued');
  return { runId: data.runId };
}

async function assertRunKnown(ctx: ServerContext, runId: string): Promise<void> {
  const job = await findRun(ctx.queue, runId);
  if (job) return;
  await readRunReport(ctx.config.dataRoot, runId).catch(() => {
    throw new ApiError(400, 'baseline-unknown', `no run ${runId} to compare with`);
  });
}

/** A checked submission queued; a baseline that does not exist refuses it (and its upload). */
export async function submit(
  ctx: ServerContext,
  submission: Submission,
): Promise<{ runId: string }> {
  if (submission.baselineRunId) {
    try {
      await assertRunKnown(ctx, submission.baselineRunId);
    } catch (error) {
      if ('upload' in submission.source) await rm(submission.source.upload.path, { force: true });
      throw error;
    }
  }
  return queueJob(ctx, await jobForSubmission(submission, ctx.config));
}

/** `{ image }` of a rerun: a lab image name, or a path inside the allowed roots. */
export async function rerun(
  ctx: ServerContext,
  baseRunId: string,
  image: unknown,
): Promise<{ runId: string }> {
  if (typeof image !== 'string' || image.length === 0) {
    throw new ApiError(
      400,
      'image-missing',
      'give "image": a lab image name or a path on the server',
    );
  }
  const source: ImageSource = (await labImageNames()).includes(image)
    ? { lab: image }
    : { path: image };
  await assertRunKnown(ctx, baseRunId);
  const resolved = await checkImage(source, ctx.config);
  return queueJob(ctx, await rerunJobData(ctx.queue, ctx.config, baseRunId, resolved));
}

/**
 * A queued run is removed at once; a running one is asked to stop (its worker aborts it between
 * or inside stages and tears its device down), and its event stream ends "cancelled".
 */
export async function cancel(
  ctx: ServerContext,
  runId: string,
): Promise<{ runId: string; status: 'cancelled' | 'cancelling' }> {
  const result = await cancelRun(ctx.queue, runId);
  switch (result.outcome) {
    case 'not-found':
      throw new ApiError(404, 'run-not-found', `no run ${runId} in the queue`);
    case 'finished':
      throw new ApiError(409, 'run-finished', `run ${runId} has already ${result.state}`);
    case 'removed':
      ctx.logger.info({ runId }, 'queued run cancelled');
      return { runId, status: 'cancelled' };
    case 'cancelling':
      ctx.logger.info({ runId }, 'running run asked to stop');
      return { runId, status: 'cancelling' };
  }
}

export async function diffRuns(
  ctx: ServerContext,
  base: string | null,
  next: string | null,
): Promise<ReportDiff> {
  if (!base || !next)
    throw new ApiError(400, 'diff-runs-missing', 'give both ?base= and ?next= run ids');
  return diffReports(
    await readRunReport(ctx.config.dataRoot, base),
    await readRunReport(ctx.config.dataRoot, next),
  );
}
