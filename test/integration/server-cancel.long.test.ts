import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { cageStateDir } from '../../src/config.ts';
import { findRun, openAnalysisQueue, type QueueHandle } from '../../src/queue/analysis-queue.ts';
import { CANCEL_REASON } from '../../src/queue/cancel.ts';
import { followRun, type FollowOutcome } from '../../src/queue/follow.ts';
import type { AnalysisProgress } from '../../src/queue/job-data.ts';
import type { StageName } from '../../src/queue/names.ts';
import { RUN_FILES, runDirFor, type RunRecord } from '../../src/run/run-dir.ts';
import { eventually, findLabPhoneProcesses } from '../support/leftovers.ts';
import { startServerEnv, type ServerEnv } from '../support/server-env.ts';

const TOKEN = 'cancel-test-token-0123456789';
/** "Within a few seconds" of the request, the job has failed as cancelled. */
const PROMPT_MS = 8_000;

let env: ServerEnv;
let queue: QueueHandle;

before(async () => {
  env = await startServerEnv({ apiToken: TOKEN });
  queue = openAnalysisQueue(env.world.redis.url, env.config.queuePrefix);
});

after(async () => {
  await queue?.close();
  await env?.close();
});

function api(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${TOKEN}`);
  return fetch(`${env.server.url}${path}`, { ...init, headers, redirect: 'manual' });
}

async function submitLab(lab: string, options: Record<string, number>): Promise<string> {
  const response = await api('/api/runs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ lab, options }),
  });
  assert.equal(response.status, 201);
  return ((await response.json()) as { runId: string }).runId;
}

/** Lab phones of this test's world: the image they boot lies under its data root. */
async function ourLabPhones(): Promise<number[]> {
  const pids: number[] = [];
  for (const phone of await findLabPhoneProcesses()) {
    const cmdline = await readFile(`/proc/${phone.pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(env.config.dataRoot)) pids.push(phone.pid);
  }
  return pids;
}

/** Cages of this test's world: each has a record under its data root until it is removed. */
async function ourCages(): Promise<string[]> {
  const names = await readdir(cageStateDir(env.config)).catch(() => []);
  return names.filter((name) => name.endsWith('.json'));
}

interface Cancelled {
  outcome: FollowOutcome;
  /** From the cancel request to the job's end. */
  elapsedMs: number;
  cancelStatus: number;
  stagesSeen: AnalysisProgress[];
}

