// The queue's and the workers' own cost per run, measured on the many-host set-up of the scale
// suite (hub with Redis, S3 and the API; worker hosts as network namespaces): lab runs are
// submitted to the API and followed to the end. Overhead is a run's time on its worker minus the
// device's dwell (boot started to collect done): intake, correlation, the report, publishing to
// the store and the queue's own steps.
import { loadConfig } from '../../src/config.ts';
import { findRun, openAnalysisQueue } from '../../src/queue/analysis-queue.ts';
import type { Report } from '../../src/report/model.ts';
import { startClusterServices, submitLabRun } from '../support/cluster-services.ts';
import { namespacesUnavailable } from '../support/netns-pair.ts';

const DEVICE_FIRST = 'boot';
const DEVICE_LAST = 'collect';

export interface OrchestrationResult {
  runs: number;
  hosts: number;
  overheadMs: number;
  runsPerMinute: number;
}

export async function benchOrchestration(
  runs: number,
  hosts: number,
): Promise<OrchestrationResult | string> {
  const unavailable = namespacesUnavailable();
  if (unavailable) return unavailable;
  const services = await startClusterServices(hosts);
  const config = loadConfig(services.hostEnv('bench'));
  const queue = openAnalysisQueue(config.redisUrl ?? '', config.queuePrefix);
  try {
    const started = Date.now();
    const runIds: string[] = [];
    for (let i = 0; i < runs; i += 1)
      runIds.push(await submitLabRun(services, 'adups-2016', { advanceHours: 12, stepHours: 12 }));
    const overheads: number[] = [];
    let lastFinish = started;
    for (const runId of runIds) {
      const deadline = Date.now() + 20 * 60_000;
      for (;;) {
        const job = await findRun(queue, runId);
        const state = await job?.getState();
        if (state === 'failed') throw new Error(`run ${runId} failed: ${job?.failedReason}`);
        if (state === 'completed' && job?.processedOn && job.finishedOn) {
          const answer = await fetch(`${services.apiUrl}/api/runs/${runId}/report`, {
            headers: { authorization: `Bearer ${services.token}` },
          });
          const report = (await answer.json()) as Report;
          const first = report.stages.find((s) => s.name === DEVICE_FIRST);
          const last = report.stages.find((s) => s.name === DEVICE_LAST);
          const dwell = first && last ? last.finishedAt - first.startedAt : 0;
          overheads.push(job.finishedOn - job.processedOn - dwell);
          lastFinish = Math.max(lastFinish, job.finishedOn);
          break;
        }
        if (Date.now() > deadline) throw new Error(`run ${runId} did not finish`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    overheads.sort((a, b) => a - b);
    const median = overheads[Math.floor(overheads.length / 2)] ?? 0;
    return {
      runs,
      hosts,
      overheadMs: median,
      runsPerMinute: runs / ((lastFinish - started) / 60_000),
    };
  } finally {
    await queue.close();
    await services.close();
  }
}
