import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { followRun } from '../../src/queue/follow.ts';
import { LANES } from '../../src/queue/lanes.ts';
import { connectedWorkers } from '../../src/queue/worker-registry.ts';
import { startAnalysisWorker } from '../../src/queue/worker.ts';
import { serveWorkerMetrics } from '../../src/queue/worker-metrics.ts';
import { silentLogger } from '../../src/log.ts';
import {
  enqueueAnalysis,
  findRun,
  openAnalysisQueue,
  runJobCounts,
  type QueueHandle,
} from '../../src/queue/analysis-queue.ts';
import { CLI, REPO_ROOT, runCli } from '../support/cli-run.ts';
import { lineOn } from '../support/process-output.ts';
import { startServerEnv, type ServerEnv } from '../support/server-env.ts';

// A worker host with no Android SDK (the test's world sets no ANDROID_HOME, so on every machine
// it lacks `kvm`) serves the lab lane only; a run that names the SDK emulator waits, and says so
// in `watch`, the API, the watch page and the queue dashboard.

const TOKEN = 'lanes-token-0123456789';
let env: ServerEnv;
let queue: QueueHandle;
let image: string;

before(async () => {
  env = await startServerEnv({ apiToken: TOKEN, androidHome: undefined });
  queue = openAnalysisQueue(env.world.redis.url, env.config.queuePrefix);
  // Never booted here: an image directory whose run only has to be queued (or fail at intake).
  image = await mkdtemp(join(env.config.dataRoot, 'image-'));
  await writeFile(join(image, 'system.img'), 'not a file system');
});

after(async () => {
  await queue?.close();
  await env?.close();
});

function api(path: string): Promise<Response> {
  return fetch(`${env.server.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
}

/** `canarytrap submit`, as a user runs it. */
async function submit(...flags: string[]): Promise<string> {
  const result = await runCli(['submit', image, '--json', ...flags], env.world.env);
  assert.equal(result.exitCode, 0, result.stderr);
  return (JSON.parse(result.stdout) as { runId: string }).runId;
}

/** The same through the API (cheaper than starting the CLI again). */
async function submitByApi(options: Record<string, unknown>): Promise<string> {
  const answer = await fetch(`${env.server.url}/api/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ path: image, options }),
  });
  assert.equal(answer.status, 201, await answer.clone().text());
  return ((await answer.json()) as { runId: string }).runId;
}

interface RunJson {
  job?: { state: string; waiting?: { lane: string; needs: string[]; blocked?: string } };
}

