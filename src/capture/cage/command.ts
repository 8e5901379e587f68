import { execa } from 'execa';
import { CanarytrapError } from '../../errors.ts';

/** Where each outside tool comes from on Debian, for the hint when it is missing. */
const PACKAGE_OF: Record<string, string> = {
  ip: 'iproute2',
  nft: 'nftables',
  socat: 'socat',
  dumpcap: 'tshark',
  conntrack: 'conntrack',
};

export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

export interface CommandOptions {
  timeoutMs: number;
  /** Written to the command's stdin (an nft ruleset). */
  input?: string;
  /** The error when the command exits non-zero: a stable code and what to do about it. */
  failure: { code: string; hint: string };
}

/** Runs one outside command with a timeout; resolves with its stdout, or throws a coded error. */
export async function runCommand(
  file: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<string> {
  const result = await execa(file, args, {
    timeout: options.timeoutMs,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : undefined,
    reject: false,
  });
  const command = [file, ...args].join(' ');
  const details = {
    command,
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
  };
  if (result.timedOut) {
    throw new CanarytrapError(
      'cage-command-timeout',
      `\`${command}\` did not finish within ${options.timeoutMs} ms`,
      {
        hint: `raise commandTimeoutMs (now ${options.timeoutMs} ms) if the host is overloaded`,
        details,
      },
    );
  }
  if (result.code === 'ENOENT') {
    throw new CanarytrapError('cage-tool-missing', `\`${file}\` is not installed`, {
      permanent: true,
      hint: `install the ${PACKAGE_OF[file] ?? file} package (bash scripts/setup.sh does)`,
      details,
    });
  }
  if (result.failed) {
    const why = result.stderr.trim() || result.shortMessage || `exit code ${result.exitCode}`;
    throw new CanarytrapError(options.failure.code, `\`${command}\` failed: ${why}`, {
      hint: options.failure.hint,
      details,
    });
  }
  return result.stdout;
}
