import { execa } from 'execa';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { CanarytrapError } from '../../errors.ts';
import { pollUntil } from '../../host/poll.ts';
import { stopProcess } from '../../host/processes.ts';
import type { Logger } from '../../log.ts';
import type { Cage, CageRelay } from './types.ts';

export interface RelayOptions {
  wrap: Cage['wrap'];
  /**
   * The cage's relay socket directory (see relaySocketDir); this relay's socket is
   * `<hostPort>.sock` in it. The cage removes the directory as it goes, or a sweep does.
   */
  socketDir: string;
  hostPort: number;
  devicePort: number;
  readyTimeoutMs: number;
  logger: Logger;
}

/**
 * The host's 127.0.0.1:hostPort carried into the cage's 127.0.0.1:devicePort. The crossing is a
 * Unix socket served by socat inside the namespace, so connections only ever go into the cage:
 * the device sees no address through which it could reach the host.
 */
export async function startRelay(options: RelayOptions): Promise<CageRelay> {
  const { hostPort, devicePort, logger } = options;
  await mkdir(options.socketDir, { recursive: true, mode: 0o700 });
  const socketPath = join(options.socketDir, `${hostPort}.sock`);
  const inner = options.wrap('socat', [
    `UNIX-LISTEN:${socketPath},fork,unlink-early`,
    `TCP:127.0.0.1:${devicePort}`,
  ]);
  const socat = execa(inner.file, inner.args, {
    stdin: 'ignore',
    stdout: 'ignore',
    buffer: false,
    reject: false,
  });
  let stderrTail = '';
  socat.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-2_000);
  });
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      for (const socket of sockets) socket.destroy();
      if (server) await new Promise<void>((resolve) => server?.close(() => resolve()));
      await stopProcess(socat, { graceMs: 2_000 });
      await rm(socketPath, { force: true });
    })());

  try {
    await pollUntil({
      what: `the cage relay's socat listening on ${socketPath}`,
      probe: () => unixSocketListening(socat.pid, socketPath),
      timeoutMs: options.readyTimeoutMs,
      setting: 'commandTimeoutMs',
      intervalMs: 20,
      giveUp: () =>
        socat.exitCode !== null || socat.signalCode !== null
          ? new CanarytrapError(
              'cage-relay-failed',
              `the cage relay's socat exited: ${stderrTail.trim()}`,
              {
                hint: 'check that socat is installed (bash scripts/setup.sh) and the cage still exists',
              },
            )
          : undefined,
    });
    server = await listen(hostPort, (client) => {
      sockets.add(client);
      const cage = connect(socketPath);
      sockets.add(cage);
      const forget = () => {
        client.destroy();
        cage.destroy();
        sockets.delete(client);
        sockets.delete(cage);
      };
      client.on('error', forget).on('close', forget);
      cage.on('error', forget).on('close', forget);
      client.pipe(cage).pipe(client);
      logger.debug({ hostPort, devicePort }, 'relay connection into the cage');
    });
  } catch (error) {
    await close();
    throw error;
  }
  return { hostPort, devicePort, close, [Symbol.asyncDispose]: close };
}

/**
 * Whether a process's namespace has a listening Unix socket at `path`. /proc/<pid>/net/unix is
 * read through that process because the socket belongs to the cage's namespace, not the host's.
 */
async function unixSocketListening(pid: number | undefined, path: string): Promise<boolean> {
  if (pid === undefined) return false;
  const table = await readFile(`/proc/${pid}/net/unix`, 'utf8').catch(() => '');
  // Columns: Num RefCount Protocol Flags Type St Inode Path; flag 00010000 is __SO_ACCEPTCON.
  return table.split('\n').some((line) => {
    const columns = line.trim().split(/\s+/);
    return columns[7] === path && columns[3] === '00010000';
  });
}

function listen(port: number, onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(onConnection);
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new CanarytrapError(
          'cage-relay-port-busy',
          `cannot listen on 127.0.0.1:${port}: ${error.message}`,
          {
            cause: error,
            hint: 'lease the relay ports from the port lease so nothing else holds them',
          },
        ),
      );
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
