import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import {
  findRun,
  openAnalysisQueue,
  openQueueEvents,
  type QueueEventsHandle,
  type QueueHandle,
} from '../../src/queue/analysis-queue.ts';
import type { AnalysisProgress } from '../../src/queue/job-data.ts';
import { connectedWorkers } from '../../src/queue/worker-registry.ts';
import { openRunStore } from '../../src/run/run-store.ts';
import {
  startClusterServices,
  submitLabRun,
  type ClusterServices,
} from '../support/cluster-services.ts';
import { namespacesUnavailable } from '../support/netns-pair.ts';

// Many hosts, nothing lost (issue 13): Redis, the S3 server and the API in one network namespace,
// three worker hosts in three others, each with its own data root and no shared file system.
// Lab runs are submitted to the API; one worker host is killed outright mid-run, Redis is
// restarted under load; every run must finish exactly once and be served by the API.

const RUNS = Number(process.env['CANARYTRAP_SCALE_RUNS'] ?? 30);
const WORKERS = 3;
const QUICK = { advanceHours: 12, stepHours: 12 };
const skip = namespacesUnavailable();

let services: ClusterServices;
let queue: QueueHandle;
let events: QueueEventsHandle;
const intakeStarts = new Map<string, number>();
const completions = new Map<string, number>();

before(async () => {
  if (skip) return;
  services = await startClusterServices(WORKERS);
  const config = loadConfig(services.hostEnv('driver'));
  queue = openAnalysisQueue(config.redisUrl ?? '', config.queuePrefix);
  events = openQueueEvents(config.redisUrl ?? '', config.queuePrefix);
  events.events.on('progress', ({ jobId, data }: { jobId: string; data: AnalysisProgress }) => {
    if (data.type === 'stage' && data.stage === 'intake' && data.status === 'started')
      intakeStarts.set(jobId, (intakeStarts.get(jobId) ?? 0) + 1);
  });
  events.events.on('completed', ({ jobId }: { jobId: string }) =>
    completions.set(jobId, (completions.get(jobId) ?? 0) + 1),
  );
  await events.events.waitUntilReady();
});

after(async () => {
  if (skip) return;
  await events?.close();
  await queue?.close();
  await services?.close();
});

function api(path: string): Promise<Response> {
  return fetch(`${services.apiUrl}${path}`, {
    headers: { authorization: `Bearer ${services.token}` },
  });
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test(
  `${RUNS} lab runs over ${WORKERS} worker hosts: a host killed, Redis restarted, each run finished once and served`,
  { timeout: 40 * 60_000 },
  async (t) => {
    if (skip) {
      t.skip(skip);
      return;
    }
    const adverts = await until('every worker host advertised', 30_000, async () => {
      const found = await connectedWorkers(queue.connection, queue.prefix);
      return found.length === WORKERS ? found : undefined;
    });
    assert.ok(adverts.every((a) => a.lanes.includes('any')));

    const runIds: string[] = [];
    for (let i = 0; i < RUNS; i += 1)
      runIds.push(await submitLabRun(services, 'adups-2016', QUICK));

    // A worker host dies (every process in it, SIGKILL) while it is on a run. `ip netns exec`
    // becomes the program it runs, so the worker's pid is the one it advertises.
    const victim = services.cluster.workers[1]!;
    const victimPid = services.workers.get(victim.ns)?.pid;
    await until('the victim host running a run', 180_000, async () => {
      const found = await connectedWorkers(queue.connection, queue.prefix);
      return found.find((a) => a.pid === victimPid && a.running > 0);
    });
    // Let it get onto the device.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const killed = await services.cluster.killHost(victim.ns);
    assert.ok(killed > 0);
    services.workers.delete(victim.ns);

    // Redis restarts under load (its append-only file keeps the queue).
    await until('a few runs finished', 20 * 60_000, async () =>
      completions.size >= Math.min(5, RUNS - 1) ? true : undefined,
    );
    await services.restartRedis();

    // The killed host comes back (its new worker sweeps what the dead one left).
    await services.startWorker(victim.ns);

    await until(`all ${RUNS} runs completed`, 30 * 60_000, async () => {
      for (const runId of runIds) {
        const job = await findRun(queue, runId);
        if ((await job?.getState()) !== 'completed') return undefined;
      }
      return true;
    });

    // Exactly once: every run completed once; only the run on the killed host started twice.
    for (const runId of runIds)
      assert.ok(
        (completions.get(runId) ?? 0) <= 1,
        `${runId} completed ${completions.get(runId)} times`,
      );
    const startedTwice = runIds.filter((runId) => (intakeStarts.get(runId) ?? 0) > 1);
    assert.ok(startedTwice.length <= 1, `started more than once: ${startedTwice.join(', ')}`);

    // In the store each run once, and every report and export from the API in the hub.
    const driver = loadConfig(services.hostEnv('driver'));
    const store = await openRunStore({ ...driver, dataRoot: join(driver.dataRoot, 'listing') });
    assert.ok(store);
    const stored = new Set(await store.listRuns());
    for (const runId of runIds) assert.ok(stored.has(runId), `${runId} is not in the store`);
    for (const runId of runIds) {
      const report = await api(`/api/runs/${runId}/report`);
      assert.equal(report.status, 200, runId);
      const parsed = (await report.json()) as { leaks: unknown[] };
      assert.ok(parsed.leaks.length > 0, `${runId} has no leaks`);
      const har = await api(`/api/runs/${runId}/export/har`);
      assert.equal(har.status, 200, runId);
      await har.body?.cancel();
    }
    t.diagnostic(
      `runs ${RUNS}; killed host ${victim.ns} (${killed} processes); started twice: ${startedTwice.join(', ') || 'none'}`,
    );
  },
);
