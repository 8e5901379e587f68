import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { ResultPromise } from 'execa';

/** The emulator's stdout and stderr, written to a log file, with the last lines kept for errors. */
export interface ProcessLog {
  /** The last few lines, for an error message. */
  tail(): string;
  close(): Promise<void>;
}

export function writeProcessLog(child: ResultPromise, path: string, keepLines = 20): ProcessLog {
  const file = createWriteStream(path, { flags: 'a' });
  const recent: string[] = [];
  // A log that cannot be written must not crash the worker; the error shows in the tail.
  file.on('error', (error) => recent.push(`cannot write ${path}: ${error.message}`));
  const onData = (chunk: Buffer) => {
    file.write(chunk);
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      recent.push(line.trim());
      if (recent.length > keepLines) recent.shift();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let closed: Promise<void> | undefined;
  return {
    tail: () => recent.slice(-5).join(' | '),
    close: () =>
      (closed ??= (async () => {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        file.end();
        await once(file, 'close');
      })()),
  };
}
