import type { RunOptions, ShellOutcome } from '../services.ts';
import type { ServiceContext } from './service-context.ts';

export interface CommandOutput {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

function toBuffer(data: Buffer | string): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/**
 * Runs one command line on the lab shell. A shell that throws is a bug in the OS model, not in
 * the command: the host sees it on stderr with exit code 255 (what adbd reports for a command
 * that could not run) instead of a dropped stream.
 */
export async function runCommand(
  context: ServiceContext,
  commandLine: string,
  stdin: Buffer | undefined,
  options?: RunOptions,
): Promise<CommandOutput> {
  let outcome: ShellOutcome;
  try {
    outcome = await context.shell.run(commandLine, context.shellContext, stdin, options);
  } catch (error) {
    context.logger.warn({ err: error, commandLine }, 'lab shell failed on a command');
    const message = error instanceof Error ? error.message : String(error);
    return { stdout: Buffer.alloc(0), stderr: Buffer.from(`${message}\n`), exitCode: 255 };
  }
  return {
    stdout: toBuffer(outcome.stdout),
    stderr: toBuffer(outcome.stderr),
    exitCode: outcome.exitCode,
  };
}

/**
 * Runs lines of a shell session one after another (`adb shell` without a command, stdin being
 * the script). Stops at `exit`.
 */
export class LineSession {
  private pending = '';
  private queue: Promise<void> = Promise.resolve();
  private exitedFlag = false;
  lastExitCode = 0;
  private readonly context: ServiceContext;
  private readonly emit: (output: CommandOutput) => Promise<void>;
  private readonly lineEnds: RegExp;

  constructor(
    context: ServiceContext,
    emit: (output: CommandOutput) => Promise<void>,
    options: { carriageReturnEndsLine: boolean },
  ) {
    this.context = context;
    this.emit = emit;
    this.lineEnds = options.carriageReturnEndsLine ? /\r\n?|\n/ : /\n/;
  }

  get exited(): boolean {
    return this.exitedFlag;
  }

  /** Queues every complete line in `data`; resolves when they have run. */
  feed(data: Buffer): Promise<void> {
    const parts = (this.pending + data.toString('utf8')).split(this.lineEnds);
    this.pending = parts.pop() ?? '';
    for (const line of parts) this.enqueue(line);
    return this.queue;
  }

  /** Stdin ended: runs what is left of the last line. */
  finish(): Promise<void> {
    if (this.pending.trim() !== '') this.enqueue(this.pending);
    this.pending = '';
    return this.queue;
  }

  private enqueue(line: string): void {
    this.queue = this.queue.then(async () => {
      if (this.exitedFlag) return;
      const trimmed = line.trim();
      if (trimmed === '') return;
      const exit = /^exit(?:\s+(\d+))?$/.exec(trimmed);
      if (exit) {
        this.exitedFlag = true;
        if (exit[1] !== undefined) this.lastExitCode = Number(exit[1]) & 0xff;
        return;
      }
      const output = await runCommand(this.context, trimmed, undefined);
      this.lastExitCode = output.exitCode;
      await this.emit(output);
    });
  }
}
