import { randomUUID } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { pollUntil } from '../../src/host/poll.ts';

/**
 * A real terminal for a test: a private tmux server (its own socket, no config file) with one
 * pane running a script. The script waits for `start()`, so the test can set the pane's title
 * first; what the program prints is then read back as the terminal shows it (`capture`).
 */
export interface TmuxTerminal {
  /** Lets the pane's script run past its `tmux wait-for` (set the title before). */
  start(): Promise<void>;
  /** The pane's title, as an OSC 0/2 sequence in the output would change it. */
  title(): Promise<string>;
  setTitle(title: string): Promise<void>;
  /** The pane's whole history, wrapped lines joined; `escapes`: with its colours (SGR) too. */
  capture(options?: { escapes?: boolean }): Promise<string>;
  /** Until the script printed `EXIT <code>` (its command's exit code), which it returns. */
  waitForExit(timeoutMs: number): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

const START = 'canarytrap-test-start';

const shellQuote = (value: string): string => `'${value.replaceAll("'", "'\\''")}'`;

/**
 * Starts the terminal running `argv` in `cwd` with `env` (exported in the script, so nothing of
 * the test's own environment decides what the program sees beyond PATH and HOME's defaults).
 */
export async function startTmuxTerminal(options: {
  dir: string;
  argv: readonly string[];
  cwd: string;
  env: Record<string, string>;
  width?: number;
  height?: number;
}): Promise<TmuxTerminal> {
  const name = `tmux-${randomUUID().slice(0, 8)}`;
  // The socket lives in the test's directory: tmux leaves its socket file behind when killed.
  const socket = join(options.dir, `${name}.sock`);
  const tmux = async (...args: string[]): Promise<string> =>
    (await execa('tmux', ['-S', socket, '-f', '/dev/null', ...args], { timeout: 10_000 })).stdout;
  const script = join(options.dir, `${name}.sh`);
  await writeFile(
    script,
    [
      '#!/bin/sh',
      // Inside the pane $TMUX names this server's socket, so a bare `tmux` reaches it.
      `tmux wait-for ${START}`,
      ...Object.entries(options.env).map(([key, value]) => `export ${key}=${shellQuote(value)}`),
      `cd ${shellQuote(options.cwd)}`,
      options.argv.map(shellQuote).join(' '),
      'echo "EXIT $?"',
      'exec sleep 600',
      '',
    ].join('\n'),
  );
  await chmod(script, 0o755);
  await tmux(
    'new-session',
    '-d',
    '-s',
    'test',
    '-x',
    String(options.width ?? 200),
    '-y',
    String(options.height ?? 50),
    `sh ${shellQuote(script)}`,
  );
  let stopped: Promise<void> | undefined;
  const capture = async ({ escapes = false } = {}) =>
    tmux('capture-pane', '-p', '-J', '-S', '-', ...(escapes ? ['-e'] : []), '-t', 'test');
  return {
    start: async () => {
      await tmux('wait-for', '-S', START);
    },
    title: () => tmux('display-message', '-p', '-t', 'test', '#{pane_title}'),
    setTitle: async (title) => {
      await tmux('set-option', '-g', 'set-titles', 'on');
      await tmux('select-pane', '-t', 'test', '-T', title);
    },
    capture,
    waitForExit: async (timeoutMs) =>
      pollUntil({
        what: `EXIT <code> in tmux pane ${socket}`,
        probe: async () => {
          const match = /^EXIT (\d+)$/m.exec(await capture());
          return match ? Number(match[1]) : undefined;
        },
        timeoutMs,
        setting: 'the test timeout',
        intervalMs: 200,
      }),
    [Symbol.asyncDispose]: () =>
      (stopped ??= tmux('kill-server').then(
        () => undefined,
        // Already gone (its last pane ended): nothing left to stop.
        () => undefined,
      )),
  };
}
