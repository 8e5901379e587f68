import type { Logger } from '../../log.ts';
import type { LabConsole } from '../services.ts';

/** The emulator keeps at most this much of one line; longer input is dropped. */
const MAX_LINE_BYTES = 4095;

export interface ConsoleSessionOptions {
  /** '' disables authentication, as an empty token file does for the emulator. */
  authToken: string;
  /** Shown in the greeting; where a user finds the token. */
  authTokenPath: string;
  avdName: string;
  console: LabConsole;
  logger: Logger;
  /** Writes text to the client (already with \r\n line ends). */
  write(text: string): void;
  /** Ends the connection after what was written. */
  end(): void;
}

const PREAUTH_COMMANDS = ['help|h|?', 'help-verbose', 'ping', 'avd', 'auth', 'quit|exit'];
const MAIN_COMMANDS = [
  'help|h|?',
  'help-verbose',
  'ping',
  'event',
  'geo',
  'gsm',
  'cdma',
  'crash',
  'crash-on-exit',
  'kill',
  'network',
  'power',
  'quit|exit',
  'redir',
  'sms',
  'avd',
  'qemu',
  'sensor',
  'finger',
  'debug',
  'rotate',
];

/** The terminal needs \r\n; command output from the OS model may use \n alone. */
export function toConsoleText(text: string): string {
  return text.replaceAll(/\r?\n/g, '\r\n');
}

/**
 * One client of the emulator console: the greeting, `auth`, then one command per line, each
 * answered by its output and `OK`, or by `KO: <reason>` — the emulator's wording throughout.
 */
export class ConsoleSession {
  private readonly options: ConsoleSessionOptions;
  private authenticated: boolean;
  private pending = Buffer.alloc(0);
  private queue: Promise<void> = Promise.resolve();
  private finished = false;

  constructor(options: ConsoleSessionOptions) {
    this.options = options;
    this.authenticated = options.authToken === '';
  }

  greet(): void {
    if (this.authenticated) {
      this.options.write("Android Console: type 'help' for a list of commands\r\nOK\r\n");
      return;
    }
    this.options.write(
      'Android Console: Authentication required\r\n' +
        "Android Console: type 'auth <auth_token>' to authenticate\r\n" +
        'Android Console: you can find your <auth_token> in \r\n' +
        `'${this.options.authTokenPath}'\r\nOK\r\n`,
    );
  }

  /** Bytes from the client; lines run one after another. Resolves when queued lines ran. */
  receive(chunk: Buffer): Promise<void> {
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const newline = this.pending.indexOf(0x0a);
      if (newline === -1) break;
      const line = this.pending.subarray(0, newline);
      this.pending = this.pending.subarray(newline + 1);
      this.queue = this.queue.then(() => this.runLine(line));
    }
    if (this.pending.length > MAX_LINE_BYTES) this.pending = Buffer.alloc(0);
    return this.queue;
  }

  private async runLine(raw: Buffer): Promise<void> {
    if (this.finished) return;
    const bytes = Buffer.from(raw.filter((byte) => byte !== 0x0d));
    let line: string;
    try {
      line = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      this.abort('KO: Forbidden binary request. Aborting\r\n');
      return;
    }
    if (/^[A-Z]+ \S+ HTTP\/\d/.test(line)) {
      this.abort('KO: Forbidden HTTP request. Aborting\r\n');
      return;
    }
    try {
      await this.command(line);
    } catch (error) {
      this.options.logger.warn({ err: error, line }, 'console command failed');
      this.options.write(`KO: ${error instanceof Error ? error.message : String(error)}\r\n`);
    }
  }

  private abort(message: string): void {
    this.options.write(message);
    this.finish();
  }

  private finish(): void {
    this.finished = true;
    this.options.end();
  }

  private async command(line: string): Promise<void> {
    const words = line.split(' ').filter((word) => word !== '');
    const [name = '', sub] = words;
    const args = line.slice(line.indexOf(name) + name.length).trim();
    const write = (text: string): void => this.options.write(text);
    if (name === 'quit' || name === 'exit') {
      this.finish();
      return;
    }
    if (name === 'help' || name === 'h' || name === '?') {
      const commands = this.authenticated ? MAIN_COMMANDS : PREAUTH_COMMANDS;
      write(
        `Android console commands:\r\n${commands.map((c) => `    ${c}\r\n`).join('')}` +
          "\r\nTry 'help-verbose' for more description\r\nTry 'help <command>' for command-specific help\r\nOK\r\n",
      );
      return;
    }
    if (name === 'ping') {
      write('I am alive!\r\nOK\r\n');
      return;
    }
    if (name === 'avd' && sub === 'name') {
      write(`${this.options.avdName}\r\nOK\r\n`);
      return;
    }
    if (name === 'auth') {
      this.auth(args);
      return;
    }
    if (!this.authenticated) {
      write("KO: unknown command, try 'help'\r\n");
      return;
    }
    if (name === 'kill') {
      write('OK: killing emulator, bye bye\r\nOK\r\n');
      this.finish();
      await this.options.console.kill();
      return;
    }
    if (name === '') {
      write("KO: unknown command, try 'help'\r\n");
      return;
    }
    const reply = await this.options.console.handle(line.trim());
    if (reply.ok) {
      const output = toConsoleText(reply.output);
      write(output === '' || output.endsWith('\r\n') ? `${output}OK\r\n` : `${output}\r\nOK\r\n`);
    } else {
      write(`KO: ${reply.error}\r\n`);
    }
  }

  private auth(token: string): void {
    if (token === '') {
      this.options.write('KO: missing authentication token\r\n');
    } else if (token !== this.options.authToken) {
      this.options.write(
        'KO: authentication token does not match ~/.emulator_console_auth_token\r\n',
      );
    } else {
      this.authenticated = true;
      this.options.write("Android Console: type 'help' for a list of commands\r\nOK\r\n");
    }
  }
}
