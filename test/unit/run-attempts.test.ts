import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ATTEMPT_LABEL, openRunAttempt } from '../../src/run/attempts.ts';
import { RUN_FILES, runDirFor, type RunRecord } from '../../src/run/run-dir.ts';

/** A retried run's directory: the earlier attempt's files moved aside, labelled, never mixed in. */

let dataRoot: string;

before(async () => {
  dataRoot = await mkdtemp(join(tmpdir(), 'run-attempts-'));
});

after(async () => {
  await rm(dataRoot, { recursive: true, force: true });
});

function record(runId: string, attempt: number, status: RunRecord['status']): RunRecord {
  return {
    runId,
    imageLabel: 'adups-2016',
    status,
    createdAt: new Date(0).toISOString(),
    attempt,
    ...(status === 'failed' ? { error: { code: 'boot-timeout', message: 'boot timed out' } } : {}),
  };
}

/** Leaves what an attempt killed mid-run leaves: its record, flows, events and a capture dir. */
async function leaveAttempt(
  dir: string,
  attempt: number,
  status: RunRecord['status'],
  flows: number,
) {
  await mkdir(join(dir, 'ca'), { recursive: true });
  await writeFile(join(dir, RUN_FILES.record), JSON.stringify(record('r1', attempt, status)));
  await writeFile(
    join(dir, RUN_FILES.flows),
    Array.from({ length: flows }, (_, i) => `{"id":"flow-${attempt}-${i}"}\n`).join(''),
  );
  await writeFile(join(dir, RUN_FILES.events), '{"type":"x"}\n');
  await writeFile(join(dir, 'ca', 'ca.pem'), 'pem');
}

test('a first attempt gets an empty directory and no earlier attempts', async () => {
  const opened = await openRunAttempt(dataRoot, 'r0', 1);
  assert.equal(opened.dir, runDirFor(dataRoot, 'r0'));
  assert.deepEqual(await readdir(opened.dir), []);
  assert.deepEqual(opened.earlier, []);
});

test('a lost attempt and a failed one are moved aside, labelled, and the directory starts empty', async () => {
  const dir = runDirFor(dataRoot, 'r1');
  await mkdir(dir, { recursive: true });
  await leaveAttempt(dir, 1, 'running', 6);

  const second = await openRunAttempt(dataRoot, 'r1', 2);
  assert.deepEqual(await readdir(dir), ['attempts'], 'nothing of attempt 1 is left at the top');
  assert.deepEqual(second.earlier, [
    {
      attempt: 1,
      outcome: 'lost',
      reason: 'its worker stopped mid-run (killed or lost) and the run was handed to another',
      dir: 'attempts/1',
      flows: 6,
    },
  ]);
  const kept = join(dir, 'attempts', '1');
  assert.deepEqual((await readdir(kept)).sort(), [
    ATTEMPT_LABEL,
    'ca',
    RUN_FILES.events,
    RUN_FILES.flows,
    RUN_FILES.record,
  ]);
  assert.equal(await readFile(join(kept, 'ca', 'ca.pem'), 'utf8'), 'pem');

  // The intake stage opens the directory again within the same attempt: nothing moves.
  assert.deepEqual((await openRunAttempt(dataRoot, 'r1', 2)).earlier, second.earlier);
  assert.deepEqual(await readdir(join(dir, 'attempts')), ['1']);

  await leaveAttempt(dir, 2, 'failed', 2);
  const third = await openRunAttempt(dataRoot, 'r1', 3);
  assert.deepEqual(
    third.earlier.map((a) => [a.attempt, a.outcome, a.reason, a.flows]),
    [
      [1, 'lost', second.earlier[0]!.reason, 6],
      [2, 'failed', 'boot timed out', 2],
    ],
  );
  assert.deepEqual(await readdir(dir), ['attempts']);
});

test('leftovers without a usable record are kept under the next free number', async () => {
  const dir = runDirFor(dataRoot, 'r2');
  await mkdir(join(dir, 'attempts', '1'), { recursive: true });
  await writeFile(
    join(dir, 'attempts', '1', ATTEMPT_LABEL),
    JSON.stringify({ attempt: 1, outcome: 'lost', reason: 'x', dir: 'attempts/1', flows: 0 }),
  );
  await writeFile(join(dir, RUN_FILES.flows), '{"id":"a"}\n');
  await writeFile(join(dir, RUN_FILES.record), 'not json');
  const opened = await openRunAttempt(dataRoot, 'r2', 3);
  assert.deepEqual(
    opened.earlier.map((a) => [a.attempt, a.outcome, a.flows]),
    [
      [1, 'lost', 0],
      [2, 'lost', 1],
    ],
  );
});
