import type { LabShell, RunOptions, ShellContext, ShellOutcome } from '../../services.ts';
import { isDeviceFsError } from '../fs/errors.ts';
import type { LabOs } from '../lab-os.ts';
import { expandArgument } from './glob.ts';
import { parseCommandLine, ShellSyntaxError, type SimpleCommand } from './parse.ts';
import type { Command, CommandResult } from './types.ts';

const SH = '/system/bin/sh';

interface RunContext {
  signal: AbortSignal;
  onStdout: ((data: Buffer) => Promise<void>) | undefined;
}

interface Outcome {
  stdout: Buffer[];
  stderr: Buffer[];
  exitCode: number;
  /** `exit` ran: stop the list. */
  exit: boolean;
}

/**
 * The device's `sh` for `adb shell`: parses the line, expands `$?` and pathname patterns, runs
 * `;`/`&&`/`||` lists and `|` pipelines of built-in commands, applies redirections to device
 * files, and answers unknown commands the way mksh does (`/system/bin/sh: foo: not found`, exit 127).
 */
export class LabShellInterpreter implements LabShell {
  constructor(
    private readonly os: LabOs,
    private readonly commands: ReadonlyMap<string, Command>,
  ) {}

  async run(
    commandLine: string,
    context: ShellContext,
    stdin?: Buffer,
    options?: RunOptions,
  ): Promise<ShellOutcome> {
    const run: RunContext = {
      signal: options?.signal ?? new AbortController().signal,
      onStdout: options?.onStdout,
    };
    const outcome = await this.#runLine(commandLine, context.root, stdin ?? Buffer.alloc(0), run);
    return {
      stdout: Buffer.concat(outcome.stdout),
      stderr: Buffer.concat(outcome.stderr),
      exitCode: outcome.exitCode,
    };
  }

  async #runLine(line: string, root: boolean, stdin: Buffer, run: RunContext): Promise<Outcome> {
    const out: Outcome = { stdout: [], stderr: [], exitCode: 0, exit: false };
    let items;
    try {
      items = parseCommandLine(line);
    } catch (error) {
      if (!(error instanceof ShellSyntaxError)) throw error;
      out.stderr.push(Buffer.from(`${SH}: syntax error: ${error.message}\n`));
      out.exitCode = 1;
      return out;
    }
    for (const item of items) {
      if (item.connector === '&&' && out.exitCode !== 0) continue;
      if (item.connector === '||' && out.exitCode === 0) continue;
      let input = stdin;
      for (let i = 0; i < item.pipeline.length; i++) {
        const command = item.pipeline[i];
        if (!command) continue;
        const last = i === item.pipeline.length - 1;
        const result = await this.#runCommand(
          command,
          root,
          input,
          out.exitCode,
          last ? run : { signal: run.signal, onStdout: undefined },
        );
        out.stderr.push(...result.stderr);
        if (last) {
          out.stdout.push(...result.stdout);
          out.exitCode = result.exitCode;
          if (result.exit) {
            out.exit = true;
            return out;
          }
        } else input = Buffer.concat(result.stdout);
      }
    }
    return out;
  }

  async #runCommand(
    command: SimpleCommand,
    root: boolean,
    stdin: Buffer,
    lastStatus: number,
    run: RunContext,
  ): Promise<Outcome> {
    const argv: string[] = [];
    for (const word of command.words)
      argv.push(...(await expandArgument(word, lastStatus, this.os.fs)));
    const out: Outcome = { stdout: [], stderr: [], exitCode: 0, exit: false };
    let input = stdin;
    for (const r of command.redirects.filter((r) => r.mode === 'read')) {
      try {
        input = await this.os.fs.read(r.target);
      } catch (error) {
        if (!isDeviceFsError(error)) throw error;
        out.stderr.push(Buffer.from(`${SH}: can't open ${r.target}: ${error.reason}\n`));
        out.exitCode = 1;
        return out;
      }
    }
    const redirected = command.redirects.some((r) => r.fd === 1);
    const result = await this.#execute(
      argv,
      root,
      input,
      redirected ? { signal: run.signal, onStdout: undefined } : run,
    );
    const stdout = toBuffer(result.stdout);
    const stderr = toBuffer(result.stderr);
    out.exitCode = result.exitCode;
    out.exit = result.exit ?? false;
    const stdoutRedirect = command.redirects.filter((r) => r.fd === 1).at(-1);
    const stderrRedirect = command.redirects.filter((r) => r.fd === 2).at(-1);
    const writeTo = async (target: string, data: Buffer, append: boolean): Promise<boolean> => {
      if (target === '/dev/null') return true;
      try {
        if (append) await this.os.fs.append(target, data);
        else await this.os.fs.write(target, data, 0o100644, 0);
        return true;
      } catch (error) {
        if (!isDeviceFsError(error)) throw error;
        out.stderr.push(Buffer.from(`${SH}: can't create ${target}: ${error.reason}\n`));
        out.exitCode = 1;
        return false;
      }
    };
    if (stdoutRedirect)
      await writeTo(stdoutRedirect.target, stdout, stdoutRedirect.mode === 'append');
    else out.stdout.push(stdout);
    if (stderrRedirect?.mode === 'dup-stdout') {
      if (stdoutRedirect) await this.os.fs.append(stdoutRedirect.target, stderr);
      else out.stdout.push(stderr);
    } else if (stderrRedirect)
      await writeTo(stderrRedirect.target, stderr, stderrRedirect.mode === 'append');
    else out.stderr.push(stderr);
    return out;
  }

  async #execute(
    argv: string[],
    root: boolean,
    stdin: Buffer,
    run: RunContext,
  ): Promise<CommandResult & { exit?: boolean }> {
    const [rawName, ...args] = argv;
    if (rawName === undefined) return { exitCode: 0 };
    const name = rawName.replace(/^\/system\/(x?bin)\//, '');
    if (name === 'exit') {
      const code = args[0] === undefined ? 0 : Number.parseInt(args[0], 10);
      return { exitCode: Number.isNaN(code) ? 0 : code & 0xff, exit: true };
    }
    if (name === 'cd') return { exitCode: 0 };
    const command = this.commands.get(name);
    if (!command) return { stderr: `${SH}: ${rawName}: not found\n`, exitCode: 127 };
    try {
      return await command({
        args,
        stdin,
        root,
        os: this.os,
        signal: run.signal,
        stream:
          run.onStdout === undefined
            ? undefined
            : (data) => (run.onStdout ?? (async () => undefined))(toBuffer(data)),
        runLine: async (line, input) => {
          const nested = await this.#runLine(line, root, input, run);
          return {
            stdout: Buffer.concat(nested.stdout),
            stderr: Buffer.concat(nested.stderr).toString('utf8'),
            exitCode: nested.exitCode,
          };
        },
      });
    } catch (error) {
      if (isDeviceFsError(error)) return { stderr: `${name}: ${error.message}\n`, exitCode: 1 };
      throw error;
    }
  }
}

function toBuffer(data: string | Buffer | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  return typeof data === 'string' ? Buffer.from(data) : data;
}
