import { appendFile } from 'node:fs/promises';
import type { Logger } from '../log.ts';
import {
  instrumentationEventSchema,
  type InstrumentationEvent,
} from '../android/instrumentation-events.ts';

export interface EventQueueOptions {
  /** The run's events file (JSON Lines), appended to. */
  path: string;
  logger: Logger;
  /** Most events held before dropping. Default 10 000. */
  capacity?: number;
  /** How often queued events are written. Default 250 ms. */
  flushIntervalMs?: number;
}

export interface EventQueueStats {
  written: number;
  dropped: number;
  invalid: number;
}

/**
 * Between Frida's message callbacks and the events file. Bounded: when the disk falls behind,
 * new events are dropped and counted, never buffered without limit and never pushed back onto
 * the device (a blocked agent would stall the app under analysis).
 */
export class EventQueue {
  private pending: InstrumentationEvent[] = [];
  private readonly stats: EventQueueStats = { written: 0, dropped: 0, invalid: 0 };
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: EventQueueOptions) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 250);
    this.timer.unref();
  }

  /** Accepts an event as an agent sent it; false when it was invalid or dropped. */
  push(candidate: unknown): boolean {
    const parsed = instrumentationEventSchema.safeParse(candidate);
    if (!parsed.success) {
      this.stats.invalid++;
      return false;
    }
    if (this.pending.length >= (this.options.capacity ?? 10_000)) {
      this.stats.dropped++;
      return false;
    }
    this.pending.push(parsed.data);
    return true;
  }

  /** Writes what is queued; writes run one after another so lines never interleave. */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.writing;
    this.writing = this.writing.then(async () => {
      try {
        await appendFile(this.options.path, batch.map((e) => JSON.stringify(e) + '\n').join(''));
        this.stats.written += batch.length;
      } catch (error) {
        this.stats.dropped += batch.length;
        this.options.logger.warn({ err: error, lost: batch.length }, 'events could not be written');
      }
    });
    return this.writing;
  }

  counts(): EventQueueStats {
    return { ...this.stats };
  }

  async close(): Promise<EventQueueStats> {
    clearInterval(this.timer);
    await this.flush();
    return this.counts();
  }
}
