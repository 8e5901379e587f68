/** What a shell command gives back: its output and exit code. */
export interface CommandResult {
  stdout?: string | Buffer;
  stderr?: string;
  exitCode: number;
}
