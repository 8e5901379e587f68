import { readdir } from 'node:fs/promises';
import { findRunJob, runJobs, type QueueHandle } from '../queue/analysis-queue.ts';
import { waitingFor, type WaitingFor } from '../queue/waiting.ts';
import { isCancelReason } from '../queue/cancel.ts';
import type { AnalysisJobData, AnalysisProgress, AnalysisResult } from '../queue/job-data.ts';
import { RUN_FILES, runsRoot, type RunRecord } from '../run/run-dir.ts';
import { readRunFileText } from '../run/run-files.ts';
import { readRunReport } from '../run/run-report.ts';
import { registeredRunStore } from '../run/run-store.ts';
import { ApiError } from './http-kit.ts';

/** One line of the run list: what run.json and the queue know, whichever has it. */
export interface RunSummary {
  runId: string;
  label: string;
  status: string;
  verdict?: string;
  leakCount?: number;
  baselineRunId?: string;
  createdAt?: string;
}

export interface RunDetail {
  runId: string;
  record?: RunRecord;
  job?: {
    state: string;
    data: AnalysisJobData;
    progress: unknown;
    failedReason?: string;
    result?: AnalysisResult;
    /** While it waits to be taken: its lane and, if no connected worker serves it, why. */
    waiting?: WaitingFor;
  };
}

export async function readRunRecord(
  dataRoot: string,
  runId: string,
): Promise<RunRecord | undefined> {
  const text = await readRunFileText(dataRoot, runId, RUN_FILES.record).catch(() => undefined);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as RunRecord;
  } catch {
    // A record is written atomically; one that does not parse was damaged outside, so it is skipped.
    return undefined;
  }
}

export async function runDetail(
  dataRoot: string,
  queue: QueueHandle,
  runId: string,
): Promise<RunDetail> {
  const record = await readRunRecord(dataRoot, runId);
  const found = await findRunJob(queue, runId);
  const job = found?.job;
  const waiting = found ? await waitingFor(queue, found.job, found.lane) : undefined;
  if (!record && !job) throw new ApiError(404, 'run-not-found', `no run ${runId}`);
  return {
    runId,
    ...(record ? { record } : {}),
    ...(job
      ? {
          job: {
            state: await job.getState(),
            data: job.data,
            progress: job.progress,
            ...(job.failedReason ? { failedReason: job.failedReason } : {}),
            ...(job.returnvalue ? { result: job.returnvalue } : {}),
            ...(waiting ? { waiting } : {}),
          },
        }
      : {}),
  };
}

/** The stage moves seen so far: from the finished report, else the job's latest progress. */
export function latestStage(
  progress: unknown,
): Extract<AnalysisProgress, { type: 'stage' }> | undefined {
  if (
    typeof progress === 'object' &&
    progress !== null &&
    (progress as { type?: unknown }).type === 'stage'
  )
    return progress as Extract<AnalysisProgress, { type: 'stage' }>;
  return undefined;
}

/** Runs under the data root and jobs still in the queue, newest first, filtered by `q`. */
export async function listRuns(
  dataRoot: string,
  queue: QueueHandle,
  q: string | undefined,
): Promise<RunSummary[]> {
  const byId = new Map<string, RunSummary>();
  const jobs = await runJobs(queue, [
    'waiting',
    'active',
    'delayed',
    'prioritized',
    'completed',
    'failed',
  ]);
  for (const job of jobs) {
    if (!job.id) continue;
    const state = await job.getState();
    byId.set(job.id, {
      runId: job.id,
      label: job.data.imageLabel,
      status:
        state === 'completed'
          ? 'done'
          : state === 'active'
            ? 'running'
            : state === 'failed' && isCancelReason(job.failedReason)
              ? 'cancelled'
              : state,
      ...(job.returnvalue
        ? { verdict: job.returnvalue.verdict, leakCount: job.returnvalue.leakCount }
        : {}),
      ...(job.data.baselineRunId ? { baselineRunId: job.data.baselineRunId } : {}),
      createdAt: new Date(job.timestamp).toISOString(),
    });
  }
  const local = await readdir(runsRoot(dataRoot)).catch(() => [] as string[]);
  // With a shared store, the runs other hosts finished are listed too (and copied here on first read).
  const stored = (await registeredRunStore(dataRoot)?.listRuns()) ?? [];
  for (const runId of new Set([...local, ...stored])) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(runId)) continue;
    const record = await readRunRecord(dataRoot, runId).catch(() => undefined);
    if (!record) continue;
    const known = byId.get(runId);
    byId.set(runId, {
      ...known,
      runId,
      label: record.imageLabel,
      // A job removed from the queue leaves its record; a job still queued knows more than a stale record.
      status: known?.status ?? record.status,
      ...(record.baselineRunId ? { baselineRunId: record.baselineRunId } : {}),
      createdAt: record.createdAt,
      ...(known?.verdict || record.status !== 'done' ? {} : await verdictOf(dataRoot, runId)),
    });
  }
  const needle = q?.trim().toLowerCase();
  return [...byId.values()]
    .filter((run) =>
      needle
        ? [run.runId, run.label, run.status, run.verdict ?? ''].some((f) =>
            f.toLowerCase().includes(needle),
          )
        : true,
    )
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
}

async function verdictOf(
  dataRoot: string,
  runId: string,
): Promise<Pick<RunSummary, 'verdict' | 'leakCount'>> {
  try {
    const report = await readRunReport(dataRoot, runId);
    return { verdict: report.verdict.status, leakCount: report.leaks.length };
  } catch {
    return {};
  }
}
