/** Reading a report back from JSON (report.json of an earlier run, for `report` and `diff`). */
import { InputError } from '../errors.ts';
import { REPORT_VERSION, type Report } from './model.ts';

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses a report and checks its shape as far as the renderers and the diff depend on it. The
 * full check is docs/report.schema.json; this one is cheap and names what is wrong.
 */
export function parseReport(text: string, source: string): Report {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InputError('report-unreadable', `${source} is not JSON`, {
      cause,
      hint: 'pass the report.json of a finished run',
    });
  }
  const problem = shapeProblem(value);
  if (problem) {
    throw new InputError('report-unreadable', `${source} is not a canarytrap report: ${problem}`, {
      hint: 'pass the report.json of a finished run',
    });
  }
  // Reports made before opaque flows were listed have none to show.
  if (isObject(value) && value.opaque === undefined) value.opaque = [];
  return value as Report;
}

function shapeProblem(value: unknown): string | undefined {
  if (!isObject(value)) return 'not an object';
  if (value.version !== REPORT_VERSION)
    return `version is ${JSON.stringify(value.version)}, expected ${REPORT_VERSION}`;
  const { run, verdict, summary } = value;
  if (!isObject(run) || typeof run.runId !== 'string' || !isObject(run.image))
    return 'run is missing';
  if (!isObject(verdict) || typeof verdict.status !== 'string') return 'verdict is missing';
  if (!isObject(summary) || !isObject(summary.totals)) return 'summary is missing';
  for (const key of ['byKind', 'byHost', 'byApp', 'channels'] as const) {
    if (!Array.isArray(summary[key])) return `summary.${key} is not a list`;
  }
  for (const key of ['leaks', 'destinations', 'canaries', 'stages', 'limitations'] as const) {
    if (!Array.isArray(value[key])) return `${key} is not a list`;
  }
  if (value.opaque !== undefined && !Array.isArray(value.opaque)) return 'opaque is not a list';
  return undefined;
}
