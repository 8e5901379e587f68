import { randomInt } from 'node:crypto';
import type { ScheduledWork } from '../../behaviour/host.ts';
import type { DeviceClock } from '../clock.ts';
import type { WorkRunner } from './work-runner.ts';

export interface JobRecord {
  hash: string;
  pkg: string;
  uid: number;
  jobId: number;
  /** Service class as given (`.CommandJobService` or fully qualified). */
  service: string;
  periodMs: number;
  /** Device wall clock of the last run, or of scheduling when it never ran. */
  lastRunAt: number;
  /** Elapsed realtime when it was scheduled. */
  enqueuedElapsed: number;
  runs: number;
  work: ScheduledWork;
}

export type ForceRunResult = 'running' | 'no-package' | 'no-job';

/**
 * Periodic jobs: each runs when a full period of device time passed since its last run (waiting
 * or a clock jump), and at once on `cmd jobscheduler run -f`.
 */
export class JobScheduler {
  readonly #jobs: JobRecord[] = [];

  constructor(
    private readonly clock: DeviceClock,
    private readonly runner: WorkRunner,
    private readonly uidOf: (pkg: string) => number | undefined,
  ) {}

  schedule(
    pkg: string,
    jobId: number,
    service: string,
    periodMs: number,
    work: ScheduledWork,
  ): JobRecord {
    const existing = this.#jobs.findIndex((j) => j.pkg === pkg && j.jobId === jobId);
    if (existing >= 0) this.#jobs.splice(existing, 1);
    const job: JobRecord = {
      hash: randomInt(0x1000000, 0xfffffff).toString(16),
      pkg,
      uid: this.uidOf(pkg) ?? 10_099,
      jobId,
      service,
      periodMs,
      lastRunAt: this.clock.now(),
      enqueuedElapsed: this.clock.elapsed(),
      runs: 0,
      work,
    };
    this.#jobs.push(job);
    return job;
  }

  jobs(): JobRecord[] {
    return [...this.#jobs].sort((a, b) => a.uid - b.uid || a.jobId - b.jobId);
  }

  forceRun(pkg: string, jobId: number): ForceRunResult {
    if (this.uidOf(pkg) === undefined) return 'no-package';
    const job = this.#jobs.find((j) => j.pkg === pkg && j.jobId === jobId);
    if (!job) return 'no-job';
    this.#run(job);
    return 'running';
  }

  dispatchDue(): void {
    const now = this.clock.now();
    for (const job of this.jobs()) {
      if (job.periodMs > 0 && now - job.lastRunAt >= job.periodMs) this.#run(job);
    }
  }

  #run(job: JobRecord): void {
    job.lastRunAt = this.clock.now();
    job.runs++;
    this.runner.enqueue(`job ${job.pkg}/${job.jobId}`, job.work);
  }
}
