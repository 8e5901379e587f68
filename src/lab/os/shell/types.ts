import type { LabOs } from '../lab-os.ts';

export interface CommandResult {
  stdout?: string | Buffer;
  stderr?: string;
  exitCode: number;
}

export interface CommandInvocation {
  /** argv without the command name. */
  args: string[];
  stdin: Buffer;
  root: boolean;
  os: LabOs;
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
