import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Job } from 'bullmq';
import { execa, type ResultPromise } from 'execa';
import { DEFAULT_CAGE_LOCK_DIR, sweepCages } from '../../src/capture/cage/index.ts';
import { lockPath, relaySocketDir } from '../../src/capture/cage/lease.ts';
import { recordPath } from '../../src/capture/cage/records.ts';
import { resolveImageArgument } from '../../src/cli/image-argument.ts';
import { cageStateDir } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { processAlive } from '../../src/host/processes.ts';
import {
  enqueueAnalysis,
  findRun,
  openAnalysisQueue,
  type QueueHandle,
} from '../../src/queue/analysis-queue.ts';
import type { AnalysisJobData, AnalysisResult } from '../../src/queue/job-data.ts';
import { newRunId, RUN_FILES, runDirFor, type RunRecord } from '../../src/run/run-dir.ts';
import { readRunReport } from '../../src/run/run-report.ts';
import { readFlows } from '../../src/capture/flows-file.ts';
import type { Har } from 'har-format';
import { flowsToHar } from '../../src/capture/har.ts';
import {
  cagePartsAt,
  cagePartsRemaining,
  cageProcesses,
  entriesStartingWith,
  eventually,
  exists,
  findLabPhoneProcesses,
  ownerPidIn,
  pairReleased,
  stillRunning,
  type LabPhoneProcess,
} from '../support/leftovers.ts';
import { startPipelineEnv } from '../support/pipeline-env.ts';
import { lineOn } from '../support/process-output.ts';

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
    const job = await findRun(queue, runId);
    assert.ok(job, `job ${runId} is gone`);
    if (await done(job)) return job;
    assert.ok(Date.now() < deadline, `job ${runId} still at ${JSON.stringify(job.progress)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The cage indices whose record under the data root names `pid` as owner. */
async function cagesOwnedBy(stateDir: string, pid: number): Promise<number[]> {
  const owned: number[] = [];
  for (const name of await readdir(stateDir).catch(() => [])) {
    const index = /^(\d+)\.json$/.exec(name)?.[1];
    if (index !== undefined && (await ownerPidIn(join(stateDir, name))) === pid) {
      owned.push(Number(index));
    }
  }
  return owned;
}

/** The files in `dir` with their inodes, which tell them apart from later files of the same name. */
async function filesIn(dir: string): Promise<Map<string, number>> {
  const files = new Map<string, number>();
  for (const name of await readdir(dir).catch(() => [])) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info) files.set(name, info.ino);
  }
  return files;
}

/** The lab phones a worker of this test started: their work dirs are under its private TMPDIR. */
async function ourPhones(privateTmp: string): Promise<LabPhoneProcess[]> {
  return (await findLabPhoneProcesses()).filter((p) => p.workDir?.startsWith(`${privateTmp}/`));
}

test(
  'a worker killed with SIGKILL mid-run leaves no orphan device and no cage once the next worker has started; the retried job completes on another worker',
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
    const stateDir = cageStateDir(world.config);
    t.after(async () => {
      for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
      await Promise.allSettled(workers);
      for (const phone of await ourPhones(privateTmp)) process.kill(phone.pid, 'SIGKILL');
      // Whatever cage a failed run of this test left, as a worker start would.
      await sweepCages({ stateDir, logger: silentLogger() }).catch(() => undefined);
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

    // Killed once the first attempt has captured flows, so the retry has evidence to keep apart.
    const runDir = runDirFor(world.config.dataRoot, runId);
    await pollJob(queue, runId, 60_000, async (job) => {
      if (first.exitCode !== null) assert.fail(`the first worker exited with ${first.exitCode}`);
      if (job.finishedOn) assert.fail(`the run ended before exercise: ${job.failedReason ?? ''}`);
      return stageOf(job.progress) === 'exercise' && (await flowLines(runDir)).length > 0;
    });
    const [orphan, ...others] = await ourPhones(privateTmp);
    assert.ok(orphan, 'the first worker runs no lab phone during plant');
    assert.deepEqual(others, [], 'one run, one lab phone');

    // The killed worker's cage, told apart from the cages of tests running alongside by the
    // owner in its record, and from a later cage at the same index by its parts' identities.
    const owned = await cagesOwnedBy(stateDir, first.pid ?? -1);
    assert.equal(owned.length, 1, `the first worker owns cages ${owned.join(', ')}`);
    const index = owned[0] ?? -1;
    assert.equal(await ownerPidIn(lockPath(DEFAULT_CAGE_LOCK_DIR, index)), first.pid);
    const cage = await cagePartsAt(index);
    assert.ok(cage.netns && cage.link && cage.table, `cage ${index} incomplete before the kill`);
    const cageProcs = await cageProcesses(index);
    const kinds = (predicate: (args: string[]) => boolean) =>
      cageProcs.filter((p) => predicate(p.args)).length;
    assert.ok(
      cageProcs.some((p) => p.pid === orphan.pid),
      `the lab phone ${orphan.pid} is not in cage ${index}`,
    );
    // Two listening relays (console, adb), and a child of either for each open connection.
    assert.ok(kinds((args) => args[0]?.endsWith('socat') ?? false) >= 2, 'console and adb relays');
    assert.equal(
      kinds((args) => args[0]?.endsWith('dumpcap') ?? false),
      1,
      'the edge recorder',
    );
    const relayDir = relaySocketDir(DEFAULT_CAGE_LOCK_DIR, index);
    const relaySockets = await filesIn(relayDir);
    assert.deepEqual(
      [...relaySockets.keys()].sort(),
      [`${orphan.consolePort}.sock`, `${orphan.consolePort + 1}.sock`],
      'the relay sockets',
    );
    t.diagnostic(
      `${since()}: run at plant, lab phone ${orphan.pid} in cage ${index}; SIGKILL to the worker`,
    );
    first.kill('SIGKILL');
    const killedAt = Date.now();
    const killed = await first;
    assert.equal(killed.signal, 'SIGKILL');
    const killedFlows = await flowLines(runDir);
    // A user following the run from here on sees the retry.
    const watcher = execa(process.execPath, ['bin/canarytrap.js', 'watch', runId], {
      env,
      stdin: 'ignore',
      reject: false,
      timeout: 120_000,
    });
    workers.push(watcher);

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
    // The sweep runs before the worker says it is up.
    await lineOn(second.stdout, /^worker up/m, 30_000);
    assert.deepEqual(await cagePartsRemaining(cage), [], `cage ${index} outlived its worker`);
    assert.deepEqual(
      (await stillRunning(cageProcs)).map((p) => `${p.pid} ${p.args.join(' ')}`),
      [],
      `processes of cage ${index} outlived its worker`,
    );
    const socketsNow = await filesIn(relayDir);
    assert.deepEqual(
      [...relaySockets].filter(([name, inode]) => socketsNow.get(name) === inode),
      [],
      `relay sockets of cage ${index} remain`,
    );
    assert.notEqual(
      await ownerPidIn(recordPath(stateDir, index)),
      first.pid,
      `the record of cage ${index} remains`,
    );
    assert.notEqual(
      await ownerPidIn(lockPath(DEFAULT_CAGE_LOCK_DIR, index)),
      first.pid,
      `the lease of cage ${index} remains`,
    );
    t.diagnostic(`${since()}: the next worker is up; cage ${index} is gone`);
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
    assert.deepEqual(
      await cagesOwnedBy(stateDir, second.pid ?? -1),
      [],
      'the second worker left a cage record',
    );
    assert.equal(phonesSeen.size, 1, 'the second worker ran one lab phone');
    for (const phone of [orphan, ...phonesSeen.values()]) {
      assert.equal(processAlive(phone.pid), false, `lab phone ${phone.pid} still runs`);
      assert.ok(
        await pairReleased(phone.consolePort, phone.pid),
        `ports ${phone.consolePort}/${phone.consolePort + 1} still bound`,
      );
    }

    // The retried run is a clean run: its flows, HAR and report agree, the killed attempt apart.
    const record = JSON.parse(await readFile(join(runDir, RUN_FILES.record), 'utf8')) as RunRecord;
    assert.equal(record.status, 'done');
    assert.equal(record.attempt, 2, 'run.json names the attempt that finished');
    const flows = await readFlows(join(runDir, RUN_FILES.flows));
    const report = await readRunReport(world.config.dataRoot, runId);
    assert.equal(report.summary.totals.flows, flows.length, 'the report counts the flows file');
    const killedIds = new Set(killedFlows.map((line) => (JSON.parse(line) as { id: string }).id));
    assert.deepEqual(
      flows.filter((f) => killedIds.has(f.id)).map((f) => f.id),
      [],
      'no flow of the killed attempt',
    );
    const har = JSON.parse(await readFile(join(runDir, RUN_FILES.har), 'utf8')) as Har;
    assert.equal(har.log.entries.length, flowsToHar(flows).log.entries.length, 'flows.har');
    assert.ok(har.log.entries.length > 0);
    assert.equal(report.run.attempt, 2);
    assert.deepEqual(report.run.earlierAttempts, [
      {
        attempt: 1,
        outcome: 'lost',
        reason: 'its worker stopped mid-run (killed or lost) and the run was handed to another',
        dir: 'attempts/1',
        flows: killedFlows.length,
      },
    ]);
    const kept = join(runDir, 'attempts', '1');
    assert.deepEqual(await flowLines(kept), killedFlows, 'the killed attempt is kept whole');
    const html = await readFile(join(runDir, RUN_FILES.reportHtml), 'utf8');
    assert.match(html, /Earlier attempts \(not in this report\)/);
    assert.match(html, /attempt 1: lost — .*kept in <code>attempts\/1\/<\/code>/);

    const watched = await watcher;
    assert.equal(watched.exitCode, 0, String(watched.stderr));
    assert.match(
      String(watched.stdout),
      /retrying \(attempt 2 of 3\) after the worker was lost/,
      'watch says why the run started again',
    );
    assert.match(String(watched.stdout), /^Attempt 1 \(not in this report\): lost — /m);

    second.kill('SIGTERM');
    const stopped = await second;
    assert.equal(stopped.exitCode, 0, String(stopped.stderr));
  },
);

/** The lines of `dir`'s flows.jsonl as written, none when there is no file yet. */
async function flowLines(dir: string): Promise<string[]> {
  const text = await readFile(join(dir, RUN_FILES.flows), 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.trim() !== '');
}
