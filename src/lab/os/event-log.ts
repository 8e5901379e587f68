import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { InstrumentationEvent } from '../../android/instrumentation-events.ts';

/** Where the collect stage pulls the lab phone's instrumentation events from. */
export const EVENTS_FILE = '/data/local/tmp/canarytrap/events.jsonl';

/**
 * The lab phone's instrumentation events: kept in memory and appended, one JSON line each, to
 * the events file on the device. Written synchronously so the file order is the emit order.
 */
export class EventLog {
  readonly #events: InstrumentationEvent[] = [];

  constructor(private readonly hostPath: string) {}

  emit(event: InstrumentationEvent): void {
    this.#events.push(event);
    mkdirSync(dirname(this.hostPath), { recursive: true });
    appendFileSync(this.hostPath, `${JSON.stringify(event)}\n`);
  }

  events(): readonly InstrumentationEvent[] {
    return this.#events;
  }
}
