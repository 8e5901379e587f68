import { InputError } from '../errors.ts';
import type { Report } from '../report/model.ts';
import { parseReport } from '../report/read.ts';
import { RUN_FILES } from './run-dir.ts';
import { openRunFile } from './run-files.ts';

/**
 * A finished run's report, read from its run directory and checked (parseReport): the one way
 * the API, the pages, `report`, `diff`, `watch` and the demo read a report back. A run without
 * one (still running, failed, or no such run) is `report-not-found`, which the API answers 404.
 */
export async function readRunReport(dataRoot: string, runId: string): Promise<Report> {
  const file = await openRunFile(dataRoot, runId, RUN_FILES.reportJson);
  if (!file) {
    throw new InputError('report-not-found', `run ${runId} has no report (yet)`, {
      hint: 'a report is written when the run finishes; `canarytrap watch <run>` follows it',
    });
  }
  await using opened = file;
  return parseReport(await opened.handle.readFile('utf8'), `the report of run ${runId}`);
}