/** The API answers 202 "cancelling"; the watch page's form (no script) posts and comes back. */
async function requestCancel(runId: string, via: 'api' | 'page'): Promise<number> {
  if (via === 'page') {
    const response = await api(`/runs/${runId}/cancel`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    assert.equal(response.headers.get('location'), `/runs/${runId}`);
    return response.status;
  }
  const response = await api(`/api/runs/${runId}/cancel`, { method: 'POST' });
  assert.deepEqual(await response.json(), { runId, status: 'cancelling' });
  return response.status;
}

/** Follows a run and cancels it as soon as `stage` starts. */
async function cancelWhen(
  runId: string,
  stage: StageName,
  via: 'api' | 'page' = 'api',
): Promise<Cancelled> {
  const stagesSeen: AnalysisProgress[] = [];
  let requested: Promise<{ at: number; status: number }> | undefined;
  const outcome = await followRun({
    redisUrl: env.world.redis.url,
    prefix: env.config.queuePrefix,
    runId,
    timeoutMs: 90_000,
    onProgress: (progress) => {
      if (progress.type === 'stage') stagesSeen.push(progress);
      if (
        !requested &&
        progress.type === 'stage' &&
        progress.stage === stage &&
        progress.status === 'started'
      ) {
        const at = Date.now();
        requested = requestCancel(runId, via).then((status) => ({ at, status }));
      }
    },
  });
  const ended = Date.now();
  assert.ok(requested, `the run never reached ${stage}`);
  const { at, status } = await requested;
  return { outcome, elapsedMs: ended - at, cancelStatus: status, stagesSeen };
}

async function assertCancelled(
  runId: string,
  result: Cancelled,
  via: 'api' | 'page' = 'api',
): Promise<void> {
  assert.equal(result.cancelStatus, via === 'api' ? 202 : 303, 'a running run is being cancelled');
  assert.deepEqual(result.outcome, { status: 'failed', reason: CANCEL_REASON });
  assert.ok(
    result.elapsedMs < PROMPT_MS,
    `ended ${result.elapsedMs} ms after the request, expected < ${PROMPT_MS}`,
  );
  const job = await findRun(queue, runId);
  assert.equal(await job?.getState(), 'failed');
  assert.equal(job?.attemptsMade, 1, 'a cancelled run is not retried');
  assert.ok(
    await eventually(async () => (await ourLabPhones()).length === 0, 5_000),
    `lab phone processes left: ${(await ourLabPhones()).join(', ')}`,
  );
  assert.ok(
    await eventually(async () => (await ourCages()).length === 0, 5_000),
    `cages left: ${(await ourCages()).join(', ')}`,
  );
  const record = JSON.parse(
    await readFile(join(runDirFor(env.config.dataRoot, runId), RUN_FILES.record), 'utf8'),
  ) as RunRecord;
  assert.equal(record.status, 'cancelled');

  // The event stream of the ended run replays it and ends as cancelled.
  const stream = await api(`/api/runs/${runId}/events`);
  const text = await stream.text();
  assert.ok(text.includes('event: end\ndata: {"status":"cancelled"'), text.slice(-400));
  // The watch page no longer offers to cancel it.
  const page = await (await api(`/runs/${runId}`)).text();
  assert.ok(!page.includes('id="cancel-button"'));
  const listed = (await (await api('/api/runs?q=cancelled')).json()) as {
    runs: Array<{ runId: string; status: string }>;
  };
  assert.ok(listed.runs.some((r) => r.runId === runId && r.status === 'cancelled'));
}

test(
  'a run cancelled while it exercises the device stops within seconds and leaves no device',
  { timeout: 120_000 },
  async (t) => {
    // Hundreds of device-clock hours: without the cancel this would run for minutes.
    const runId = await submitLab('adups-2016', { advanceHours: 600, stepHours: 6 });
    const watch = await (await api(`/runs/${runId}`)).text();
    // The form carries the session's CSRF token (server/auth.ts).
    assert.ok(
      watch.includes(`action="/runs/${runId}/cancel?csrf=`),
      'the watch page has the button',
    );
    const result = await cancelWhen(runId, 'exercise');
    t.diagnostic(`ended ${result.elapsedMs} ms after the cancel request`);
    await assertCancelled(runId, result);
    const exercise = result.stagesSeen.filter((p) => p.type === 'stage' && p.stage === 'exercise');
    assert.ok(
      exercise.some((p) => p.type === 'stage' && p.status === 'failed'),
      'the stage that was cut short says so',
    );
    assert.ok(
      !result.stagesSeen.some((p) => p.type === 'stage' && p.stage === 'collect'),
      'no stage starts after the cancel',
    );
  },
);

test(
  'a run cancelled from its watch page while its device boots stops and leaves no device',
  { timeout: 120_000 },
  async () => {
    const runId = await submitLab('clean', { advanceHours: 6, stepHours: 6 });
    await assertCancelled(runId, await cancelWhen(runId, 'boot', 'page'), 'page');
  },
);

test(
  'canarytrap cancel --wait stops a running run; an unknown or finished run exits 3',
  { timeout: 120_000 },
  async () => {
    const runId = await submitLab('adups-2016', { advanceHours: 600, stepHours: 6 });
    const cli = (...args: string[]) =>
      execa(process.execPath, ['bin/canarytrap.js', 'cancel', ...args], {
        env: env.world.env,
        reject: false,
        timeout: 60_000,
      });
    let command: ReturnType<typeof cli> | undefined;
    const outcome = await followRun({
      redisUrl: env.world.redis.url,
      prefix: env.config.queuePrefix,
      runId,
      timeoutMs: 90_000,
      onProgress: (progress) => {
        if (!command && progress.type === 'stage' && progress.stage === 'exercise')
          command = cli(runId, '--wait', '--timeout', '30');
      },
    });
    assert.deepEqual(outcome, { status: 'failed', reason: CANCEL_REASON });
    assert.ok(command, 'the run never reached exercise');
    const result = await command;
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stdout, /is running: its worker was asked to stop it/);
    assert.match(result.stdout, /stopped: cancelled by user/);
    assert.ok(await eventually(async () => (await ourLabPhones()).length === 0, 5_000));
    assert.ok(await eventually(async () => (await ourCages()).length === 0, 5_000));

    const again = await cli(runId);
    assert.equal(again.exitCode, 3, again.stderr);
    assert.match(again.stderr, /run-finished: run \S+ has already failed/);
    const unknown = await cli('r-no-such-run');
    assert.equal(unknown.exitCode, 3, unknown.stderr);
    assert.match(unknown.stderr, /run-not-found/);
  },
);

test('the worker keeps taking jobs after a cancel', { timeout: 120_000 }, async () => {
  const runId = await submitLab('clean', { advanceHours: 6, stepHours: 6 });
  const outcome = await followRun({
    redisUrl: env.world.redis.url,
    prefix: env.config.queuePrefix,
    runId,
    onProgress: () => undefined,
    timeoutMs: 90_000,
  });
  assert.equal(outcome.status, 'completed', outcome.status === 'failed' ? outcome.reason : '');
  const cancelDone = await api(`/api/runs/${runId}/cancel`, { method: 'POST' });
  assert.equal(cancelDone.status, 409, 'a finished run cannot be cancelled');
  assert.equal(
    ((await cancelDone.json()) as { error: { code: string } }).error.code,
    'run-finished',
  );
});
