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
  const release = abortOpening(socket, signal, `the connection to ${ip}:${port}`);
  try {
    await connected(socket);
    return socket;
  } catch (error) {
    socket.destroy();
    if (error instanceof CanarytrapError) throw error;
    throw new CanarytrapError('lab-connect-failed', `no connection to ${ip}:${port}`, {
      cause: error,
    });
  } finally {
    release();
  }
}

/**
 * Destroys the socket with a `lab-send-timeout` naming `what` when the send's deadline passes
 * while it is being opened. Returns the function that stops watching, once it is open.
 */
export function abortOpening(socket: Socket, signal: AbortSignal, what: string): () => void {
  const onAbort = (): void => {
    socket.destroy(
      new CanarytrapError('lab-send-timeout', `${what} was aborted`, { cause: signal.reason }),
    );
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** Resolves once the socket is connected; rejects with its error. */
export function connected(socket: Socket): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
}
