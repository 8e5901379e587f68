import { findRun, type QueueEventsHandle, type QueueHandle } from '../queue/analysis-queue.ts';
import { isCancelReason } from '../queue/cancel.ts';
import type { AnalysisProgress } from '../queue/job-data.ts';

/** What the watch page receives: the job's own progress, and once the run ends, how it ended. */
export type FeedMessage =
  | { kind: 'progress'; progress: AnalysisProgress }
  | { kind: 'end'; status: 'completed' | 'failed' | 'cancelled'; reason?: string };

type Listener = (message: FeedMessage) => void;
type StageListener = (runId: string, move: Extract<AnalysisProgress, { type: 'stage' }>) => void;

/** Stage moves are few; keep them for this many runs so a reload mid-run replays them all. */
const REMEMBERED_RUNS = 500;

/**
 * One QueueEvents subscription for the whole server, fanned out to the pages watching each run.
 * It remembers the stage moves it saw, because BullMQ keeps only a job's latest progress.
 */
export class RunFeed {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stageHistory = new Map<string, AnalysisProgress[]>();
  private readonly stageListeners = new Set<StageListener>();

  constructor(
    private readonly events: QueueEventsHandle,
    private readonly queue: QueueHandle,
    private readonly onError: (error: unknown) => void,
  ) {
    events.events.on('progress', ({ jobId, data }: { jobId: string; data: unknown }) => {
      if (typeof data !== 'object' || data === null) return;
      const progress = data as AnalysisProgress;
      if (progress.type === 'stage') {
        this.remember(jobId, progress);
        for (const listener of this.stageListeners) listener(jobId, progress);
      }
      this.emit(jobId, { kind: 'progress', progress });
    });
    events.events.on('completed', ({ jobId }: { jobId: string }) =>
      this.emit(jobId, { kind: 'end', status: 'completed' }),
    );
    events.events.on(
      'failed',
      ({ jobId, failedReason }: { jobId: string; failedReason: string }) => {
        // A failed attempt that will be retried is not the end of the run.
        void findRun(this.queue, jobId)
          .then((job) => job?.getState())
          .then((state) => {
            if (state === 'failed')
              this.emit(jobId, {
                kind: 'end',
                status: isCancelReason(failedReason) ? 'cancelled' : 'failed',
                reason: failedReason,
              });
          }, this.onError);
      },
    );
  }

  ready(): Promise<void> {
    return this.events.events.waitUntilReady().then(() => undefined);
  }

  stagesSeen(runId: string): readonly AnalysisProgress[] {
    return this.stageHistory.get(runId) ?? [];
  }

  /** Hears every run's stage moves (the metrics time the stages with them). */
  onStage(listener: StageListener): void {
    this.stageListeners.add(listener);
  }

  subscribe(runId: string, listener: Listener): () => void {
    const set = this.listeners.get(runId) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(runId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(runId);
    };
  }

  close(): Promise<void> {
    this.listeners.clear();
    return this.events.close();
  }

  private remember(runId: string, progress: AnalysisProgress): void {
    const list = this.stageHistory.get(runId) ?? [];
    list.push(progress);
    this.stageHistory.delete(runId);
    this.stageHistory.set(runId, list);
    if (this.stageHistory.size > REMEMBERED_RUNS) {
      const oldest = this.stageHistory.keys().next().value;
      if (oldest !== undefined) this.stageHistory.delete(oldest);
    }
  }

  private emit(runId: string, message: FeedMessage): void {
    for (const listener of this.listeners.get(runId) ?? []) listener(message);
  }
}
