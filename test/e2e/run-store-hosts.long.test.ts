import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startWorker } from '../../src/cli/worker.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { followRun } from '../../src/queue/follow.ts';
import { runsRoot } from '../../src/run/run-dir.ts';
import { startServer, type ServerHandle } from '../../src/server/index.ts';
import { runCli } from '../support/cli-run.ts';
import { startPipelineEnv, type PipelineEnv } from '../support/pipeline-env.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';

// A lab run submitted to the API on one host, run by a worker with its own data root, read back
// from the API and by the CLI of a third data root: the S3-protocol store (s3rver on loopback)
// and Redis are all they share.

const TOKEN = 'hosts-token-0123456789';
const QUICK = { advanceHours: 12, stepHours: 12 };
let s3: TestS3;
let world: PipelineEnv;
let hostEnv: (host: string) => Record<string, string>;
let workerConfig: Config;
let worker: ReturnType<typeof startWorker>;
let api: ServerHandle;

before(async () => {
  s3 = await startTestS3();
  world = await startPipelineEnv();
  const store = s3.env(`hosts-${randomUUID()}`);
  hostEnv = (host) => ({
    ...world.env,
    ...store,
    CANARYTRAP_DATA: join(world.config.dataRoot, '..', host),
    CANARYTRAP_API_TOKEN: TOKEN,
  });
  workerConfig = loadConfig(hostEnv('worker-host'));
  worker = startWorker(world.redis.url, workerConfig, silentLogger(), 1);
  api = await startServer({
    config: loadConfig(hostEnv('api-host')),
    logger: silentLogger(),
    redisUrl: world.redis.url,
    port: 0,
  });
});

after(async () => {
  await api?.close();
  await worker?.close();
  await world?.close();
  await s3?.close();
});

function get(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) },
  });
}

test(
  'a lab run crosses hosts through the store: the worker keeps nothing, the API and CLI read it all',
  { timeout: 120_000 },
  async () => {
    const submitted = await get('/api/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lab: 'adups-2016', options: QUICK }),
    });
    assert.equal(submitted.status, 201, await submitted.clone().text());
    const { runId } = (await submitted.json()) as { runId: string };
    const outcome = await followRun({
      redisUrl: world.redis.url,
      prefix: world.config.queuePrefix,
      runId,
      onProgress: () => undefined,
      timeoutMs: 100_000,
    });
    assert.equal(outcome.status, 'completed', JSON.stringify(outcome));

    const left = await readdir(runsRoot(workerConfig.dataRoot)).catch(() => []);
    assert.deepEqual(left, [], 'the worker host kept a run directory');

    const report = (await (await get(`/api/runs/${runId}/report`)).json()) as {
      leaks: Array<{ canary: { kind: string } }>;
    };
    assert.ok(report.leaks.length > 0);
    const har = await get(`/api/runs/${runId}/export/har`);
    assert.equal(har.status, 200);
    const entries = ((await har.json()) as { log: { entries: unknown[] } }).log.entries;
    assert.ok(entries.length > 0);

    const cli = await runCli(['report', runId, '--format', 'json'], hostEnv('cli-host'));
    assert.equal(cli.exitCode, 0, cli.stderr);
    const fromCli = JSON.parse(cli.stdout) as { leaks: unknown[] };
    assert.equal(fromCli.leaks.length, report.leaks.length);
  },
);
