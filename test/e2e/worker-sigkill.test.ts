import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Job } from 'bullmq';
import { execa, type ResultPromise } from 'execa';
import { resolveImageArgument } from '../../src/cli/image-argument.ts';
import { processAlive } from '../../src/host/processes.ts';
import {
  enqueueAnalysis,
  openAnalysisQueue,
  type QueueHandle,
} from '../../src/queue/analysis-queue.ts';
import type { AnalysisJobData, AnalysisResult } from '../../src/queue/job-data.ts';
import { newRunId } from '../../src/run/run-dir.ts';
import {
  entriesStartingWith,
  eventually,
  exists,
  findLabPhoneProcesses,
  pairReleased,
  type LabPhoneProcess,
} from '../support/leftovers.ts';
import { startPipelineEnv } from '../support/pipeline-env.ts';

const LAB_DIR_PREFIXES = ['canarytrap-lab-phone-', 'lab-phone-'];

function spawnWorker(env: Record<string, string>): ResultPromise {
  return execa(process.execPath, ['bin/canarytrap.js', 'worker'], {
    env,
    stdin: 'ignore',
    reject: false,
    timeout: 120_000,
  });
}

type AnalysisJob = Job<AnalysisJobData, AnalysisResult>;

function stageOf(progress: unknown): string | undefined {
  // Stage and note updates name their stage; leak updates do not.
  const stage = (progress as { stage?: unknown } | undefined)?.stage;
  return typeof stage === 'string' ? stage : undefined;
}

/**
 * Polls the job until `done` holds. Polling rather than QueueEvents keeps nothing open once
 * the test ends, whichever way it ends.
 */
async function pollJob(
  queue: QueueHandle,
  runId: string,
  timeoutMs: number,
  done: (job: AnalysisJob) => boolean | Promise<boolean>,
): Promise<AnalysisJob> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await Job.fromId<AnalysisJobData, AnalysisResult>(queue.queue, runId);
    assert.ok(job, `job ${runId} is gone`);
    if (await done(job)) return job;
    assert.ok(Date.now() < deadline, `job ${runId} still at ${JSON.stringify(job.progress)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The lab phones a worker of this test started: their work dirs are under its private TMPDIR. */
async function ourPhones(privateTmp: string): Promise<LabPhoneProcess[]> {
  return (await findLabPhoneProcesses()).filter((p) => p.workDir?.startsWith(`${privateTmp}/`));
}

test(
  'a worker killed with SIGKILL mid-run leaves no orphan device; the retried job completes on another worker',
  { timeout: 120_000 },
  async (t) => {
    const world = await startPipelineEnv();
    // The workers' TMPDIR is private, so their lease lock files and device temp dirs are ours alone.
    const privateTmp = await mkdtemp(join(tmpdir(), 'worker-sigkill-'));
    const lockDir = join(privateTmp, 'canarytrap-port-leases');
    const env = {
      ...world.env,
      TMPDIR: privateTmp,
      CANARYTRAP_STALLED_INTERVAL_MS: '5000',
      CANARYTRAP_LOG_LEVEL: 'warn',
    };
    const workers: ResultPromise[] = [];
    const queue = openAnalysisQueue(world.redis.url, world.config.queuePrefix);
    t.after(async () => {
      for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
      await Promise.allSettled(workers);
      for (const phone of await ourPhones(privateTmp)) process.kill(phone.pid, 'SIGKILL');
      await queue.close();
      await world.close();
      await rm(privateTmp, { recursive: true, force: true });
    });

    // Built before the clock starts, as `submit` would.
    const resolved = await resolveImageArgument('adups-2016', world.config);
    const startedAt = Date.now();
    const since = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
    const first = spawnWorker(env);
    workers.push(first);
    const runId = newRunId();
    await enqueueAnalysis(queue, {
      runId,
      imagePath: resolved.path,
      imageLabel: 'adups-2016',
      // Fewer, longer clock jumps than the default: the 72-hour upload still fires, sooner.
      options: { stepHours: 24 },
    });

    await pollJob(queue, runId, 60_000, (job) => {
      if (first.exitCode !== null) assert.fail(`the first worker exited with ${first.exitCode}`);
      if (job.finishedOn) assert.fail(`the run ended before plant: ${job.failedReason ?? ''}`);
      const stage = stageOf(job.progress);
      return stage === 'plant' || stage === 'exercise';
    });
    const [orphan, ...others] = await ourPhones(privateTmp);
    assert.ok(orphan, 'the first worker runs no lab phone during plant');
    assert.deepEqual(others, [], 'one run, one lab phone');
    t.diagnostic(`${since()}: run at plant, lab phone ${orphan.pid}; SIGKILL to the worker`);
    first.kill('SIGKILL');
    const killedAt = Date.now();
    const killed = await first;
    assert.equal(killed.signal, 'SIGKILL');

    // The phone sees its stdin pipe close, stops and cleans up on its own.
    assert.ok(
      await eventually(async () => !processAlive(orphan.pid), 5_000),
      `lab phone ${orphan.pid} outlived its worker`,
    );
    assert.ok(
      await pairReleased(orphan.consolePort, orphan.pid),
      `ports ${orphan.consolePort}/${orphan.consolePort + 1} still bound`,
    );
    assert.equal(await exists(orphan.workDir ?? ''), false, `${orphan.workDir} remains`);

    t.diagnostic(`${since()}: the orphaned lab phone has exited and cleaned up`);
    const second = spawnWorker(env);
    workers.push(second);
    const phonesSeen = new Map<number, LabPhoneProcess>();
    const finished = await pollJob(queue, runId, 80_000, async (job) => {
      for (const phone of await ourPhones(privateTmp)) phonesSeen.set(phone.pid, phone);
      return job.finishedOn !== undefined;
    });
    t.diagnostic(
      `${since()}: done; the second worker took the job ${(((finished.processedOn ?? 0) - killedAt) / 1000).toFixed(1)} s after the kill`,
    );
    assert.equal(await finished.getState(), 'completed', finished.failedReason);
    // BullMQ's stalled-job check, not a failure and retry, gave the job to the second worker.
    assert.equal(finished.stalledCounter, 1);
    assert.equal(finished.returnvalue.verdict, 'leaks-found');
    assert.ok(finished.returnvalue.leakCount > 0);

    assert.deepEqual(await ourPhones(privateTmp), [], 'a lab phone is still running');
    assert.deepEqual(await readdir(lockDir), [], 'lease lock files remain');
    assert.deepEqual(await entriesStartingWith(privateTmp, LAB_DIR_PREFIXES), []);
    assert.equal(phonesSeen.size, 1, 'the second worker ran one lab phone');
    for (const phone of [orphan, ...phonesSeen.values()]) {
      assert.equal(processAlive(phone.pid), false, `lab phone ${phone.pid} still runs`);
      assert.ok(
        await pairReleased(phone.consolePort, phone.pid),
        `ports ${phone.consolePort}/${phone.consolePort + 1} still bound`,
      );
    }

    second.kill('SIGTERM');
    const stopped = await second;
    assert.equal(stopped.exitCode, 0, String(stopped.stderr));
  },
);