test('a run that needs KVM waits with "no worker with: kvm" while only lab-phone workers are connected', async () => {
  const served = await env.worker.ready;
  assert.deepEqual(served.lanes, ['any']);
  assert.ok(served.capabilities.capabilities.includes('lab-phone'));
  assert.ok(!served.capabilities.capabilities.includes('kvm'));
  const adverts = await connectedWorkers(queue.connection, queue.prefix);
  assert.equal(adverts.length, 1);
  assert.deepEqual(adverts[0]?.lanes, ['any']);

  const kvmRun = await submit('--launcher', 'sdk-emulator');
  assert.equal(await queue.lanes['emulator-x86_64'].getJobCountByTypes('waiting'), 1);

  // watch, as a user runs it
  const watch = execa(process.execPath, [CLI, 'watch', kvmRun], {
    cwd: REPO_ROOT,
    env: env.world.env,
    reject: false,
  });
  try {
    const said = await lineOn(watch.stdout, /waiting: .*\n/, 20_000);
    assert.match(said, /waiting: no worker with: kvm \(emulator-x86_64 lane: SDK emulator/);
  } finally {
    watch.kill('SIGINT');
    await watch;
  }

  // the API
  const detail = (await (await api(`/api/runs/${kvmRun}`)).json()) as RunJson;
  assert.equal(detail.job?.state, 'waiting');
  assert.deepEqual(detail.job?.waiting, {
    lane: 'emulator-x86_64',
    needs: ['kvm', 'x86_64'],
    blocked: 'no worker with: kvm',
  });

  // the watch page, as rendered and as its event stream says it
  const page = await (await api(`/runs/${kvmRun}`)).text();
  assert.match(page, /<p id="run-status">waiting: no worker with: kvm/);
  const events = await api(`/api/runs/${kvmRun}/events`);
  const reader = events.body?.getReader();
  assert.ok(reader);
  let streamed = '';
  while (!streamed.includes('event: waiting')) {
    const { value, done } = await reader.read();
    if (done) break;
    streamed += Buffer.from(value).toString();
  }
  await reader.cancel();
  assert.match(streamed, /event: waiting\ndata: .*"text":"waiting: no worker with: kvm/);

  // the queue dashboard's API: what its page shows under the lane's name (the long
  // browser-ui test opens that page in Chromium)
  const board = (await (await api('/admin/queues/api/queues')).json()) as {
    queues: Array<{ name: string; description?: string; counts: Record<string, number> }>;
  };
  const emulatorLane = board.queues.find((q) => q.name === LANES['emulator-x86_64'].queue);
  assert.match(
    emulatorLane?.description ?? '',
    /needs: kvm, x86_64\) — waiting: no worker with: kvm/,
  );
  assert.equal(emulatorLane?.counts['waiting'], 1);
  const anyLane = board.queues.find((q) => q.name === LANES.any.queue);
  assert.ok(anyLane && !anyLane.description?.includes('waiting:'), anyLane?.description);

  // Prometheus' view: the waiting run in its lane, the lane blocked, one lab-phone worker.
  const scraped = await (await api('/metrics')).text();
  assert.match(scraped, /^canarytrap_queue_jobs\{lane="emulator-x86_64",state="waiting"\} 1$/m);
  assert.match(scraped, /^canarytrap_lane_blocked\{lane="emulator-x86_64"\} 1$/m);
  assert.match(scraped, /^canarytrap_lane_blocked\{lane="any"\} 0$/m);
  assert.match(scraped, /^canarytrap_workers_connected\{capability="lab-phone"\} 1$/m);
  assert.match(scraped, /^canarytrap_workers_connected\{capability="kvm"\} 0$/m);
  const unauthorised = await fetch(`${env.server.url}/metrics`);
  assert.equal(unauthorised.status, 401, 'metrics need the token');
  await unauthorised.body?.cancel();

  // The lab lane is served meanwhile: a run there is taken at once (and fails at intake, as
  // its image is junk), while the KVM run goes on waiting.
  const labRun = await submitByApi({});
  const outcome = await followRun({
    redisUrl: env.world.redis.url,
    prefix: env.config.queuePrefix,
    runId: labRun,
    onProgress: () => undefined,
    timeoutMs: 30_000,
  });
  assert.equal(outcome.status, 'failed');
  const still = (await (await api(`/api/runs/${kvmRun}`)).json()) as RunJson;
  assert.equal(still.job?.state, 'waiting');
  // The API timed the intake stage it saw fail; the worker counted the failed attempt.
  const after = await (await api('/metrics')).text();
  assert.match(
    after,
    /^canarytrap_stage_duration_seconds_count\{stage="intake",status="failed"\} [1-9]/m,
  );
  const workerMetrics = await serveWorkerMetrics(env.worker, '127.0.0.1', 0);
  try {
    const own = await (await fetch(workerMetrics.url)).text();
    assert.match(own, /^canarytrap_worker_slots 1$/m);
    assert.match(own, /^canarytrap_worker_runs_ended_total\{outcome="failed"\} [1-9]/m);
  } finally {
    await workerMetrics.close();
  }
});

test('a worker that leaves withdraws its advert, and waiting runs say no worker is connected', async () => {
  const kvmRun = await submitByApi({ launcher: 'sdk-emulator', abi: 'arm64' });
  await env.worker.close();
  assert.deepEqual(await connectedWorkers(queue.connection, queue.prefix), []);
  const detail = (await (await api(`/api/runs/${kvmRun}`)).json()) as RunJson;
  assert.equal(detail.job?.waiting?.blocked, 'no worker with: kvm, arm64 (no worker is connected)');
});

test('submit refuses an ABI it does not know, before queueing (the schema checks the flag)', async () => {
  const before = await runJobCounts(queue);
  const result = await runCli(['submit', image, '--abi', 'mips'], env.world.env);
  assert.equal(result.exitCode, 2, result.stderr);
  assert.match(result.stderr, /canarytrap: options-invalid: .*"abi" must be one of x86_64, arm64/);
  assert.deepEqual(await runJobCounts(queue), before);
});

test('a host serving several lanes runs no more at once than its slots, and a job put back spends no attempt', async () => {
  const prefix = `${env.config.queuePrefix}-slots`;
  const lanes = openAnalysisQueue(env.world.redis.url, prefix);
  let now = 0;
  let most = 0;
  const ran: string[] = [];
  const worker = startAnalysisWorker({
    redisUrl: env.world.redis.url,
    config: { ...env.config, queuePrefix: prefix },
    logger: silentLogger(),
    concurrency: 1,
    // Claimed, not detected: the point is the sharing of slots between lanes.
    capabilities: { capabilities: ['lab-phone', 'x86_64', 'kvm'], missing: {} },
    processor: async (job) => {
      now += 1;
      most = Math.max(most, now);
      await new Promise((resolve) => setTimeout(resolve, 400));
      now -= 1;
      ran.push(job.data.runId);
      return { runId: job.data.runId, runDir: '', verdict: 'clean', leakCount: 0, summary: '' };
    },
  });
  try {
    assert.deepEqual((await worker.ready).lanes, ['any', 'emulator-x86_64']);
    const jobs = await Promise.all(
      ['r-lab-1', 'r-kvm-1', 'r-lab-2', 'r-kvm-2'].map((runId) =>
        enqueueAnalysis(lanes, {
          runId,
          imagePath: image,
          imageLabel: runId,
          options: runId.includes('kvm') ? { launcher: 'sdk-emulator' } : {},
        }),
      ),
    );
    for (const job of jobs) {
      const deadline = Date.now() + 30_000;
      while ((await job.getState()) !== 'completed') {
        assert.ok(Date.now() < deadline, `${job.id} did not complete`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.equal(most, 1, 'two runs at once on a one-slot host');
    assert.deepEqual([...ran].sort(), ['r-kvm-1', 'r-kvm-2', 'r-lab-1', 'r-lab-2']);
    for (const job of jobs) {
      const done = await findRun(lanes, job.id ?? '');
      assert.equal(done?.attemptsMade, 1, `${job.id} spent ${done?.attemptsMade} attempts`);
    }
  } finally {
    await worker.close();
    await lanes.close();
  }
});
