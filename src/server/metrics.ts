import { Gauge, Histogram, Registry } from 'prom-client';
import type { QueueHandle } from '../queue/analysis-queue.ts';
import type { AnalysisProgress } from '../queue/job-data.ts';
import { CAPABILITIES, LANE_NAMES, laneBlockedReason } from '../queue/lanes.ts';
import { connectedWorkers } from '../queue/worker-registry.ts';
import type { RunFeed } from './run-feed.ts';

/** The job states a lane's depth is reported in. */
const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;

/**
 * `GET /metrics` (Prometheus text format, behind the API token): what an autoscaler and a
 * dashboard need, read from Redis at each scrape — queue depth per lane and state, lanes no
 * connected worker serves, connected workers by capability, their slots and the runs (devices)
 * in use — and, from the stage moves this server sees, how long each stage takes.
 */
export function apiMetrics(queue: QueueHandle, feed: RunFeed): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'canarytrap_queue_jobs',
    help: 'Runs in the queue by lane and state',
    labelNames: ['lane', 'state'],
    registers: [registry],
    async collect() {
      for (const lane of LANE_NAMES) {
        const counts = await queue.lanes[lane].getJobCounts(...STATES);
        for (const state of STATES) this.set({ lane, state }, counts[state] ?? 0);
      }
    },
  });
  new Gauge({
    name: 'canarytrap_lane_blocked',
    help: '1 when no connected worker can run the jobs of a lane (they wait for a capability)',
    labelNames: ['lane'],
    registers: [registry],
    async collect() {
      const workers = await connectedWorkers(queue.connection, queue.prefix);
      for (const lane of LANE_NAMES) this.set({ lane }, laneBlockedReason(lane, workers) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'canarytrap_workers_connected',
    help: 'Connected workers by capability they advertise',
    labelNames: ['capability'],
    registers: [registry],
    async collect() {
      const workers = await connectedWorkers(queue.connection, queue.prefix);
      for (const capability of CAPABILITIES)
        this.set({ capability }, workers.filter((w) => w.capabilities.includes(capability)).length);
    },
  });
  new Gauge({
    name: 'canarytrap_worker_slots',
    help: 'Runs the connected workers may run at once, summed',
    registers: [registry],
    async collect() {
      const workers = await connectedWorkers(queue.connection, queue.prefix);
      this.set(workers.reduce((sum, w) => sum + w.slots, 0));
    },
  });
  new Gauge({
    name: 'canarytrap_devices_in_use',
    help: 'Runs on a device now over the connected workers (each run boots one device)',
    registers: [registry],
    async collect() {
      const workers = await connectedWorkers(queue.connection, queue.prefix);
      this.set(workers.reduce((sum, w) => sum + w.running, 0));
    },
  });
  const stageSeconds = new Histogram({
    name: 'canarytrap_stage_duration_seconds',
    help: 'How long each stage of a run took, by its outcome',
    labelNames: ['stage', 'status'],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [registry],
  });
  const started = new Map<string, number>();
  feed.onStage((runId: string, move: Extract<AnalysisProgress, { type: 'stage' }>) => {
    const key = `${runId}\u0000${move.stage}`;
    if (move.status === 'started') {
      started.set(key, move.at);
      return;
    }
    const from = started.get(key);
    if (from === undefined) return;
    started.delete(key);
    stageSeconds.observe({ stage: move.stage, status: move.status }, (move.at - from) / 1000);
  });
  return registry;
}
