import { createServer, type Socket } from 'node:net';
import { CanarytrapError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type {
  LabDevicePorts,
  LabFileSystem,
  LabIdentity,
  LabShell,
  ShellContext,
} from '../services.ts';
import { AdbConnection } from './connection.ts';
import type { ServiceContext } from './service-context.ts';
import { createServiceOpener } from './services.ts';
import { closerOf, listenOn } from '../listener.ts';

/**
 * What the device tells adb it can do. Each one changes which path adb 1.0.41 takes, so only
 * what is implemented here is listed: `shell_v2` (exit codes, stderr apart), `cmd` (`adb
 * install` streams to `exec:cmd package install -S`), `fixed_push_mkdir` (push creates parent
 * directories on the device, as adbd's sync does). Not `stat_v2`, `ls_v2`, `abb`, `abb_exec`.
 */
export const DEFAULT_ADB_FEATURES: readonly string[] = ['shell_v2', 'cmd', 'fixed_push_mkdir'];

export interface AdbDeviceServerOptions {
  /** Only loopback: the lab phone is never reachable from elsewhere. Default 127.0.0.1. */
  host?: '127.0.0.1';
  /** The adb port (console port + 1). 0 picks a free one. */
  port: number;
  shell: LabShell;
  fs: LabFileSystem;
  identity: LabIdentity;
  /** The device's loopback ports, which `adb forward` reaches. */
  devicePorts: LabDevicePorts;
  /** Features for the CNXN banner. Default DEFAULT_ADB_FEATURES. */
  features?: readonly string[];
  /** adbd's state, when the caller wants to share it with the OS model. Default `{ root: false }`. */
  shellContext?: ShellContext;
  /** Told when `adb root` switched adbd to root. */
  onRoot?: () => void;
  /** See ServiceContext.stdinGraceMs. Default 50 ms. */
  stdinGraceMs?: number;
  logger: Logger;
}

export interface AdbDeviceServer extends AsyncDisposable {
  readonly port: number;
  readonly shellContext: ShellContext;
  /** Host connections that completed the CNXN handshake and are still open. */
  readonly connectionCount: number;
  /** Resolves once an adb server holds a connection; rejects with `lab-adb-not-connected`. */
  whenConnected(timeoutMs: number): Promise<void>;
  /** Drops every host connection, as an adbd restart does; the adb server reconnects. */
  dropConnections(): void;
  /** Stops listening and drops every connection. Idempotent. */
  close(): Promise<void>;
}

export function deviceBanner(identity: LabIdentity, features: readonly string[]): string {
  return (
    `device::ro.product.name=${identity.product};ro.product.model=${identity.model};` +
    `ro.product.device=${identity.device};features=${features.join(',')}`
  );
}

export async function startAdbDeviceServer(
  options: AdbDeviceServerOptions,
): Promise<AdbDeviceServer> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger.child({ component: 'lab-adbd' });
  const shellContext = options.shellContext ?? { root: false };
  const banner = deviceBanner(options.identity, options.features ?? DEFAULT_ADB_FEATURES);
  const connections = new Set<AdbConnection>();
  const sockets = new Set<Socket>();
  const handshakeWaiters = new Set<() => void>();

  const context: ServiceContext = {
    shell: options.shell,
    fs: options.fs,
    identity: options.identity,
    devicePorts: options.devicePorts,
    shellContext,
    logger,
    stdinGraceMs: options.stdinGraceMs ?? 50,
    onRoot: options.onRoot,
    restartAdbd: () => {
      logger.info('adbd restarting: dropping host connections');
      for (const connection of connections) connection.close();
    },
  };
  const openService = createServiceOpener(context);

  const server = createServer((socket) => {
    sockets.add(socket);
    const connection = new AdbConnection({
      socket,
      banner,
      openService,
      logger: logger.child({ peer: socket.remotePort }),
      onHandshake: () => {
        for (const wake of handshakeWaiters) wake();
        handshakeWaiters.clear();
      },
    });
    connections.add(connection);
    socket.once('close', () => {
      sockets.delete(socket);
      connections.delete(connection);
    });
  });
  server.on('error', (error) => logger.warn({ err: error }, 'adb device server error'));

  let port: number;
  try {
    port = await listenOn(server, host, options.port);
  } catch (error) {
    throw new CanarytrapError(
      'lab-adb-port-busy',
      `cannot listen on ${host}:${options.port} for adb`,
      {
        cause: error,
        hint: 'pick another adb port (console port + 1) or stop what holds it',
      },
    );
  }
  logger.debug({ port }, 'adb device server listening');

  const close = closerOf(server, () => {
    for (const socket of sockets) socket.destroy();
  });
  const connectedCount = (): number => [...connections].filter((c) => c.connected).length;

  const handle: AdbDeviceServer = {
    port,
    shellContext,
    get connectionCount() {
      return connectedCount();
    },
    whenConnected(timeoutMs: number): Promise<void> {
      if (connectedCount() > 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          handshakeWaiters.delete(wake);
          reject(
            new CanarytrapError(
              'lab-adb-not-connected',
              `no adb server connected to port ${port} within ${timeoutMs} ms`,
              {
                hint: 'check that the adb server runs on the port given to registerWithAdbServer',
              },
            ),
          );
        }, timeoutMs);
        const wake = (): void => {
          clearTimeout(timer);
          resolve();
        };
        handshakeWaiters.add(wake);
      });
    },
    dropConnections: () => context.restartAdbd(),
    close,
    [Symbol.asyncDispose](): Promise<void> {
      return handle.close();
    },
  };
  return handle;
}
