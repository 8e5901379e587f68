import assert from 'node:assert/strict';
import { execa, type Result } from 'execa';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = fileURLToPath(new URL('../../bin/canarytrap.js', import.meta.url));

export interface CliResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** `canarytrap <args>` as a user runs it, in `env` (a private world's), never throwing. */
export async function runCli(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<CliResult> {
  const result: Result = await execa(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env,
    reject: false,
    timeout: timeoutMs,
    stdin: 'ignore',
  });
  return {
    exitCode: result.exitCode,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    timedOut: result.timedOut,
  };
}

/** Raw characters a terminal would act on: ESC, BEL, CSI (C1) and the bidi overrides. */
export const TERMINAL_ACTIVE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/**
 * A refusal as the README promises it: the exit code, one line on stderr naming the error code,
 * what is wrong and what to do (a hint in parentheses), nothing on stdout, nothing raw.
 */
export function assertRefused(result: CliResult, exit: number, code: string, what: string): string {
  const context = `${what}: exit ${result.exitCode}, stdout ${JSON.stringify(result.stdout)}, stderr ${JSON.stringify(result.stderr)}`;
  assert.equal(result.timedOut, false, `${context} (it did not exit)`);
  assert.equal(result.exitCode, exit, context);
  assert.equal(result.stdout, '', context);
  const lines = result.stderr.split('\n').filter((line) => line.length > 0);
  assert.equal(lines.length, 1, context);
  const line = lines[0] ?? '';
  assert.ok(line.startsWith(`canarytrap: ${code}: `), context);
  assert.match(line, /\(.+\)$/, `${context}: no hint saying what to do`);
  assert.doesNotMatch(line, TERMINAL_ACTIVE, context);
  return line;
}
