import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { sweepCages } from '../../src/capture/cage/index.ts';
import { resolveImageArgument } from '../../src/cli/image-argument.ts';
import { cageStateDir } from '../../src/config.ts';
import { processAlive } from '../../src/host/processes.ts';
import { silentLogger } from '../../src/log.ts';
import { findRun, openAnalysisQueue } from '../../src/queue/analysis-queue.ts';
import { readRunReport } from '../../src/run/run-report.ts';
import { embeddedRedisPaths, type EmbeddedRedisRecord } from '../../src/queue/embedded-redis.ts';
import { eventually, findLabPhoneProcesses, redisServersUnder } from '../support/leftovers.ts';
import { startPipelineEnv } from '../support/pipeline-env.ts';
import { lineOn } from '../support/process-output.ts';

test(
  'with the embedded Redis, two runs queued before a worker is killed with SIGKILL both finish once the next worker starts, and watch follows them',
  { timeout: 400_000 },
  async (t) => {
    const world = await startPipelineEnv();
    const privateTmp = await mkdtemp(join(tmpdir(), 'embedded-sigkill-'));
    const dataRoot = world.config.dataRoot;
    // The user's environment: no Redis configured, so the data root's embedded one is used.
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries({ ...process.env, ...world.env }))
      if (value !== undefined && key !== 'CANARYTRAP_REDIS_URL' && key !== 'REDIS_URL')
        env[key] = value;
    Object.assign(env, { TMPDIR: privateTmp, CANARYTRAP_STALLED_INTERVAL_MS: '5000' });
    const cli = (args: string[], timeout: number) =>
      execa(process.execPath, ['bin/canarytrap.js', ...args], {
        env,
        extendEnv: false,
        stdin: 'ignore',
        reject: false,
        timeout,
      });
    const workers: ResultPromise[] = [];
    t.after(async () => {
      for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
      await Promise.allSettled(workers);
      for (const phone of await findLabPhoneProcesses())
        if (phone.workDir?.startsWith(`${privateTmp}/`)) process.kill(phone.pid, 'SIGKILL');
      await sweepCages({ stateDir: cageStateDir(world.config), logger: silentLogger() }).catch(
        () => undefined,
      );
      for (const pid of await redisServersUnder(dataRoot)) process.kill(pid, 'SIGKILL');
      await world.close();
      await rm(privateTmp, { recursive: true, force: true });
    });

    // Built before the worker starts, as a first `submit` would.
    await resolveImageArgument('adups-2016', world.config);
    const first = cli(['worker'], 300_000);
    workers.push(first);
    const up = await lineOn(first.stdout, /worker up.*\n/, 30_000);
    assert.match(up, /embedded Redis, data in .*\/redis\)/);
    const readRecord = async () =>
      JSON.parse(
        await readFile(embeddedRedisPaths(dataRoot).record, 'utf8'),
      ) as EmbeddedRedisRecord;
    const record = await readRecord();

    const runIds: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const submitted = await cli(['submit', 'adups-2016', '--json'], 60_000);
      assert.equal(submitted.exitCode, 0, submitted.stderr);
      runIds.push((JSON.parse(submitted.stdout) as { runId: string }).runId);
    }
    const [killedRun, queuedRun] = runIds as [string, string];

    const queue = openAnalysisQueue(record.url, world.config.queuePrefix);
    try {
      // The first run is on a device when its worker dies; the second still waits.
      const onDevice = await eventually(async () => {
        const job = await findRun(queue, killedRun);
        const stage = (job?.progress as { stage?: string } | undefined)?.stage;
        return stage === 'plant' || stage === 'exercise';
      }, 90_000);
      assert.ok(onDevice, `run ${killedRun} never reached a device`);
    } finally {
      await queue.close();
    }
    first.kill('SIGKILL');
    await first;

    // The Redis outlived its worker, and is recorded: nothing is orphaned.
    assert.ok(processAlive(record.pid), 'the embedded Redis died with the worker');
    assert.deepEqual(await redisServersUnder(dataRoot), [record.pid]);
    assert.deepEqual(await readRecord(), record);

    const second = cli(['worker'], 300_000);
    workers.push(second);
    const secondUp = await lineOn(second.stdout, /worker up.*\n/, 30_000);
    assert.ok(secondUp.includes(record.url), `the next worker took another Redis: ${secondUp}`);
    assert.deepEqual(await redisServersUnder(dataRoot), [record.pid], 'no second server');

    const watched = await Promise.all(runIds.map((runId) => cli(['watch', runId], 300_000)));
    for (const [i, outcome] of watched.entries()) {
      assert.equal(outcome.exitCode, 0, `watch ${runIds[i]}: ${outcome.stdout}\n${outcome.stderr}`);
      assert.match(outcome.stdout, /Report: .*report\.html/);
    }
    const reports = await Promise.all(runIds.map(async (runId) => readRunReport(dataRoot, runId)));
    for (const report of reports) assert.equal(report.verdict.status, 'leaks-found');
    assert.notEqual(killedRun, queuedRun);

    // The last user out shuts the server down, and its record goes with it.
    second.kill('SIGTERM');
    const stopped = await second;
    assert.equal(stopped.exitCode, 0, stopped.stderr);
    assert.ok(
      await eventually(async () => (await redisServersUnder(dataRoot)).length === 0, 10_000),
      'the embedded Redis is still running after the last worker stopped',
    );
    await assert.rejects(readFile(embeddedRedisPaths(dataRoot).record), { code: 'ENOENT' });
  },
);
