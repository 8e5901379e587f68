import type { Logger } from '../../../log.ts';
import type { ScheduledWork } from '../../behaviour/host.ts';

/**
 * Runs scheduled work one item at a time, in the order it became due, off the caller's path:
 * `cmd alarm set-time` returns at once while the alarms it made due run here. A failing item is
 * logged and does not stop the ones after it.
 */
export class WorkRunner {
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(private readonly logger: Logger) {}

  enqueue(label: string, work: ScheduledWork): void {
    if (this.#closed) return;
    this.#tail = this.#tail.then(async () => {
      if (this.#closed) return;
      try {
        await work.run();
      } catch (error) {
        this.logger.warn({ err: error, work: label }, 'scheduled work failed');
      }
    });
  }

  /** Resolves when everything enqueued so far has run. */
  async idle(): Promise<void> {
    let tail: Promise<void>;
    do {
      tail = this.#tail;
      await tail;
    } while (tail !== this.#tail);
  }

  /** Stops taking work; resolves when the item in progress is done. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail;
  }
}
