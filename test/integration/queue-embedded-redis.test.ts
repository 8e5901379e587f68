import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { processAlive } from '../../src/host/processes.ts';
import { enqueueAnalysis, openAnalysisQueue, runJobs } from '../../src/queue/analysis-queue.ts';
import {
  embeddedRedisPaths,
  ensureEmbeddedRedis,
  runningEmbeddedRedis,
  type EmbeddedRedisRecord,
} from '../../src/queue/embedded-redis.ts';
import { eventually, redisServersUnder } from '../support/leftovers.ts';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'canarytrap-embedded-redis-'));
});

after(async () => {
  // Whatever a failed test left running under this root.
  for (const pid of await redisServersUnder(root)) process.kill(pid, 'SIGKILL');
  await rm(root, { recursive: true, force: true });
});

async function recordOf(dataRoot: string): Promise<EmbeddedRedisRecord> {
  return JSON.parse(
    await readFile(embeddedRedisPaths(dataRoot).record, 'utf8'),
  ) as EmbeddedRedisRecord;
}

/** The session id of a process (field 6 of /proc/<pid>/stat, after the command in parentheses). */
async function sessionOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

test('one Redis per data root: started once, reused by the next, recorded, AOF on, in a session of its own', async () => {
  const dataRoot = join(root, 'one');
  const first = await ensureEmbeddedRedis(dataRoot);
  const second = await ensureEmbeddedRedis(dataRoot);
  assert.equal(first.started, true);
  assert.equal(second.started, false, 'the second user reuses the running server');
  assert.equal(second.url, first.url);
  const record = await recordOf(dataRoot);
  assert.equal(record.pid, first.record.pid);
  assert.equal(record.dir, join(dataRoot, 'redis'));
  assert.deepEqual(await redisServersUnder(dataRoot), [record.pid]);
  assert.notEqual(await sessionOf(record.pid), await sessionOf(process.pid));

  const client = new Redis(first.url);
  try {
    assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
    assert.deepEqual(await client.config('GET', 'dir'), ['dir', join(dataRoot, 'redis')]);
  } finally {
    client.disconnect();
  }

  assert.equal(await first.release(), 'kept', 'the second user is still connected');
  assert.ok(processAlive(record.pid));
  assert.equal(await second.release(), 'stopped', 'the last user out shuts it down');
  assert.equal(processAlive(record.pid), false);
  assert.equal(await runningEmbeddedRedis(dataRoot), undefined);
  await assert.rejects(readFile(embeddedRedisPaths(dataRoot).record), { code: 'ENOENT' });
});

test('users starting at once share one server', async () => {
  const dataRoot = join(root, 'race');
  const users = await Promise.all([1, 2, 3].map(() => ensureEmbeddedRedis(dataRoot)));
  assert.equal(users.filter((u) => u.started).length, 1);
  assert.equal(new Set(users.map((u) => u.record.pid)).size, 1);
  assert.equal((await redisServersUnder(dataRoot)).length, 1);
  const outcomes = [];
  for (const user of users) outcomes.push(await user.release());
  assert.deepEqual(outcomes, ['kept', 'kept', 'stopped']);
});

test('a killed Redis is restarted on the same directory and port, and its queued jobs come back', async () => {
  const dataRoot = join(root, 'killed');
  const before = await ensureEmbeddedRedis(dataRoot);
  const queue = openAnalysisQueue(before.url, 'embedded-test');
  for (const runId of ['r-one', 'r-two']) {
    await enqueueAnalysis(queue, {
      runId,
      imagePath: '/nonexistent',
      imageLabel: runId,
      options: {},
    });
  }
  await queue.close();
  // Killed as a crash or an OOM kill would: no chance to write anything more.
  process.kill(before.record.pid, 'SIGKILL');
  assert.ok(
    await eventually(async () => !processAlive(before.record.pid), 5_000),
    'the killed redis-server is still there',
  );
  assert.equal(await runningEmbeddedRedis(dataRoot), undefined);

  const after = await ensureEmbeddedRedis(dataRoot);
  assert.equal(after.started, true);
  assert.notEqual(after.record.pid, before.record.pid);
  assert.equal(after.record.dir, before.record.dir);
  assert.equal(after.url, before.url, 'its old port was free, so clients find it again');
  const reopened = openAnalysisQueue(after.url, 'embedded-test');
  try {
    const waiting = await runJobs(reopened, ['waiting', 'prioritized']);
    assert.deepEqual(waiting.map((job) => job.id).sort(), ['r-one', 'r-two']);
  } finally {
    await reopened.close();
  }
  // The first user's connection came back with the server: it still counts until it leaves.
  assert.equal(await before.release(), 'kept');
  assert.equal(await after.release(), 'stopped');
});

test('a redis-server that cannot start says why and where its log is', async () => {
  const dataRoot = join(root, 'missing');
  await assert.rejects(ensureEmbeddedRedis(dataRoot, { binary: '/nonexistent/redis-server' }), {
    code: 'redis-missing',
  });
  await assert.rejects(
    ensureEmbeddedRedis(dataRoot, { binary: '/bin/false', readyTimeoutMs: 5_000 }),
    (error: Error & { code?: string; hint?: string }) => {
      assert.equal(error.code, 'redis-start-failed');
      assert.match(error.hint ?? '', /redis\.log/);
      return true;
    },
  );
  await assert.rejects(readFile(embeddedRedisPaths(dataRoot).record), { code: 'ENOENT' });
});
