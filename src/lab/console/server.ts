import { createServer, type Socket } from 'node:net';
import { CanarytrapError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { LabConsole } from '../services.ts';
import { ConsoleSession } from './session.ts';
import { closerOf, listenOn } from '../listener.ts';

export interface ConsoleServerOptions {
  /** Only loopback, like the emulator's console. Default 127.0.0.1. */
  host?: '127.0.0.1';
  /** The console port (even; the adb port is this + 1). 0 picks a free one. */
  port: number;
  /** From ensureConsoleAuthToken(); '' disables authentication. */
  authToken: string;
  /** Shown in the greeting. Default `~/.emulator_console_auth_token`. */
  authTokenPath?: string;
  /** Answers everything but `auth`, `help`, `ping`, `avd name`, `quit`, `kill`. */
  console: LabConsole;
  /** `avd name` answers this. */
  avdName: string;
  logger: Logger;
}

export interface ConsoleServer extends AsyncDisposable {
  readonly port: number;
  /** Stops listening and closes every client. Idempotent. */
  close(): Promise<void>;
}

/** The emulator console on its port: a telnet-like line protocol, see ConsoleSession. */
export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger.child({ component: 'lab-console' });
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', (error) => logger.debug({ err: error }, 'console client error'));
    const session = new ConsoleSession({
      authToken: options.authToken,
      authTokenPath: options.authTokenPath ?? '~/.emulator_console_auth_token',
      avdName: options.avdName,
      console: options.console,
      logger,
      write: (text) => {
        if (!socket.destroyed) socket.write(text);
      },
      end: () => socket.end(),
    });
    session.greet();
    socket.on('data', (chunk: Buffer) => {
      session.receive(chunk).catch((error: unknown) => {
        logger.warn({ err: error }, 'console session failed');
        socket.destroy();
      });
    });
  });
  server.on('error', (error) => logger.warn({ err: error }, 'console server error'));

  let port: number;
  try {
    port = await listenOn(server, host, options.port);
  } catch (error) {
    throw new CanarytrapError(
      'lab-console-port-busy',
      `cannot listen on ${host}:${options.port} for the console`,
      {
        cause: error,
        hint: 'pick another even console port or stop what holds it',
      },
    );
  }

  const close = closerOf(server, () => {
    for (const socket of sockets) socket.destroy();
  });
  const handle: ConsoleServer = {
    port,
    close,
    [Symbol.asyncDispose](): Promise<void> {
      return handle.close();
    },
  };
  return handle;
}
