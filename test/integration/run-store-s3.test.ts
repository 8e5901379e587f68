import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig, type Config } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { buildReport } from '../../src/report/build.ts';
import { runDirFor } from '../../src/run/run-dir.ts';
import { publishFinishedRun } from '../../src/run/run-store.ts';
import { localImagePath, withSharedImage } from '../../src/run/shared-image.ts';
import { startServer, type ServerHandle } from '../../src/server/index.ts';
import { startPrivateRedis, type PrivateRedis } from '../../src/queue/redis-server.ts';
import { runCli } from '../support/cli-run.ts';
import { BIGDATA, flow, input, leak } from '../support/report-fixtures.ts';
import { startTestS3, type TestS3 } from '../support/s3-server.ts';

// Three hosts that share nothing but Redis and an S3-protocol store (a real server, s3rver, on
// loopback): a worker host publishes a run and keeps nothing; an API host and a CLI host read
// it; an image submitted on one host reaches a worker on another.

const TOKEN = 'store-token-0123456789';
let s3: TestS3;
let redis: PrivateRedis;
let root: string;
let env: (host: string) => Record<string, string>;
let hostConfig: (host: string) => Config;
let api: ServerHandle;

before(async () => {
  s3 = await startTestS3();
  redis = await startPrivateRedis();
  root = await mkdtemp(join(tmpdir(), 'canarytrap-store-'));
  const prefix = `test-${randomUUID()}`;
  env = (host) => ({
    ...s3.env(`suite/${prefix}`),
    CANARYTRAP_DATA: join(root, host),
    CANARYTRAP_REDIS_URL: redis.url,
    CANARYTRAP_QUEUE_PREFIX: prefix,
    CANARYTRAP_API_TOKEN: TOKEN,
    CANARYTRAP_LOG_LEVEL: 'silent',
    HOME: join(root, host, 'home'),
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
  });
  hostConfig = (host) => loadConfig(env(host), root);
  api = await startServer({
    config: hostConfig('api-host'),
    logger: silentLogger(),
    redisUrl: redis.url,
    port: 0,
  });
});

after(async () => {
  await api?.close();
  await redis?.stop();
  await s3?.close();
  await rm(root, { recursive: true, force: true });
});

function get(path: string): Promise<Response> {
  return fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
}

/** A finished run as a worker leaves it: its record, its report and a capture file. */
async function finishRunOn(config: Config, runId: string): Promise<string> {
  const dir = runDirFor(config.dataRoot, runId);
  await mkdir(join(dir, 'ui'), { recursive: true });
  const report = buildReport(
    input([leak({ kind: 'imei', host: BIGDATA, value: 'STORED-LEAK' })], [flow(BIGDATA)], {
      run: { ...input([], []).run, runId },
    }),
  );
  await writeFile(join(dir, 'report.json'), JSON.stringify(report));
  await writeFile(
    join(dir, 'run.json'),
    JSON.stringify({
      runId,
      imageLabel: 'stored-image',
      status: 'done',
      createdAt: '2026-12-01T00:00:00Z',
      attempt: 1,
    }),
  );
  await writeFile(join(dir, 'ui', '01-finish-setup.png'), Buffer.alloc(200_000, 9));
  return dir;
}

test('a run published by a worker host is listed, served and reported by hosts that never had it', async () => {
  const worker = hostConfig('worker-host');
  const runId = 'r20261206-0300-st0red';
  const dir = await finishRunOn(worker, runId);
  assert.equal(await publishFinishedRun(worker, runId, dir), true);
  await assert.rejects(stat(dir), 'the worker host keeps nothing once the run is stored');

  const list = (await (await get('/api/runs')).json()) as {
    runs: Array<{ runId: string; status: string }>;
  };
  assert.deepEqual(
    list.runs.filter((r) => r.runId === runId).map((r) => r.status),
    ['done'],
  );
  const report = (await (await get(`/api/runs/${runId}/report`)).json()) as { leaks: unknown[] };
  assert.equal(report.leaks.length, 1);
  const screenshot = await get(`/runs/${runId}/ui/01-finish-setup.png`);
  assert.equal(screenshot.status, 200);
  assert.equal((await screenshot.arrayBuffer()).byteLength, 200_000);

  // A third host, with only the CLI.
  const cli = await runCli(['report', runId, '--format', 'json'], env('cli-host'));
  assert.equal(cli.exitCode, 0, cli.stderr);
  assert.match(cli.stdout, /STORED-LEAK/);

  const unknown = await get('/api/runs/r20261206-0300-nosuch/report');
  assert.equal(unknown.status, 404);
  await unknown.body?.cancel();
});

test('an image submitted on one host is read by a worker on another, checked against its hash', async () => {
  const submitter = hostConfig('submit-host');
  const image = join(root, 'vendor.zip');
  await writeFile(image, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(1_000_000, 3)]));
  const data = await withSharedImage(submitter, {
    runId: 'r-image',
    imagePath: image,
    imageLabel: 'vendor.zip',
    options: {},
  });
  assert.match(data.imageKey ?? '', /^images\/[0-9a-f]{64}$/);
  const onWorker = await localImagePath(hostConfig('worker-host-2'), data);
  assert.ok(onWorker.startsWith(join(root, 'worker-host-2')), onWorker);
  assert.deepEqual(await readFile(onWorker), await readFile(image));

  const directory = await mkdtemp(join(root, 'unpacked-'));
  await writeFile(join(directory, 'system.img'), 'x');
  await assert.rejects(
    withSharedImage(submitter, {
      runId: 'r-dir',
      imagePath: directory,
      imageLabel: 'dir',
      options: {},
    }),
    /image-not-shareable|an image directory cannot be handed to workers/,
  );
});

test('a store that cannot be reached is a 503 from the API and exit 5 from the CLI, one line each', async () => {
  const down = {
    ...env('cli-host-2'),
    AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', // discard: nothing listens there
  };
  const cli = await runCli(['report', 'r20261206-0300-st0red'], down, 60_000);
  assert.equal(cli.exitCode, 5, cli.stderr);
  const lines = cli.stderr.trim().split('\n');
  assert.equal(lines.length, 1, cli.stderr);
  assert.match(
    lines[0] ?? '',
    /^canarytrap: store-unavailable: the shared store s3:\/\/canarytrap-runs\//,
  );

  const blind = await startServer({
    config: loadConfig(down, root),
    logger: silentLogger(),
    redisUrl: redis.url,
    port: 0,
  });
  try {
    const answer = await fetch(`${blind.url}/api/runs/r20261206-0300-other/report`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(answer.status, 503);
    assert.match(await answer.text(), /store-unavailable/);
  } finally {
    await blind.close();
  }
});
