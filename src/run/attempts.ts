import { mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../host/fs.ts';
import type { EarlierAttempt } from '../report/model.ts';
import { RUN_FILES, runDirFor, runsRoot, type RunRecord } from './run-dir.ts';

/** Where a retried run keeps the evidence of the attempts before it: `attempts/<n>/`. */
export const ATTEMPTS_DIR = 'attempts';
/** The label written into each kept attempt's directory. */
export const ATTEMPT_LABEL = 'attempt.json';

export interface RunAttempt {
  /** The run directory: this attempt's evidence only, as readers and exports expect it. */
  dir: string;
  /** The attempts before this one, oldest first; empty on a first attempt. */
  earlier: EarlierAttempt[];
}

/**
 * Opens the run directory for attempt `attempt`. A retried run finds the files of the attempt
 * before it there (a worker killed mid-run leaves its flows, events and capture): they are moved,
 * all of them, into `attempts/<n>/` with a label saying how that attempt ended, so the new attempt
 * starts from an empty directory and its flows, report and exports hold its own evidence only.
 */
export async function openRunAttempt(
  dataRoot: string,
  runId: string,
  attempt: number,
): Promise<RunAttempt> {
  const dir = runDirFor(dataRoot, runId);
  await mkdir(runsRoot(dataRoot), { recursive: true });
  await mkdir(dir, { recursive: true });
  // Only a retry has an earlier attempt; what a first attempt finds was put there for it.
  const left = attempt > 1 ? (await readdir(dir)).filter((name) => name !== ATTEMPTS_DIR) : [];
  if (left.length > 0) await keepEarlierAttempt(dir, left, attempt);
  return { dir, earlier: await readEarlierAttempts(dir) };
}

async function keepEarlierAttempt(dir: string, names: string[], current: number): Promise<void> {
  const record = await readRecord(join(dir, RUN_FILES.record));
  const taken = new Set((await readEarlierAttempts(dir)).map((a) => a.attempt));
  // The record's own number, unless it is missing, already kept or not earlier than this one.
  let number = record?.attempt;
  if (number === undefined || taken.has(number) || number >= current) {
    number = 1;
    while (taken.has(number)) number++;
  }
  const target = join(dir, ATTEMPTS_DIR, String(number));
  await mkdir(target, { recursive: true });
  for (const name of names) await rename(join(dir, name), join(target, name));
  const label: EarlierAttempt = {
    attempt: number,
    ...outcomeOf(record),
    dir: `${ATTEMPTS_DIR}/${number}`,
    flows: await countLines(join(target, RUN_FILES.flows)),
  };
  await writeJsonAtomic(join(target, ATTEMPT_LABEL), label);
}

function outcomeOf(record: RunRecord | undefined): Pick<EarlierAttempt, 'outcome' | 'reason'> {
  if (record?.status === 'failed')
    return { outcome: 'failed', reason: record.error?.message ?? 'it failed' };
  if (record?.status === 'cancelled') return { outcome: 'cancelled', reason: 'it was cancelled' };
  return {
    outcome: 'lost',
    reason: 'its worker stopped mid-run (killed or lost) and the run was handed to another',
  };
}

/** The labelled attempts under `attempts/`, oldest first. */
export async function readEarlierAttempts(dir: string): Promise<EarlierAttempt[]> {
  const names = await readdir(join(dir, ATTEMPTS_DIR)).catch(() => [] as string[]);
  const found: EarlierAttempt[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, ATTEMPTS_DIR, name, ATTEMPT_LABEL), 'utf8').catch(
      () => undefined,
    );
    if (text === undefined) continue;
    try {
      found.push(JSON.parse(text) as EarlierAttempt);
    } catch {
      // A label cut short by a crash: the files are kept, the attempt goes unlisted.
    }
  }
  return found.sort((a, b) => a.attempt - b.attempt);
}

async function readRecord(path: string): Promise<RunRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

async function countLines(path: string): Promise<number> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.trim() !== '').length;
}
