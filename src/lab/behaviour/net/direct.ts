import { connect, type Socket } from 'node:net';
import { CanarytrapError } from '../../../errors.ts';

/**
 * Opens a TCP connection straight to `ip:port`, as an app in an emulator guest does: the
 * guest's socket is the device's, and inside the cage the edge, not the app, decides where it
 * lands. Resolves once connected.
 */
export async function openDirect(ip: string, port: number, signal: AbortSignal): Promise<Socket> {
  signal.throwIfAborted();
  const socket = connect({ host: ip, port });
  const onAbort = (): void => {
    socket.destroy(
      new CanarytrapError('lab-send-timeout', `the connection to ${ip}:${port} was aborted`, {
        cause: signal.reason,
      }),
    );
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return socket;
  } catch (error) {
    socket.destroy();
    if (error instanceof CanarytrapError) throw error;
    throw new CanarytrapError('lab-connect-failed', `no connection to ${ip}:${port}`, {
      cause: error,
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
