import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import type { Report } from '../report/model.ts';
import { parseReport } from '../report/read.ts';
import { RUN_FILES, runDirFor } from './run-dir.ts';

/**
 * A finished run's report, read from its run directory and checked (parseReport): the one way
 * the API, the pages, `report`, `diff`, `watch` and the demo read a report back. A run without
 * one (still running, failed, or no such run) is `report-not-found`, which the API answers 404.
 */
export async function readRunReport(dataRoot: string, runId: string): Promise<Report> {
  const path = join(runDirFor(dataRoot, runId), RUN_FILES.reportJson);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new InputError('report-not-found', `run ${runId} has no report (yet)`, {
      cause,
      hint: 'a report is written when the run finishes; `canarytrap watch <run>` follows it',
    });
  }
  return parseReport(text, `the report of run ${runId}`);
}
