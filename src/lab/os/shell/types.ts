import type { LabOs } from '../lab-os.ts';
import type { CommandResult } from './result.ts';

export type { CommandResult };

export interface CommandInvocation {
  /** argv without the command name. */
  args: string[];
  stdin: Buffer;
  root: boolean;
  os: LabOs;
  /** Aborted when the caller went away (the adb stream closed): long-running commands end. */
  signal: AbortSignal;
  /**
   * Writes stdout to the caller at once; only set when the command's stdout goes straight to
   * the host (last of its pipeline, not redirected).
   */
  stream?: ((data: Buffer | string) => Promise<void>) | undefined;
  /** Runs a nested command line (`sh -c`). */
  runLine: (line: string, stdin: Buffer) => Promise<CommandResult & { exit?: boolean }>;
}

export type Command = (invocation: CommandInvocation) => Promise<CommandResult>;

export function ok(stdout = ''): CommandResult {
  return { stdout, exitCode: 0 };
}

export function fail(stderr: string, exitCode = 1): CommandResult {
  return { stderr: stderr.endsWith('\n') ? stderr : `${stderr}\n`, exitCode };
}
