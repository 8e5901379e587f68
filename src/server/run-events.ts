import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.ts';
import type { Leak } from '../correlate/types.ts';
import { findRunJob, type QueueHandle } from '../queue/analysis-queue.ts';
import { waitingFor, waitingText } from '../queue/waiting.ts';
import { isCancelReason } from '../queue/cancel.ts';
import type { AnalysisProgress } from '../queue/job-data.ts';
import { STAGES, type StageName } from '../queue/names.ts';
import { RUN_FILES } from '../run/run-dir.ts';
import { readRunFileText } from '../run/run-files.ts';
import type { FeedMessage, RunFeed } from './run-feed.ts';
import { readRunReport } from '../run/run-report.ts';
import { latestStage, runDetail, type RunDetail } from './runs.ts';

const HEARTBEAT_MS = 15_000;
/** How often a waiting run's reason is looked at again. */
const WAITING_POLL_MS = 2_000;

/**
 * `GET /api/runs/:id/events`: server-sent events. Subscribes first, then replays what the run
 * has so far (stages, leaks), then sends live messages, so a page reloaded mid-run loses nothing;
 * the page ignores repeats (leaks by id, stages by name and status).
 */
export async function streamRunEvents(
  req: IncomingMessage,
  res: ServerResponse,
  runId: string,
  deps: { config: Config; queue: QueueHandle; feed: RunFeed },
): Promise<void> {
  const detail = await runDetail(deps.config.dataRoot, deps.queue, runId);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  let ended = false;
  const send = (message: FeedMessage) => {
    if (ended) return;
    const event = message.kind === 'end' ? 'end' : 'progress';
    const data =
      message.kind === 'end'
        ? { status: message.status, reason: message.reason }
        : message.progress;
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // The stream ends with the run, so a client reading it to the end gets the whole run.
    if (message.kind === 'end') {
      ended = true;
      res.end();
    }
  };
  const buffered: FeedMessage[] = [];
  let live = false;
  const unsubscribe = deps.feed.subscribe(runId, (message) =>
    live ? send(message) : buffered.push(message),
  );
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  let waitingTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearInterval(heartbeat);
    clearTimeout(waitingTimer);
    unsubscribe();
  };
  req.on('close', stop);
  res.on('finish', stop);
  for (const message of await replay(deps.config, runId, detail, deps.feed)) send(message);
  for (const message of buffered) send(message);
  live = true;
  // A run not yet taken says what it waits for, again whenever that changes, until a worker
  // takes it (then its stage moves speak).
  let lastWaiting: string | undefined;
  const lookAtWaiting = async () => {
    if (ended || res.destroyed) return;
    const found = await findRunJob(deps.queue, runId);
    const waiting = found ? await waitingFor(deps.queue, found.job, found.lane) : undefined;
    const text = waiting ? waitingText(waiting) : '';
    if (text !== lastWaiting && !ended) {
      lastWaiting = text;
      res.write(`event: waiting\ndata: ${JSON.stringify({ ...waiting, text })}\n\n`);
    }
    if (waiting)
      waitingTimer = setTimeout(() => void lookAtWaiting().catch(() => undefined), WAITING_POLL_MS);
  };
  if (detail.job?.waiting) await lookAtWaiting().catch(() => undefined);
}

async function replay(
  config: Config,
  runId: string,
  detail: RunDetail,
  feed: RunFeed,
): Promise<FeedMessage[]> {
  const out: FeedMessage[] = [];
  const progress = (p: AnalysisProgress) => out.push({ kind: 'progress', progress: p });
  const finished = detail.record?.status === 'done' || detail.job?.state === 'completed';
  if (finished) {
    const report = await readRunReport(config.dataRoot, runId).catch(() => undefined);
    if (report) {
      for (const [index, stage] of report.stages.entries()) {
        progress({
          type: 'stage',
          stage: stage.name as StageName,
          index,
          total: STAGES.length,
          status: stage.status === 'failed' ? 'failed' : 'done',
          ...(stage.note ? { message: stage.note } : {}),
          at: stage.finishedAt,
        });
      }
      // The report is written during its own stage, so it cannot record that stage as done.
      for (const [index, stage] of STAGES.entries()) {
        if (!report.stages.some((s) => s.name === stage))
          progress(stageDone(stage, index, report.run.finishedAt));
      }
      for (const leak of report.leaks) progress({ type: 'leak', leak, at: leak.t });
      out.push({ kind: 'end', status: 'completed' });
      return out;
    }
  }
  const seen = feed.stagesSeen(runId);
  const latest = latestStage(detail.job?.progress);
  if (latest) {
    // Stages before the latest one finished, whether or not this server saw them go.
    for (let index = 0; index < latest.index; index += 1) {
      const stage = STAGES[index];
      if (
        stage &&
        !seen.some((p) => p.type === 'stage' && p.stage === stage && p.status !== 'started')
      )
        progress(stageDone(stage, index, latest.at));
    }
  }
  for (const p of seen) progress(p);
  if (latest) progress(latest);
  for (const leak of await readLeaks(config.dataRoot, runId))
    progress({ type: 'leak', leak, at: leak.t });
  if (finished) out.push({ kind: 'end', status: 'completed' });
  else if (
    detail.job?.state === 'failed' ||
    detail.record?.status === 'failed' ||
    detail.record?.status === 'cancelled'
  ) {
    const reason = detail.job?.failedReason ?? detail.record?.error?.message;
    const cancelled = detail.record?.status === 'cancelled' || isCancelReason(reason);
    out.push({
      kind: 'end',
      status: cancelled ? 'cancelled' : 'failed',
      ...(reason ? { reason } : {}),
    });
  }
  return out;
}

/** leaks.jsonl is appended while correlating; a last line still being written is left for the live feed. */
async function readLeaks(dataRoot: string, runId: string): Promise<Leak[]> {
  const text = (await readRunFileText(dataRoot, runId, RUN_FILES.leaks).catch(() => '')) ?? '';
  const leaks: Leak[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      leaks.push(JSON.parse(line) as Leak);
    } catch {
      break;
    }
  }
  return leaks;
}

function stageDone(stage: StageName, index: number, at: number): AnalysisProgress {
  return { type: 'stage', stage, index, total: STAGES.length, status: 'done', at };
}
