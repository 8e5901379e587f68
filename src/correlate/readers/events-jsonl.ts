import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InputError } from '../../errors.ts';
import {
  instrumentationEventSchema,
  type InstrumentationEvent,
} from '../../android/instrumentation-events.ts';

export interface EventsReadResult {
  events: InstrumentationEvent[];
  warnings: string[];
}

/**
 * Instrumentation events, one JSON object per line. Bad lines are skipped with a warning naming
 * file and line; a file with lines but no good one is an error.
 */
export async function readEventsJsonl(path: string): Promise<EventsReadResult> {
  const events: InstrumentationEvent[] = [];
  const warnings: string[] = [];
  let lineNumber = 0;
  let bad = 0;
  let firstProblem = '';
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        bad++;
        const problem = `${path}:${lineNumber}: not JSON; line skipped`;
        firstProblem ||= problem;
        if (bad <= 20) warnings.push(problem);
        continue;
      }
      const parsed = instrumentationEventSchema.safeParse(value);
      if (!parsed.success) {
        bad++;
        const issue = parsed.error.issues[0];
        const problem = `${path}:${lineNumber}: not an instrumentation event (${issue ? `${issue.path.join('.') || 'type'}: ${issue.message}` : 'invalid'}); line skipped`;
        firstProblem ||= problem;
        if (bad <= 20) warnings.push(problem);
        continue;
      }
      events.push(parsed.data);
    }
  } catch (error) {
    throw new InputError('events-unreadable', `${path}: cannot read the events file`, {
      cause: error,
      hint: 'check the path and permissions',
    });
  }
  if (bad > 20) warnings.push(`${path}: ${bad - 20} more bad lines skipped`);
  if (events.length === 0 && bad > 0) {
    throw new InputError(
      'events-unreadable',
      `${firstProblem.replace('; line skipped', '')}: no line of the file is a valid event`,
      {
        hint: 'pass the JSON Lines events file of a run (one event object per line)',
      },
    );
  }
  return { events, warnings };
}
