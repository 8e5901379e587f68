import type { ServiceContext } from './service-context.ts';
import {
  ShellPacketDecoder,
  ShellPacketId,
  encodeExitPacket,
  encodeShellOutput,
} from './shell-protocol.ts';
import { LineSession, runCommand, type CommandOutput } from './run-command.ts';
import { StdinCollector } from './stdin-collector.ts';
import type { DeviceStream } from './stream.ts';

export interface ShellRequest {
  /** `shell,v2,…:` speaks the shell protocol; plain `shell:` sends raw output and no exit code. */
  protocol: 'shell-v2' | 'legacy';
  /** The host asked for a terminal (`pty`), i.e. a person is typing. */
  pty: boolean;
  /** Empty for an interactive session. */
  command: string;
}

/** `shell:<cmd>` or `shell,<arg>,<arg>:<cmd>` (args: `v2`, `raw`, `pty`, `TERM=…`). */
export function parseShellService(service: string): ShellRequest | undefined {
  const match = /^shell(,[^:]*)?:([\s\S]*)$/.exec(service);
  if (!match) return undefined;
  const args = (match[1] ?? '').split(',').filter((arg) => arg !== '');
  const command = match[2] ?? '';
  // adbd's default: a command runs raw, an interactive session gets a terminal.
  const pty = args.includes('pty') || (!args.includes('raw') && command === '');
  return { protocol: args.includes('v2') ? 'shell-v2' : 'legacy', pty, command };
}

/** Aborted once the host closes the stream: a long-running command then ends. */
function closedSignal(stream: DeviceStream): AbortSignal {
  const controller = new AbortController();
  stream.onClose(() => controller.abort());
  return controller.signal;
}

function logFailure(context: ServiceContext, stream: DeviceStream, work: Promise<void>): void {
  work.catch((error: unknown) => {
    context.logger.warn({ err: error }, 'adb shell service failed');
    void stream.close();
  });
}

export function startShell(
  stream: DeviceStream,
  context: ServiceContext,
  request: ShellRequest,
): void {
  if (request.protocol === 'shell-v2') {
    logFailure(context, stream, shellV2(stream, context, request));
  } else {
    logFailure(context, stream, legacyShell(stream, context, request));
  }
}

async function writeV2(stream: DeviceStream, id: number, data: Buffer | string): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (const packet of encodeShellOutput(id, bytes, stream.maxPayload)) await stream.write(packet);
}

async function writeV2Output(stream: DeviceStream, output: CommandOutput): Promise<void> {
  await writeV2(stream, ShellPacketId.stdout, output.stdout);
  await writeV2(stream, ShellPacketId.stderr, output.stderr);
}

function prompt(context: ServiceContext): string {
  return `${context.identity.device}:/ ${context.shellContext.root ? '#' : '$'} `;
}

async function shellV2(
  stream: DeviceStream,
  context: ServiceContext,
  request: ShellRequest,
): Promise<void> {
  const decoder = new ShellPacketDecoder();
  if (request.command === '') {
    const session = new LineSession(
      context,
      async (output) => {
        await writeV2Output(stream, output);
        if (request.pty) await writeV2(stream, ShellPacketId.stdout, prompt(context));
      },
      { carriageReturnEndsLine: request.pty },
    );
    const finished = new Promise<void>((resolve) => {
      const end = (): void => {
        void session.finish().then(resolve);
      };
      stream.onData(async (data) => {
        for (const packet of decoder.push(data)) {
          if (packet.id === ShellPacketId.stdin) {
            // A terminal echoes what is typed; the host put its own terminal in raw mode.
            if (request.pty) await writeV2(stream, ShellPacketId.stdout, packet.data);
            await session.feed(packet.data);
            if (session.exited) resolve();
          } else if (packet.id === ShellPacketId.closeStdin) {
            end();
          }
        }
      });
      stream.onClose(end);
    });
    if (request.pty) await writeV2(stream, ShellPacketId.stdout, prompt(context));
    await finished;
    await stream.write(encodeExitPacket(session.lastExitCode));
    await stream.close();
    return;
  }

  const stdin = new StdinCollector();
  stream.onData((data) => {
    for (const packet of decoder.push(data)) {
      if (packet.id === ShellPacketId.stdin) stdin.add(packet.data);
      else if (packet.id === ShellPacketId.closeStdin) stdin.end();
    }
  });
  stream.onClose(() => stdin.end());
  const signal = closedSignal(stream);
  const input = await stdin.complete(context.stdinGraceMs);
  if (stream.closed) return;
  const output = await runCommand(context, request.command, input.length > 0 ? input : undefined, {
    signal,
    onStdout: (data) => writeV2(stream, ShellPacketId.stdout, data),
  });
  await writeV2Output(stream, output);
  await stream.write(encodeExitPacket(output.exitCode));
  await stream.close();
}

async function legacyShell(
  stream: DeviceStream,
  context: ServiceContext,
  request: ShellRequest,
): Promise<void> {
  if (request.command === '') {
    const session = new LineSession(
      context,
      async (output) => {
        await stream.write(Buffer.concat([output.stdout, output.stderr]));
        if (request.pty) await stream.write(prompt(context));
      },
      { carriageReturnEndsLine: request.pty },
    );
    if (request.pty) await stream.write(prompt(context));
    await new Promise<void>((resolve) => {
      stream.onData(async (data) => {
        if (request.pty) await stream.write(data);
        await session.feed(data);
        if (session.exited) resolve();
      });
      stream.onClose(resolve);
    });
    await stream.close();
    return;
  }
  // Without the shell protocol there is no way to end stdin, so a command gets none.
  const output = await runCommand(context, request.command, undefined, {
    signal: closedSignal(stream),
    onStdout: (data) => stream.write(data),
  });
  await stream.write(Buffer.concat([output.stdout, output.stderr]));
  await stream.close();
}

/**
 * `exec:<cmd>`: raw output (stdout and stderr together, as adbd's exec does), no exit code.
 * `cmd package install -S <size>` (what `adb install` streams to) gets exactly <size> bytes of
 * stdin; other commands get what the host sends until it closes the stream (`adb exec-in`), or
 * none when it sends nothing at once (`adb exec-out`).
 */
export function startExec(stream: DeviceStream, context: ServiceContext, command: string): void {
  logFailure(context, stream, exec(stream, context, command));
}

async function exec(stream: DeviceStream, context: ServiceContext, command: string): Promise<void> {
  const sized = /(?:^|\s)-S\s+(\d+)(?:\s|$)/.exec(command);
  const stdin = new StdinCollector(sized?.[1] === undefined ? undefined : Number(sized[1]));
  let received = false;
  stream.onData((data) => {
    received = true;
    stdin.add(data);
  });
  stream.onClose(() => stdin.end());
  const signal = closedSignal(stream);
  const input = await stdin.complete(context.stdinGraceMs);
  if (stream.closed && !received) return;
  const output = await runCommand(context, command, input.length > 0 ? input : undefined, {
    signal,
    onStdout: (data) => stream.write(data),
  });
  await stream.write(Buffer.concat([output.stdout, output.stderr]));
  await stream.close();
}
