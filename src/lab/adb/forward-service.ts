import { connect, type Socket } from 'node:net';
import type { ServiceContext } from './service-context.ts';
import type { DeviceStream } from './stream.ts';

/** How long `tcp:<port>` waits for the device-side port to accept. */
const CONNECT_TIMEOUT_MS = 5_000;

function connectLoopback(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.pause();
      resolve(socket);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/**
 * `tcp:<port>` (what `adb forward tcp:X tcp:<port>` opens): a TCP connection to that port on
 * the device's own loopback, i.e. the host port the phone's device-port table maps it to (the
 * host's port of the same number is another machine's). Refused (the host sees the forward
 * fail) when nothing listens there. Backpressure runs both ways: the host gets OKAY only
 * once its data is written to the socket, and the socket is read only as fast as the host acks.
 */
export async function openTcpForward(
  port: number,
  context: ServiceContext,
): Promise<((stream: DeviceStream) => void) | undefined> {
  const hostPort = context.devicePorts.hostPortOf(port);
  const socket = hostPort === undefined ? undefined : await connectLoopback(hostPort);
  if (socket === undefined) {
    context.logger.debug({ port }, 'adb forward: nothing listens on the device port');
    return undefined;
  }
  return (stream) => {
    socket.on('error', (error) =>
      context.logger.debug({ err: error, port }, 'adb forward socket error'),
    );
    socket.on('data', (chunk: Buffer) => {
      socket.pause();
      void stream.write(chunk).then(() => socket.resume());
    });
    socket.once('close', () => void stream.close());
    stream.onData(
      (data) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) resolve();
          else socket.write(data, () => resolve());
        }),
    );
    stream.onClose(() => socket.destroy());
    socket.resume();
  };
}
