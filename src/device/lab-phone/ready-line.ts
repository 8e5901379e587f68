import type { ResultPromise } from 'execa';
import { CanarytrapError } from '../../errors.ts';

export interface ReadyLine {
  ready: true;
  serial: string;
  consolePort: number;
  adbPort: number;
  pid: number;
}

/** Waits for the lab phone's one JSON line on stdout saying it is listening. */
export async function readReadyLine(
  child: ResultPromise,
  timeoutMs: number,
  recentStderr: () => string,
): Promise<ReadyLine> {
  const stdout = child.stdout;
  if (!stdout) throw new Error('lab phone stdout is not a pipe');
  return new Promise<ReadyLine>((resolve, reject) => {
    let buffer = '';
    const finish = (error: Error | undefined, line?: ReadyLine) => {
      clearTimeout(timer);
      stdout.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else if (line) resolve(line);
    };
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const newline = buffer.indexOf('\n');
      if (newline < 0) return;
      try {
        const parsed = JSON.parse(buffer.slice(0, newline)) as Partial<ReadyLine>;
        if (parsed.ready === true && typeof parsed.serial === 'string')
          finish(undefined, parsed as ReadyLine);
        else
          finish(
            new CanarytrapError(
              'device-unexpected-output',
              `lab phone printed ${buffer.slice(0, newline)}`,
            ),
          );
      } catch (cause) {
        finish(
          new CanarytrapError(
            'device-unexpected-output',
            `lab phone printed "${buffer.slice(0, newline)}"`,
            { cause },
          ),
        );
      }
    };
    const onExit = (code: number | null) =>
      finish(
        new CanarytrapError(
          'device-exited',
          `the lab phone exited with code ${code} before it was ready: ${recentStderr()}`,
          {
            permanent: true,
          },
        ),
      );
    const timer = setTimeout(
      () =>
        finish(
          new CanarytrapError(
            'emulator-boot-timeout',
            `the lab phone was not listening within ${timeoutMs} ms: ${recentStderr()}`,
            {
              hint: 'raise the boot timeout (bootTimeoutMs) if the machine is slow',
            },
          ),
        ),
      timeoutMs,
    );
    stdout.on('data', onData);
    child.once('exit', onExit);
  });
}
