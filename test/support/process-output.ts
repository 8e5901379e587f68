import type { Readable } from 'node:stream';

/** Resolves with what `stream` printed once a line matches `pattern`. */
export function lineOn(
  stream: Readable | null,
  pattern: RegExp,
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!stream) {
      reject(new Error('no stream to watch'));
      return;
    }
    let seen = '';
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms: ${seen}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (!pattern.test(seen)) return;
      clearTimeout(timer);
      stream.off('data', onData);
      resolve(seen);
    };
    stream.on('data', onData);
  });
}
