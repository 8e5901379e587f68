import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { CanarytrapError } from '../errors.ts';
import type { ListenAddress } from './types.ts';

/** A TCP server listening on `host`, on a free port. */
export async function listenTcp(host: string, code: string): Promise<Server> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw new CanarytrapError(code, `cannot listen on ${host} (tcp)`, {
      cause: error,
      hint: 'pass an address this host has as the capture host (the cage gateway, or loopback)',
    });
  }
  return server;
}

/** A UDP socket bound to `host`:`port` (0: a free one). */
export async function bindUdp(host: string, port: number, code: string): Promise<UdpSocket> {
  const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    socket.close();
    throw new CanarytrapError(code, `cannot listen on ${host}:${port} (udp)`, {
      cause: error,
      hint:
        port !== 0 && port < 1024
          ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE for the worker'
          : 'pass an address this host has as the capture host (the cage gateway, or loopback)',
    });
  }
  return socket;
}

export function tcpAddress(server: Server): ListenAddress {
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('tcp server has no port');
  return { host: bound.address, port: bound.port };
}

export function udpAddress(socket: UdpSocket): ListenAddress {
  const bound = socket.address();
  return { host: bound.address, port: bound.port };
}
