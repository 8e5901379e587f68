import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.ts';

/** A run's artifacts live in `<dataRoot>/runs/<runId>/`: canary set, flows, events, leaks, report. */
export function runsRoot(dataRoot: string): string {
  return join(dataRoot, 'runs');
}

export function runDirFor(dataRoot: string, runId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(runId)) {
    throw new InputError('run-id-invalid', `"${runId}" is not a run id`, {
      hint: 'run ids look like r20261121-0530-ab12cd',
    });
  }
  return join(runsRoot(dataRoot), runId);
}

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .slice(0, 16)
    .replaceAll('-', '')
    .replace('T', '-')
    .replace(':', '');
  return `r${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Names of the files in a run directory. */
export const RUN_FILES = {
  record: 'run.json',
  canaries: 'canaries.json',
  plan: 'plant-plan.json',
  flows: 'flows.jsonl',
  dns: 'dns.jsonl',
  events: 'events.jsonl',
  leaks: 'leaks.jsonl',
  reportJson: 'report.json',
  reportHtml: 'report.html',
  har: 'flows.har',
  inventory: 'inventory.json',
} as const;

export async function readJsonFile<T>(path: string, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new InputError('file-missing', `${what} not found at ${path}`, { cause });
  }
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new InputError('file-unreadable', `${what} at ${path} is not valid JSON`, { cause });
  }
}

export interface RunRecord {
  runId: string;
  imageLabel: string;
  imageSha256?: string;
  baselineRunId?: string;
  status: 'running' | 'done' | 'failed' | 'cancelled';
  createdAt: string;
  finishedAt?: string;
  error?: { code: string; message: string };
  attempt: number;
}
