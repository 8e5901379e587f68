import { appendFile } from 'node:fs/promises';
import type { Logger } from '../log.ts';

/**
 * Appends one JSON object per line, in call order, without blocking the caller. Writes are
 * chained so lines never interleave; `flush()` waits for every line handed over so far.
 */
export class JsonLinesWriter {
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
  ) {}

  append(value: unknown): void {
    const line = `${JSON.stringify(value)}\n`;
    this.pending = this.pending.then(() =>
      appendFile(this.path, line).catch((error: unknown) => {
        // A lost line must be visible in the log; the capture itself goes on.
        this.logger.error({ err: error, path: this.path }, 'could not append to capture file');
      }),
    );
  }

  flush(): Promise<void> {
    return this.pending;
  }
}
