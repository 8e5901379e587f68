import { connect, isIP, type Socket } from 'node:net';
import { CanarytrapError } from '../../../errors.ts';
import { abortOpening, connected } from './direct.ts';

export interface HttpProxy {
  host: string;
  port: number;
}

/** A CONNECT reply longer than this is not a proxy talking. */
const MAX_REPLY_HEAD = 16 * 1024;

/**
 * Opens a TCP tunnel to `ip:port` through the HTTP proxy, as the emulator's `-http-proxy` does
 * for every guest connection: `CONNECT <ip>:<port>`, by address, because the guest has already
 * resolved the name through its DNS server. Resolves with the socket once the proxy answered 2xx;
 * bytes after the proxy's reply head are pushed back for the next reader.
 */
export async function openTunnel(
  proxy: HttpProxy,
  ip: string,
  port: number,
  signal: AbortSignal,
): Promise<Socket> {
  signal.throwIfAborted();
  const socket = connect({ host: proxy.host, port: proxy.port });
  const release = abortOpening(socket, signal, `the tunnel to ${ip}:${port}`);
  try {
    await connected(socket);
    const authority = isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    const { status, rest } = await readReplyHead(socket);
    if (status < 200 || status > 299) {
      throw new CanarytrapError(
        'lab-proxy-refused',
        `the proxy at ${proxy.host}:${proxy.port} answered ${status} to CONNECT ${authority}`,
      );
    }
    if (rest.length > 0) socket.unshift(rest);
    return socket;
  } catch (error) {
    socket.destroy();
    if (error instanceof CanarytrapError) throw error;
    throw new CanarytrapError(
      'lab-proxy-failed',
      `no tunnel to ${ip}:${port} through the proxy at ${proxy.host}:${proxy.port}`,
      {
        cause: error,
      },
    );
  } finally {
    release();
  }
}

async function readReplyHead(socket: Socket): Promise<{ status: number; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) {
        if (received.length > MAX_REPLY_HEAD)
          fail(new Error('the reply to CONNECT has no end of headers'));
        return;
      }
      cleanup();
      // Stop the flow so no byte after the head is lost before TLS or the request reader attaches.
      socket.pause();
      const statusLine = received.subarray(0, received.indexOf('\r\n')).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
      if (Number.isNaN(status))
        return reject(new Error(`the reply to CONNECT is not HTTP: ${JSON.stringify(statusLine)}`));
      resolve({ status, rest: received.subarray(end + 4) });
    };
    const fail = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onError = (error: Error): void => fail(error);
    const onClose = (): void =>
      fail(new Error('the proxy closed the connection before answering CONNECT'));
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}
