import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { CanarytrapError } from '../errors.ts';

export interface ConsoleCommandOptions {
  host?: string;
  port: number;
  /** The file holding the console auth token (~/.emulator_console_auth_token). */
  authTokenPath: string;
  /** Default 10 s. */
  timeoutMs?: number;
}

/**
 * Sends one command to the emulator console (telnet-like, `OK`/`KO:` terminated replies),
 * authenticating first as the emulator requires. Resolves with the reply lines before `OK`.
 */
export async function consoleCommand(
  command: string,
  options: ConsoleCommandOptions,
): Promise<string> {
  const token = (await readFile(options.authTokenPath, 'utf8').catch(() => '')).trim();
  const timeoutMs = options.timeoutMs ?? 10_000;
  const socket = connect(options.port, options.host ?? '127.0.0.1');
  const reader = new ReplyReader(socket);
  const timer = setTimeout(
    () => socket.destroy(new Error(`console command "${command}" timed out after ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    await reader.reply(); // greeting, ends with OK
    if (token) await reader.expectOk(`auth ${token}`, 'auth');
    const output = await reader.expectOk(command, command);
    socket.end('quit\r\n');
    return output;
  } catch (cause) {
    if (cause instanceof CanarytrapError) throw cause;
    throw new CanarytrapError(
      'console-unreachable',
      `emulator console on port ${options.port}: ${(cause as Error).message}`,
      {
        cause,
        hint: 'the device may have stopped; check that the console port belongs to a running device',
      },
    );
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

class ReplyReader {
  private buffer = '';
  private waiting: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiting?.();
    });
    const fail = (error: Error) => {
      this.failure = error;
      this.waiting?.();
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  /** Lines up to and including the first `OK` or `KO:` line. */
  async reply(): Promise<{ ok: boolean; lines: string[]; error?: string }> {
    for (;;) {
      const lines = this.buffer.split(/\r?\n/);
      for (let i = 0; i < lines.length - 1; i++) {
        const line = lines[i] ?? '';
        if (line === 'OK' || line.startsWith('OK:') || line.startsWith('KO')) {
          this.buffer = lines.slice(i + 1).join('\n');
          const ok = !line.startsWith('KO');
          return {
            ok,
            lines: lines.slice(0, i),
            ...(ok ? {} : { error: line.replace(/^KO:?\s*/, '') }),
          };
        }
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = undefined;
    }
  }

  async expectOk(command: string, label: string): Promise<string> {
    this.socket.write(`${command}\r\n`);
    const reply = await this.reply();
    if (!reply.ok) {
      throw new CanarytrapError(
        'console-command-failed',
        `console "${label}" answered: ${reply.error ?? 'KO'}`,
        {
          details: { command: label },
        },
      );
    }
    return reply.lines.join('\n');
  }
}
